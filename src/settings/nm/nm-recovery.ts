// SPDX-License-Identifier: GPL-2.0-or-later
// Finishing a change from its record alone (nm-change-record.ts), without the checkpoint when
// NetworkManager lost it: a rollback deletes the profiles we added, removes the bridge a Share
// made, and brings the NIC's original profile back; a commit saves the added profiles. Then the
// result is verified from NetworkManager's live objects (read now, not from a cache that may
// belong to an earlier NetworkManager) until it holds or a bound passes, and reported.
// A routed share's record (record.routed) never touched the NIC: its Unshare's rollback brings the
// guests' bridge's profile back. Its data plane is the domain's (GuestRouting): a transaction of
// ours stops or starts it as the change ends; a record left over gets it passed here, so the
// rollback of a routed Share stops the agent it started, and that of an Unshare starts it again.
import * as t from '../../dbus-wire/bus-value';
import type { Clock } from '../../clock';
import type { GuestRouting } from '../../bridge/guest-routing';
import { type Log, errorMessage } from '../../log';
import type { NmClient } from './nm-client';
import type { NmChangeRecord, NmChangeRecords } from './nm-change-record';
import { NM_PATH } from './nm-object-cache';

const NM = 'org.freedesktop.NetworkManager';
const DEVICE = `${NM}.Device`;
const ACTIVE = `${NM}.Connection.Active`;
const IP4CONFIG = `${NM}.IP4Config`;
// NMDeviceState: activated.
const DEVICE_ACTIVATED = 100;

/** How long a finished change may take to show its result (a DHCP lease, the bridge going away). */
export const RECOVERY_VERIFY_MS = 30_000;
const RECOVERY_POLL_MS = 250;
// How long a rollback waits for NetworkManager to come back when it is not on the bus.
const NM_RETURN_WAIT_MS = 30_000;

export interface RecoveryOutcome {
  readonly how: 'rolled back' | 'committed';
  /** Steps that failed: what is not put back. */
  readonly unrestored: readonly string[];
  /** What did not hold within RECOVERY_VERIFY_MS once the steps were done. */
  readonly problems: readonly string[];
  readonly ms: number;
}

/**
 * Rolls back a change from its record; the record is removed once every step succeeded. `routing`:
 * a routed change's data plane is stopped or started here too (a record left over); undefined:
 * the caller's transaction does that.
 */
export async function rollBackFromRecord(client: NmClient, records: NmChangeRecords, record: NmChangeRecord, useCheckpoint: boolean, clock: Clock, routing?: GuestRouting): Promise<RecoveryOutcome> {
  const started = clock.now();
  if (!(await records.whenPresent(NM_RETURN_WAIT_MS))) {
    return { how: 'rolled back', unrestored: [`NetworkManager is not running; the change of ${record.nic} is undone when it comes back`], problems: [], ms: clock.now() - started };
  }
  const unrestored: string[] = [];
  const step = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (err) {
      unrestored.push(`${what}: ${errorMessage(err)}`);
    }
  };
  if (routing !== undefined && record.routed !== undefined && record.operation === 'share') {
    // First, while the bridge it lent an address to is there; without its state file (a reboot) a no-op.
    await step(`stopping the routing for the guests of ${record.nic}`, () => routing.stop(record.nic));
  }
  if (useCheckpoint && record.checkpoint !== '') {
    // The daemon died but NetworkManager did not: its checkpoint still knows the devices' state.
    const checkpoints = await client.property(NM_PATH, NM, 'Checkpoints', t.array(t.objectPath)).catch(() => undefined) ?? [];
    if (checkpoints.includes(record.checkpoint)) await step('rolling back the checkpoint', async () => { await client.checkpointRollback(record.checkpoint); });
  }
  for (const uuid of record.added) {
    await step(`deleting the profile ${uuid}`, async () => {
      const path = await client.connectionByUuid(uuid);
      if (path !== undefined) await client.deleteConnection(path);
    });
  }
  if (record.operation === 'share') {
    // After a restart NetworkManager keeps the kernel's bridge as an external device of its own.
    await step(`removing ${record.bridge}`, async () => {
      const device = await client.deviceByName(record.bridge);
      if (device === undefined) return;
      await client.deleteDevice(device).catch(async (err: unknown) => {
        // Gone meanwhile with its profile: that was the point.
        if ((await client.deviceByName(record.bridge)) !== undefined) throw err;
      });
    });
  }
  if (record.operation === 'unshare') {
    // After a restart NetworkManager may hold the kernel's bridge as an external device: our
    // bridge profile must be what is active on it, or the next Unshare could not remove it.
    await step(`bringing ${record.bridge}'s profile back`, async () => {
      const bridgeUuid = await bridgeProfileOf(client, record);
      const profile = bridgeUuid === undefined ? undefined : await client.connectionByUuid(bridgeUuid);
      if (profile === undefined) throw new Error(`NetworkManager has no profile for ${record.bridge} any more`);
      const device = await client.deviceByName(record.bridge);
      if (device === undefined || (await activeUuid(client, device)) !== bridgeUuid) await client.activateConnection(profile, device ?? '/');
    });
  }
  if (record.original !== '') {
    await step(`bringing ${record.nic}'s profile back`, async () => {
      const profile = await client.connectionByUuid(record.original);
      if (profile === undefined) throw new Error(`NetworkManager has no profile ${record.original} any more`);
      const device = await client.deviceByName(record.nic);
      if (device === undefined) throw new Error(`NetworkManager has no device ${record.nic}`);
      // Already active (NetworkManager brought it back itself, or after a reboot): not again.
      if ((await activeUuid(client, device)) !== record.original) await client.activateConnection(profile, device);
    });
  }
  let problems = unrestored.length > 0 ? [] : await verified(() => rollbackProblems(client, record), clock);
  if (routing !== undefined && record.routed !== undefined && record.operation === 'unshare' && unrestored.length === 0) {
    // The guests' bridge's profile is back: its data plane goes with it (an agent waits for a bridge not up yet).
    await step(`starting the routing for the guests of ${record.nic} again`, async () => { await routing.start(record.nic, record.bridge); });
  }
  if (unrestored.length > 0) problems = [];
  if (unrestored.length === 0) await records.remove(record.nic);
  return { how: 'rolled back', unrestored, problems, ms: clock.now() - started };
}

/** Commits a change whose record says it was decided: the profiles go to disk, the checkpoint away. */
export async function commitFromRecord(client: NmClient, records: NmChangeRecords, record: NmChangeRecord, useCheckpoint: boolean, clock: Clock): Promise<RecoveryOutcome> {
  const started = clock.now();
  const unrestored: string[] = [];
  if (record.persist) {
    for (const uuid of record.added) {
      try {
        const path = await client.connectionByUuid(uuid);
        if (path !== undefined) await client.saveConnection(path);
      } catch (err) {
        unrestored.push(`saving the profile ${uuid}: ${errorMessage(err)}`);
      }
    }
  }
  if (useCheckpoint && record.checkpoint !== '') {
    // Gone with an earlier NetworkManager, or destroyed already: either way nothing to do.
    await client.checkpointDestroy(record.checkpoint).catch(() => undefined);
  }
  if (unrestored.length === 0) await records.remove(record.nic);
  return { how: 'committed', unrestored, problems: [], ms: clock.now() - started };
}

/** Finishes a record left over (no transaction of ours holds it): rolled back unless it was committed. */
export async function finishLeftoverRecord(client: NmClient, records: NmChangeRecords, record: NmChangeRecord, why: string, log: Log, clock: Clock, routing?: GuestRouting): Promise<RecoveryOutcome> {
  const what = `${record.operation} ${record.nic}${record.routed === undefined ? '' : ' routed'}${record.operation === 'share' ? ` through ${record.bridge}` : ` from ${record.bridge}`}`;
  log.warn(`${what}: found unfinished (${record.state}) ${why}; ${record.state === 'committed' ? 'finishing its commit' : 'rolling it back from its record'}`);
  const outcome = record.state === 'committed'
    ? await commitFromRecord(client, records, record, true, clock)
    : await rollBackFromRecord(client, records, record, true, clock, routing);
  reportOutcome(log, what, outcome);
  return outcome;
}

/** The log's line and the audit line of a finished record. */
export function reportOutcome(log: Log, what: string, outcome: RecoveryOutcome): void {
  const audit = `audit: recovery ${what}`;
  if (outcome.unrestored.length > 0) {
    log.error(`${audit}: ${outcome.how} in part after ${outcome.ms} ms; not restored: ${outcome.unrestored.join('; ')}`);
  } else if (outcome.problems.length > 0) {
    log.error(`${audit}: ${outcome.how}, but not verified within ${RECOVERY_VERIFY_MS / 1000} s: ${outcome.problems.join('; ')}`);
  } else {
    log.warn(`${audit}: ${outcome.how} and verified in ${outcome.ms} ms`);
  }
}

/** Waits until `check` finds nothing wrong, or the bound passes: what is still wrong then. */
async function verified(check: () => Promise<string[]>, clock: Clock): Promise<string[]> {
  const deadline = clock.now() + RECOVERY_VERIFY_MS;
  for (;;) {
    let left: string[];
    try {
      left = await check();
    } catch (err) {
      left = [errorMessage(err)];
    }
    if (left.length === 0 || clock.now() >= deadline) return left;
    await clock.sleep(RECOVERY_POLL_MS);
  }
}

/** What still differs from the state before the change. */
async function rollbackProblems(client: NmClient, record: NmChangeRecord): Promise<string[]> {
  const left: string[] = [];
  for (const uuid of record.added) {
    if ((await client.connectionByUuid(uuid)) !== undefined) left.push(`the profile ${uuid} is still there`);
  }
  if (record.operation === 'share' && (await client.deviceByName(record.bridge)) !== undefined) left.push(`${record.bridge} is still there`);
  const nic = await client.deviceByName(record.nic);
  if (nic === undefined) return [...left, `NetworkManager has no device ${record.nic}`];
  if (record.original !== '') {
    const state = await client.property(nic, DEVICE, 'State', t.uint32);
    if ((await activeUuid(client, nic)) !== record.original || state !== DEVICE_ACTIVATED) left.push(`${record.nic} is not active on its profile ${record.original} yet`);
  }
  if (record.operation === 'unshare') {
    const bridgeUuid = await bridgeProfileOf(client, record);
    const bridge = await client.deviceByName(record.bridge);
    if (bridge === undefined || bridgeUuid === undefined || (await activeUuid(client, bridge)) !== bridgeUuid) left.push(`${record.bridge} is not active on its profile yet`);
  }
  const carrier = await client.deviceByName(record.addressesOn);
  const has = new Set(carrier === undefined ? [] : await ipv4Addresses(client, carrier));
  const missing = record.addresses.filter((a) => !has.has(a));
  if (missing.length > 0) left.push(`${record.addressesOn} does not have ${missing.join(', ')} yet`);
  return left;
}

/** The UUID of the bridge profile an Unshare took down: a routed share's, or the one our port profile names (its connection.master). */
async function bridgeProfileOf(client: NmClient, record: NmChangeRecord): Promise<string | undefined> {
  if (record.routed !== undefined) return record.routed.bridgeProfile === '' ? undefined : record.routed.bridgeProfile;
  const portUuid = record.original;
  const port = portUuid === '' ? undefined : await client.connectionByUuid(portUuid);
  if (port === undefined) return undefined;
  const master = (await client.getSettings(port)).get('connection')?.get('master');
  return master?.signature === 's' ? String(master.value) : undefined;
}

async function activeUuid(client: NmClient, device: string): Promise<string | undefined> {
  const active = await client.property(device, DEVICE, 'ActiveConnection', t.objectPath);
  if (active === undefined || active === '/') return undefined;
  // Gone between the two reads: nothing is active.
  return client.property(active, ACTIVE, 'Uuid', t.string).catch(() => undefined);
}

async function ipv4Addresses(client: NmClient, device: string): Promise<string[]> {
  const config = await client.property(device, DEVICE, 'Ip4Config', t.objectPath);
  if (config === undefined || config === '/') return [];
  const data = await client.property(config, IP4CONFIG, 'AddressData', t.array(t.vardict)).catch(() => undefined) ?? [];
  return data.flatMap((entry) => {
    const address = entry.get('address');
    const prefix = entry.get('prefix');
    return address?.signature === 's' && prefix?.signature === 'u' ? [`${String(address.value)}/${String(prefix.value)}`] : [];
  });
}
