// SPDX-License-Identifier: GPL-2.0-or-later
// The profile NetworkManager's dispatcher names (its keyfile, CONNECTION_FILENAME), read for the
// firewall hook: whether it is a bridge of ours, decided by the daemon's own rule (ourTag), so a
// user's private profile tagged like ours opens nothing. Pure: the caller reads the file.
import * as t from '../../dbus-wire/bus-value';
import { ourTag } from './nm-profile-owner';
import { setSetting, type NmSettings } from './nm-settings';

/** GKeyFile's escapes in a value (\s \n \t \r \\, and \; inside a list). */
function unescapeValue(raw: string): string {
  return raw.replace(/\\(.)/g, (_, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r' } as Record<string, string>)[c] ?? c);
}

/** A GKeyFile list: items end with an unescaped ';'. */
function listValue(raw: string): string[] {
  return (raw.match(/(?:\\.|[^;\\])+/g) ?? []).map(unescapeValue).filter((item) => item !== '');
}

/**
 * The settings the firewall hook decides on, from a keyfile NetworkManager wrote:
 * `connection.permissions` and `user.data` (our tag), in their D-Bus form. Later keys win, as
 * in GKeyFile; every other key is left out.
 */
export function keyfileOwnership(text: string): NmSettings {
  const settings: NmSettings = new Map();
  const data = new Map<string, string>();
  let group = '';
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      group = line.endsWith(']') ? line.slice(1, -1) : '';
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trimEnd();
    const value = line.slice(eq + 1).trimStart();
    if (group === 'connection' && key === 'permissions') setSetting(settings, 'connection', 'permissions', t.array(t.string), listValue(value));
    else if (group === 'user') data.set(key, unescapeValue(value));
  }
  if (data.size > 0) setSetting(settings, 'user', 'data', t.dict(t.string), data);
  return settings;
}

export type FirewallHookAction = 'allow' | 'forget' | 'nothing';

/**
 * What the dispatcher's `up` or `down` of `bridge` asks of the firewall. `keyfile` is the
 * profile's keyfile text, or undefined when it is gone (Unshare deleted it before the bridge went
 * down): removing touches only rules commented as ours, so it goes ahead then.
 */
export function firewallHookAction(verb: 'up' | 'down', bridge: string, keyfile: string | undefined): FirewallHookAction {
  if (keyfile === undefined) return verb === 'down' ? 'forget' : 'nothing';
  const tag = ourTag(keyfileOwnership(keyfile));
  if (tag?.role !== 'bridge' || tag.bridge !== bridge) return 'nothing';
  if (verb === 'down') return 'forget';
  return tag.firewall ? 'allow' : 'nothing';
}

/**
 * What the dispatcher's `up` or `down` of `bridge` asks of routed sharing's data plane, and for
 * which NIC; `firewall`: whether the share's firewall rules are ours to keep (not firewall=false).
 */
export type RoutedHookAction = { readonly action: 'start' | 'stop'; readonly nic: string; readonly firewall: boolean } | { readonly action: 'nothing' };

/**
 * Routed sharing's part of the dispatcher: the guests' bridge of a system-wide routed profile of
 * ours coming up starts its NIC's data plane, going down stops it. A profile that is gone (Unshare
 * deleted it, a rollback did) asks nothing: whoever deleted it stopped the data plane.
 */
export function routedHookAction(verb: 'up' | 'down', bridge: string, keyfile: string | undefined): RoutedHookAction {
  if (keyfile === undefined) return { action: 'nothing' };
  const tag = ourTag(keyfileOwnership(keyfile));
  if (tag?.role !== 'routed' || tag.bridge !== bridge) return { action: 'nothing' };
  return { action: verb === 'up' ? 'start' : 'stop', nic: tag.nic, firewall: tag.firewall };
}
