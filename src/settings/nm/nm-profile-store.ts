// SPDX-License-Identifier: GPL-2.0-or-later
// NetworkManager's profiles, each as last read (GetSettings), kept in step with its signals: reading
// them costs no round trip, and profiles changed with nmcli behind our back show up at once.
import * as t from '../../dbus-wire/bus-value';
import { type Log, errorMessage } from '../../log';
import type { NmClient } from './nm-client';
import type { NmDevice } from './nm-devices';
import { ACTIVE_CONNECTION, inTurns, NM_PATH, type NmObjectCache, SETTINGS_CONNECTION } from './nm-object-cache';
import { ourTag, type OurTag } from './nm-profile-owner';
import type { NmSettings } from './nm-settings';

export class NmProfileStore {
  private readonly profiles = new Map<string, NmSettings>();
  /**
   * Our profiles' tags, by object path, kept as profiles come and go: what is shared is asked at
   * each burst of NetworkManager's signals, and reading every profile's tag then cost a Share
   * more with each profile on the host.
   */
  private readonly tags = new Map<string, OurTag>();
  /** The latest reading of every profile, started by the cache's (re)load. */
  loaded: Promise<void> = Promise.resolve();

  /** `changed` hears of every change of what the store holds. */
  constructor(
    private readonly cache: NmObjectCache,
    private readonly client: NmClient,
    private readonly log: Log,
    private readonly changed: () => void,
  ) {}

  /** Every profile, by object path. */
  entries(): IterableIterator<[string, NmSettings]> {
    return this.profiles.entries();
  }

  settings(): IterableIterator<NmSettings> {
    return this.profiles.values();
  }

  /** Keeps a profile we just added, before NetworkManager's signals say so. */
  set(path: string, settings: NmSettings): void {
    this.profiles.set(path, settings);
    const tag = ourTag(settings);
    if (tag === undefined) this.tags.delete(path);
    else this.tags.set(path, tag);
  }

  delete(path: string): void {
    this.profiles.delete(path);
    this.tags.delete(path);
  }

  /** Our profiles (tagged as ours), with their tags and settings. */
  *tagged(): Iterable<{ path: string; tag: OurTag; settings: NmSettings }> {
    for (const [path, tag] of this.tags) {
      const settings = this.profiles.get(path);
      if (settings !== undefined) yield { path, tag, settings };
    }
  }

  /** Our profiles for `nic`, with their tags. */
  ours(nic: string): Array<{ path: string; tag: OurTag }> {
    const out: Array<{ path: string; tag: OurTag }> = [];
    for (const [path, tag] of this.tags) if (tag.nic === nic) out.push({ path, tag });
    return out;
  }

  /** The profile active on the device now, with its settings, if any. */
  activeOn(device: NmDevice): { path: string; settings: NmSettings } | undefined {
    if (device.activeConnection === '/') return undefined;
    const path = this.cache.property(device.activeConnection, ACTIVE_CONNECTION, 'Connection', t.objectPath);
    const settings = path === undefined ? undefined : this.profiles.get(path);
    return path === undefined || settings === undefined ? undefined : { path, settings };
  }

  /**
   * Profiles NetworkManager no longer has (its removal signals came before the rollback's reply):
   * a read of one still in flight must not keep it, or the NIC would look shared still.
   */
  forgetDeleted(): void {
    let forgot = false;
    for (const path of [...this.profiles.keys()]) {
      if (this.exists(path)) continue;
      this.delete(path);
      forgot = true;
    }
    if (forgot) this.changed();
  }

  /** Follows a change of NetworkManager's object at `path` ('' for all of them, read again). */
  onObjectChange(path: string): void {
    if (path === '') {
      // At start too (the cache's first reading): start() waits for this one rather than load twice.
      this.loaded = this.load();
    } else if (path.startsWith(`${NM_PATH}/Settings/`)) {
      if (!this.exists(path)) this.delete(path);
      else if (!this.profiles.has(path)) void this.refresh(path);
    }
  }

  async refresh(path: string): Promise<void> {
    try {
      const settings = await this.client.getSettings(path);
      // NetworkManager may answer after the profile went (its reply waits for an authorization
      // check): a rollback deleting our new profiles right away must not leave them here.
      if (!this.exists(path)) return;
      this.set(path, settings);
    } catch (err) {
      // Deleted between the signal and our read: the removal signal will follow.
      this.log.warn(`cannot read profile ${path}: ${errorMessage(err)}`);
      this.delete(path);
    }
    this.changed();
  }

  /** Whether NetworkManager has the profile at `path` now (its object cache, kept by its signals). */
  private exists(path: string): boolean {
    return this.cache.get(path)?.has(SETTINGS_CONNECTION) === true;
  }

  private async load(): Promise<void> {
    const paths = [...this.cache.withInterface(SETTINGS_CONNECTION)].map(([path]) => path);
    await inTurns(paths, (path) => this.refresh(path));
    this.changed();
  }
}
