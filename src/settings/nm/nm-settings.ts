// SPDX-License-Identifier: GPL-2.0-or-later
// NetworkManager connection settings (a{sa{sv}}) as one typed value that keeps every key it
// doesn't model: a profile we copy or touch goes back to NetworkManager with everything the user
// had in it. Pure: no bus calls here.
import * as t from '../../dbus-wire/bus-value';

/** setting name → property name → value, in NetworkManager's D-Bus form. */
export type NmSettings = Map<string, Map<string, t.Variant>>;

export const nmSettingsCodec = t.dict(t.vardict);

/** Our mark on the profiles we create, in NM's `user.data` (keys need a dot; NM keeps them). */
export const USER_DATA_PREFIX = 'org.fedoraproject.shared-interface';
export const TAG_ROLE = `${USER_DATA_PREFIX}.role`;
export const TAG_NIC = `${USER_DATA_PREFIX}.nic`;
export const TAG_BRIDGE = `${USER_DATA_PREFIX}.bridge`;
export const TAG_ORIGINAL = `${USER_DATA_PREFIX}.original-uuid`;
/** On the bridge, 'no' when shared with firewall=false: NM's dispatcher script then adds no rules. */
export const TAG_FIREWALL = `${USER_DATA_PREFIX}.firewall`;

export function cloneSettings(settings: NmSettings): NmSettings {
  return new Map([...settings].map(([name, props]) => [name, new Map(props)]));
}

export function getSetting<T>(settings: NmSettings, setting: string, key: string, codec: t.Codec<T>): T | undefined {
  const value = settings.get(setting)?.get(key);
  if (value === undefined || value.signature !== codec.signature) return undefined;
  return codec.decode(value.value, `${setting}.${key}`);
}

export function setSetting<T>(settings: NmSettings, setting: string, key: string, codec: t.Codec<T>, value: T): void {
  let props = settings.get(setting);
  if (props === undefined) {
    props = new Map();
    settings.set(setting, props);
  }
  props.set(key, t.makeVariant(codec.signature, codec.encode(value)));
}

export function deleteSetting(settings: NmSettings, setting: string, key: string): void {
  settings.get(setting)?.delete(key);
}

export function userData(settings: NmSettings): Map<string, string> {
  return getSetting(settings, 'user', 'data', t.dict(t.string)) ?? new Map();
}

export function connectionUuid(settings: NmSettings): string {
  return getSetting(settings, 'connection', 'uuid', t.string) ?? '';
}

/** Whether NetworkManager may bring `settings` up on the interface `nic` (bound to it, or to none). */
export function profileFitsInterface(settings: NmSettings, nic: string): boolean {
  const name = getSetting(settings, 'connection', 'interface-name', t.string);
  return name === undefined || name === '' || name === nic;
}
