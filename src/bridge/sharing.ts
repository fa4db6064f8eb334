// SPDX-License-Identifier: GPL-2.0-or-later
// The domain's entry point: what sharing means, independent of the bus and of the backend.
// Each change is split into validation (which changes nothing, costs no process and no network
// wait, and may fail with a typed error) and application (which the adapter runs only after
// authorization, and which checks its plan again under the lock). Application follows nmstate:
// read the state before, open a transaction (an NM checkpoint), apply, verify against the
// kernel's real state, and commit, or roll back and say why.
import type { FirewallKeeper } from './firewall-keeper';
import { type Log, errorMessage } from '../log';
import type { Progress, ProgressStep } from './progress';
import { listedByDefault, shareability, type HostInterface, type HostSnapshot, type Shareability } from './host-network';
import { validateInterfaceName } from './interface-name';
import { ShareError } from './share-error';
import { defaultBridgeName, planShare, planUnshare, type SharePlan, type UnsharePlan } from './share-plan';
import { callSeconds, type ShareMode, type ShareOptions, type UnshareOptions } from './share-request';
import type { SettingsBackend, Transaction } from './settings-backend';
import {
  bridgeProblems, defaultGateways, expectIdentityMove, identityProblems, laterArrived, NO_IP_REQUIREMENTS, unsharedProblems,
  type HostObserver, type IdentityExpectation, type IpRequirements, type LiveHost,
} from './verify';

export interface InterfaceListing {
  readonly iface: HostInterface;
  readonly shareability: Shareability;
  /** How it is shared, or how Share with mode auto would share it; undefined when it can't be. */
  readonly mode: ShareMode | undefined;
}

/**
 * A validated change: either its answer is already known (a no-op), or here is how to make it
 * (and a hook for the adapter to call just before it asks for authorization, with whom to tell:
 * the caller alone, as nothing of a caller not yet authorized may reach anyone else).
 */
export type ChangeStep<T> = { readonly noOp: T } | { readonly apply: () => Promise<T>; readonly authorizing?: (tell: SharingEvents['progress']) => void };

/** A verified change that awaits the user's Confirm (or its deadline, then it is rolled back). */
export interface PendingChange {
  readonly operation: 'share' | 'unshare';
  readonly bridge: string;
  /** When it is rolled back unless confirmed: milliseconds since the epoch (CLOCK_REALTIME). */
  readonly deadline: number;
}

/** What the domain tells its adapter while it works, outside of any reply. */
export interface SharingEvents {
  progress(nic: string, step: ProgressStep, message: string): void;
  /** The set of pending changes changed (also by a timer, outside any call). */
  pendingChanged(): void;
}

const NO_EVENTS: SharingEvents = { progress: () => undefined, pendingChanged: () => undefined };

/** Time as the domain sees it; tests give a fake one to check deadlines without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** One change as the transaction runs it: what to apply and what must hold afterwards. */
interface Change {
  readonly nic: string;
  readonly operation: PendingChange['operation'];
  readonly bridge: string;
  readonly interfaces: readonly string[];
  /** The devices whose kernel events can bring verification closer to holding. */
  readonly watched: readonly string[];
  readonly rollbackTimeout: number;
  readonly confirmTimeout: number;
  /** When verification gives up (clock milliseconds). */
  readonly deadline: number;
  readonly what: string;
  /** The backend's apply; it touches the NIC only once `ready` resolves (SettingsBackend.applyShare). */
  apply(progress: Progress, ready: Promise<void>): Promise<void>;
  /** Where the NIC must be (a port of the bridge, or on its own again), before its identity is checked. */
  placement(after: LiveHost): string[];
  /** The Progress step once placement holds. */
  readonly placed: { readonly step: ProgressStep; readonly message: string };
  /** Reads the host as it is, before the change touches the NIC: what must hold after it. */
  readBefore(): Promise<IdentityExpectation>;
  /**
   * What must be done before the change touches the NIC, beside reading the host (the firewall's
   * rules for the bridge). A ShareError from it is the caller's answer once all is undone.
   */
  prerequisite(): Promise<void>;
  /** After the commit (at once, or on Confirm): what is left to do. */
  afterCommit(): Promise<void>;
  /** After a verified change awaiting Confirm was rolled back (Rollback, its deadline, exit). */
  afterRollback(): Promise<void>;
}

interface OpenChange extends PendingChange {
  readonly change: Change;
  readonly identity: IdentityExpectation;
  readonly tx: Transaction;
  readonly timer: NodeJS.Timeout;
}

// Verification reads the state when the kernel reports a change (HostObserver.watch); this poll
// is only the safety net for changes it does not report (a gateway starting to answer).
const VERIFY_SAFETY_POLL_MS = 1000;
// After a change, how long autoconfigured IPv6 addresses left to the router's next advertisement
// (IdentityExpectation.later) are followed: NetworkManager solicits one at once, so they come
// within seconds; past this, the log says they did not.
const FOLLOW_LATER_MS = 30_000;
// Of a call's time (callSeconds), what a rollback and the reply may need after verification gave up.
const ROLLBACK_RESERVE_MS = 3000;
// A change awaiting confirmation: the backend's own timer (NM's checkpoint) is set this much later
// than ours, so ours rolls back first while we live, and NetworkManager's when we are gone.
const BACKEND_CONFIRM_MARGIN_SECONDS = 5;

export class Sharing {
  /** NICs and bridge names with a change in progress: a second change of either is Busy. */
  private readonly busy = new Set<string>();
  /** Verified changes awaiting Confirm, by NIC: still under their transaction. */
  private readonly open = new Map<string, OpenChange>();
  /** What list() made last, and of what: for a person's listing, and for the whole one (`all`). */
  private readonly lastListing = new Map<boolean, { readonly snapshot: HostSnapshot; readonly notesVersion: number; readonly checked: readonly HostInterface[]; readonly listing: readonly InterfaceListing[] }>();
  /** How to stop following a committed change's IPv6 addresses (followLater), by NIC. */
  private readonly following = new Map<string, () => void>();

  constructor(
    private readonly currentBackend: () => SettingsBackend | undefined,
    private readonly observer: HostObserver,
    private readonly log: Log,
    /** Lets a bridge's traffic through the host's firewall; undefined: the firewall is left alone. */
    private readonly firewall?: FirewallKeeper,
    private readonly clock: Clock = systemClock,
    private readonly events: SharingEvents = NO_EVENTS,
  ) {}

  backendName(): string {
    return this.currentBackend()?.name ?? '';
  }

  /**
   * The listing; the same array as last time while nothing it is made of changed (the backend's
   * snapshot, the kernel's controllers, the firewall's reading): ListInterfaces is called on every
   * client's refresh, and its reply is then marshalled only once (the dispatcher's replyKey).
   */
  list(all = false): readonly InterfaceListing[] {
    const backend = this.currentBackend();
    if (backend === undefined) return [];
    const snapshot = backend.snapshot();
    // A port's controller says more than "unmanaged": NM leaves ports of kernel bridges alone.
    // Only for interfaces the listing may show: a host's thousands of veths cost no sysfs reading.
    const candidates = all ? snapshot.interfaces : snapshot.interfaces.filter(listedByDefault);
    const controlled = candidates.map((iface) => this.withKernelController(iface));
    const checked = all ? controlled : controlled.filter(listedByDefault);
    this.firewall?.refreshIfStale();
    const notesVersion = this.firewall?.notesVersion() ?? 0;
    const last = this.lastListing.get(all);
    if (last !== undefined && last.snapshot === snapshot && last.notesVersion === notesVersion
      && last.checked.length === checked.length && last.checked.every((iface, i) => iface.name === checked[i]?.name && iface.controller === checked[i]?.controller)) {
      return last.listing;
    }
    const listing = this.buildListing(backend, checked, new Set(snapshot.interfaces.map((i) => i.name)), snapshot.routed);
    this.lastListing.set(all, { snapshot, notesVersion, checked, listing });
    return listing;
  }

  private buildListing(backend: SettingsBackend, interfaces: readonly HostInterface[], taken: ReadonlySet<string>, routed: ReadonlySet<string> = new Set()): InterfaceListing[] {
    return interfaces.map((checked) => {
      const verdict = shareability(checked, backend.name);
      // The bridge it is shared through, or the one Share would make by default.
      const bridge = checked.sharedThrough ?? (verdict.shareable ? defaultBridgeName(checked.name, taken) : undefined);
      const notes = [verdict.routedOnly, bridge === undefined ? undefined : this.firewall?.note(bridge)].filter((n) => n !== undefined);
      const listed = notes.length === 0 ? checked : { ...checked, shareNotes: [...(checked.shareNotes ?? []), ...notes] };
      const mode: ShareMode | undefined = checked.sharedThrough !== undefined
        ? (routed.has(checked.name) ? 'routed' : 'bridge')
        : verdict.shareable ? (verdict.routedOnly === undefined ? 'bridge' : 'routed') : undefined;
      return { iface: listed, shareability: verdict, mode };
    });
  }

  shared(): ReadonlyMap<string, string> {
    return this.currentBackend()?.snapshot().shared ?? new Map();
  }

  /** Changes awaiting Confirm, by NIC. */
  pending(): ReadonlyMap<string, PendingChange> {
    return new Map([...this.open].map(([nic, { operation, bridge, deadline }]) => [nic, { operation, bridge, deadline }]));
  }

  async prepareShare(nic: string, options: ShareOptions): Promise<ChangeStep<string>> {
    validateInterfaceName(nic);
    if (options.bridge !== undefined) validateInterfaceName(options.bridge, 'bridge');
    const backend = this.requireBackend();
    this.checkNotBusy([nic, ...(options.bridge === undefined ? [] : [options.bridge])]);
    const snapshot = this.kernelTruth(backend.snapshot(), nic);
    // Shared already through the bridge asked for (or the one it would get): the answer is known.
    const current = snapshot.shared.get(nic);
    if (current !== undefined && current === (options.bridge ?? defaultBridgeName(nic, takenNames(snapshot, current)))) {
      return { noOp: current };
    }
    // The backend's snapshot lists every link the kernel has (NM sees unmanaged ones too): enough
    // to keep the bridge's name free, without reading the kernel on this path.
    const plan = planShare(snapshot, nic, options, backend.name);
    this.checkNotBusy([plan.bridge]);
    await backend.checkShare(plan);
    return {
      apply: async () => {
        // Another Share may have taken the bridge's name while polkit was asking: plan again,
        // and hold the NIC and the bridge's name until this change is done.
        const again = planShare(this.kernelTruth(backend.snapshot(), nic), nic, options, backend.name);
        return this.exclusively([again.nic, again.bridge], async () => {
          const ip = await backend.checkShare(again);
          return this.share(backend, again, ip, options.confirmTimeout);
        });
      },
      authorizing: (tell) => tell(nic, 'authorizing', `asking polkit whether the caller may share ${nic}`),
    };
  }

  async prepareUnshare(nic: string, options: UnshareOptions): Promise<ChangeStep<void>> {
    validateInterfaceName(nic);
    const backend = this.requireBackend();
    this.checkNotBusy([nic]);
    const plan = this.planUnshare(backend, nic, options);
    this.checkNotBusy([plan.bridge]);
    return {
      // A guest may have joined while polkit was asking: plan again, now that the NIC is ours.
      apply: async () => {
        const again = this.planUnshare(backend, nic, options);
        return this.exclusively([again.nic, again.bridge], () => this.unshare(backend, again, options.confirmTimeout));
      },
      authorizing: (tell) => tell(nic, 'authorizing', `asking polkit whether the caller may unshare ${nic}`),
    };
  }

  /** Confirm: the pending change of `nic` is committed. */
  prepareConfirm(nic: string): ChangeStep<void> {
    this.requirePending(nic);
    return {
      apply: () => this.settle(nic, 'commit', 'confirmed'),
      authorizing: (tell) => tell(nic, 'authorizing', `asking polkit whether the caller may confirm the change of ${nic}`),
    };
  }

  /** Rollback: the pending change of `nic` is undone now. */
  prepareRollback(nic: string): ChangeStep<void> {
    this.requirePending(nic);
    return {
      apply: () => this.settle(nic, 'rollback', 'rolled back on request'),
      authorizing: (tell) => tell(nic, 'authorizing', `asking polkit whether the caller may roll back the change of ${nic}`),
    };
  }

  /** Rolls back every pending change (the daemon is stopping: nobody would be left to confirm them). */
  async rollbackPending(why: string): Promise<void> {
    await Promise.all([...this.open.keys()].map((nic) => this.settle(nic, 'rollback', why).catch((err: unknown) => {
      this.log.error(`rolling back the pending change of ${nic}: ${errorMessage(err)}`);
    })));
  }

  private requirePending(nic: string): void {
    validateInterfaceName(nic);
    if (!this.open.has(nic)) {
      throw new ShareError('NotPending', `no change of ${nic} awaits confirmation`, 'it was confirmed or rolled back already, or was made without a confirm-timeout');
    }
  }

  /** The ports of the bridge come from the kernel's sysfs: no process, before authorization too. */
  private planUnshare(backend: SettingsBackend, nic: string, options: UnshareOptions): UnsharePlan {
    const snapshot = backend.snapshot();
    const bridge = snapshot.shared.get(nic);
    return planUnshare(snapshot, nic, options, bridge === undefined ? [] : this.observer.bridgePorts(bridge));
  }

  /**
   * The backend's view of one NIC, corrected by the kernel's: a port of a bridge, bond or team the
   * backend doesn't know of (made with ip or brctl) is a port all the same.
   */
  private kernelTruth(snapshot: HostSnapshot, nic: string): HostSnapshot {
    const index = snapshot.interfaces.findIndex((i) => i.name === nic);
    const iface = snapshot.interfaces[index];
    if (iface === undefined) return snapshot;
    const checked = this.withKernelController(iface);
    if (checked === iface) return snapshot;
    const interfaces = [...snapshot.interfaces];
    interfaces[index] = checked;
    return { ...snapshot, interfaces };
  }

  /** One readlink in sysfs, for what could be a port; no process. */
  private withKernelController(iface: HostInterface): HostInterface {
    if (iface.controller !== undefined || iface.sharedThrough !== undefined || iface.type === 'loopback') return iface;
    const controller = this.observer.controllerOf(iface.name);
    return controller === undefined ? iface : { ...iface, controller };
  }

  private async share(backend: SettingsBackend, plan: SharePlan, ip: IpRequirements, confirmTimeout: number): Promise<string> {
    this.log.info(`sharing ${plan.nic} through ${plan.bridge} (${backend.name})`);
    await this.transaction(backend, {
      // Everything verification waits for is on the bridge (the NIC's line says `master BRIDGE`).
      nic: plan.nic, operation: 'share', bridge: plan.bridge, interfaces: [plan.nic], watched: [plan.bridge],
      rollbackTimeout: plan.rollbackTimeout, confirmTimeout, what: `share ${plan.nic}`,
      deadline: this.clock.now() + callSeconds(plan) * 1000 - ROLLBACK_RESERVE_MS,
      apply: (progress, ready) => backend.applyShare(plan, progress, ready),
      placement: (after) => bridgeProblems(after, plan.nic, plan.bridge, plan.nicMac, plan.stp),
      placed: { step: 'bridge-up', message: `${plan.bridge} is up with ${plan.nic} as its port and ${plan.nic}'s MAC` },
      readBefore: () => this.observer.observe([plan.nic]).then((before) => this.expectIdentity(before, plan.nic, plan.bridge, ip)),
      // The rules go in before the bridge is up (iptables and nft match names, not devices), so a
      // guest's first DHCP request already passes; a change that fails takes them out again.
      prerequisite: () => (plan.firewall ? this.allowThroughFirewall(plan.bridge) : Promise.resolve()),
      afterCommit: async () => this.log.info(`${plan.nic} is shared through ${plan.bridge}`),
      afterRollback: () => this.forgetFirewallRules(plan.bridge),
    }).catch(async (err: unknown) => {
      await this.forgetFirewallRules(plan.bridge);
      throw err;
    });
    return plan.bridge;
  }

  private async unshare(backend: SettingsBackend, plan: UnsharePlan, confirmTimeout: number): Promise<void> {
    this.log.info(`unsharing ${plan.nic} from ${plan.bridge} (${backend.name})${plan.guests.length ? `, cutting off ${plan.guests.join(', ')}` : ''}`);
    await this.transaction(backend, {
      nic: plan.nic, operation: 'unshare', bridge: plan.bridge, interfaces: [plan.nic, plan.bridge], watched: [plan.nic, plan.bridge],
      rollbackTimeout: plan.rollbackTimeout, confirmTimeout, what: `unshare ${plan.nic}`,
      deadline: this.clock.now() + callSeconds() * 1000 - ROLLBACK_RESERVE_MS,
      apply: (progress, ready) => backend.applyUnshare(plan, progress, ready),
      placement: (after) => unsharedProblems(after, plan.nic, plan.bridge),
      placed: { step: 'nic-restored', message: `${plan.nic} is on its own again and ${plan.bridge} is gone` },
      readBefore: () => this.observer.observe([plan.bridge]).then((before) => this.expectIdentity(before, plan.bridge, plan.nic)),
      prerequisite: () => Promise.resolve(),
      afterCommit: async () => {
        await backend.finishUnshare(plan);
        await this.forgetFirewallRules(plan.bridge);
        this.log.info(`${plan.nic} is no longer shared`);
      },
      afterRollback: async () => undefined,
    });
  }

  private async allowThroughFirewall(bridge: string): Promise<void> {
    if (this.firewall === undefined) return;
    try {
      const added = await this.firewall.allow(bridge);
      if (added.length > 0) this.log.info(`firewall: accepting traffic within ${bridge} in ${added.join(', ')}`);
    } catch (err) {
      await this.forgetFirewallRules(bridge);
      throw new ShareError('Failed', `could not add firewall rules for ${bridge}: ${errorMessage(err)}`, "share with the option 'firewall' false to leave the firewall alone");
    }
  }

  /** Our rules for a bridge that is gone (or never came): a failure to remove them is logged, not the caller's. */
  private async forgetFirewallRules(bridge: string): Promise<void> {
    if (this.firewall === undefined) return;
    try {
      const removed = await this.firewall.forget(bridge);
      if (removed > 0) this.log.info(`firewall: removed ${removed} rule(s) of ours for ${bridge}`);
    } catch (err) {
      this.log.warn(`firewall: could not remove our rules for ${bridge}: ${errorMessage(err)}`);
    }
  }


  /** Gateways that answer now must answer after the move, through the new device. */
  private async expectIdentity(before: LiveHost, from: string, to: string, ip: IpRequirements = NO_IP_REQUIREMENTS): Promise<IdentityExpectation> {
    const answering = await this.answering(defaultGateways(before, from, ip), from, false);
    return expectIdentityMove(before, from, to, [...answering], ip);
  }

  /** Which of `gateways` answer a ping through `device`: all asked at once. */
  private async answering(gateways: readonly string[], device: string, newDevice: boolean): Promise<Set<string>> {
    const answers = await Promise.all(gateways.map((gateway) => this.observer.answers(gateway, device, newDevice)));
    return new Set(gateways.filter((_, i) => answers[i] === true));
  }

  /**
   * Apply under a transaction; verify until it holds or the deadline; then commit, or keep it
   * open awaiting Confirm, or roll back and say why.
   */
  private async transaction(backend: SettingsBackend, change: Change): Promise<void> {
    const progress: Progress = (step, message) => this.events.progress(change.nic, step, message);
    // Opening the transaction, reading the host as it is and the prerequisite don't depend on
    // each other, and what the backend does before it touches the NIC (NM: adding the profiles)
    // needs only the transaction. The reading and the prerequisite start processes (each spawn
    // holds this thread ~1 ms): they start once the transaction's request has gone out.
    const opening = backend.begin(change.interfaces, change.rollbackTimeout, { operation: change.operation, nic: change.nic, bridge: change.bridge });
    const before = nextTurn().then(() => Promise.all([change.readBefore(), change.prerequisite()])).then(([identity]) => identity);
    const ready = before.then(() => undefined);
    // Each is awaited below, maybe later than it fails: not an unhandled rejection meanwhile.
    before.catch(() => undefined);
    ready.catch(() => undefined);
    let tx: Transaction;
    try {
      tx = await opening;
    } catch (err) {
      // Our firewall rules, if any went in, are taken out by the caller; its processes end first.
      await before.catch(() => undefined);
      throw err;
    }
    progress('checkpoint', `${backend.name === 'ifcfg' ? 'snapshot of the ifcfg files' : 'checkpoint'} taken; undone by itself in ${change.rollbackTimeout} s unless verified`);
    let failure = '';
    let refusal: ShareError | undefined;
    let committed: IdentityExpectation | undefined;
    try {
      await change.apply(progress, ready);
      const identity = await before;
      const left = await this.verify(change, identity, progress, tx.interrupted);
      if (left.length === 0) {
        if (change.confirmTimeout !== 0) {
          await this.awaitConfirmation(change, identity, tx);
          return;
        }
        await tx.commit();
        committed = identity;
      } else {
        failure = `the result could not be verified: ${left.join('; ')}`;
      }
    } catch (err) {
      // When the reading or the prerequisite failed, that is the reason, whatever apply made of it.
      const reason = await before.then(() => err, (beforeErr: unknown) => {
        if (beforeErr instanceof ShareError) refusal = beforeErr;
        return beforeErr;
      });
      failure = errorMessage(reason);
    }
    if (committed !== undefined) {
      // Past the commit there is no transaction to roll back: what is left to do fails on its own.
      progress('committed', `${change.what}: done`);
      try {
        await change.afterCommit();
      } catch (err) {
        this.log.error(`${change.what}: done and verified, but what follows it failed: ${errorMessage(err)}`);
        throw new ShareError('Failed', `${change.what} was done and verified, but what follows it failed: ${errorMessage(err)}`, 'ask for it again to finish it');
      }
      this.followLater(change.nic, committed);
      return;
    }
    this.log.warn(`${change.what} failed, rolling back: ${failure}`);
    const unrestored = await this.rollback(tx, change);
    progress('rolled-back', `${change.what} failed and was undone${unrestored === '' ? '' : ' in part'}: ${failure}`);
    if (unrestored !== '') {
      // Not everything is as it was: not RolledBack ("everything was put back") but Failed, with what is left.
      throw new ShareError('Failed', `could not ${change.what}, and the rollback could not restore everything: ${unrestored}. Reason: ${failure}`, `check ${change.interfaces.join(' and ')} by hand`);
    }
    // Refused before the NIC was touched (the firewall's rule could not go in), and all is as it
    // was: the refusal is the answer, with its own code and hint.
    if (refusal !== undefined) throw refusal;
    throw new ShareError('RolledBack', `could not ${change.what}; everything was put back as it was. Reason: ${failure}`);
  }

  /** Rolls the transaction back; says what could not be restored ('' when everything was). */
  private async rollback(tx: Transaction, change: Change): Promise<string> {
    let unrestored: readonly string[];
    try {
      unrestored = await tx.rollback();
    } catch (err) {
      unrestored = [errorMessage(err)];
    }
    if (unrestored.length === 0) return '';
    const left = unrestored.join('; ');
    this.log.error(`${change.what}: the rollback could not restore everything: ${left}`);
    return left;
  }

  /** Keeps a verified change open until Confirm, Rollback or its deadline. */
  private async awaitConfirmation(change: Change, identity: IdentityExpectation, tx: Transaction): Promise<void> {
    await tx.keep(change.confirmTimeout + BACKEND_CONFIRM_MARGIN_SECONDS);
    // The deadline clients see is wall-clock time (CLOCK_REALTIME), whatever clock verification used.
    const deadline = Date.now() + change.confirmTimeout * 1000;
    const timer = setTimeout(() => {
      void this.settle(change.nic, 'rollback', `not confirmed within ${change.confirmTimeout} s`).catch((err: unknown) => {
        this.log.error(`rolling back the unconfirmed change of ${change.nic}: ${errorMessage(err)}`);
      });
    }, change.confirmTimeout * 1000);
    this.open.set(change.nic, { operation: change.operation, bridge: change.bridge, deadline, change, identity, tx, timer });
    this.log.info(`${change.what}: verified; awaiting confirmation for ${change.confirmTimeout} s`);
    this.events.progress(change.nic, 'awaiting-confirmation', `${change.what}: verified; call Confirm within ${change.confirmTimeout} s or it is rolled back`);
    this.events.pendingChanged();
  }

  /** Ends a pending change: commits it (Confirm) or rolls it back (Rollback, its deadline, exit). */
  private async settle(nic: string, how: 'commit' | 'rollback', why: string): Promise<void> {
    const open = this.open.get(nic);
    // The deadline and a Confirm can race: whichever comes second finds nothing pending.
    if (open === undefined) throw new ShareError('NotPending', `no change of ${nic} awaits confirmation any more`);
    this.open.delete(nic);
    clearTimeout(open.timer);
    const { change, identity, tx } = open;
    const names = [change.nic, change.bridge];
    for (const name of names) this.busy.add(name);
    try {
      if (how === 'commit') {
        await tx.commit();
        this.events.progress(nic, 'committed', `${change.what}: ${why}`);
        await change.afterCommit();
        this.followLater(change.nic, identity);
        return;
      }
      this.log.warn(`${change.what}: ${why}; rolling back`);
      const unrestored = await this.rollback(tx, change);
      await change.afterRollback();
      this.log.info(`${change.what}: rolled back`);
      this.events.progress(nic, 'rolled-back', unrestored === ''
        ? `${change.what}: ${why}; everything was put back as it was`
        : `${change.what}: ${why}; the rollback could not restore everything: ${unrestored}`);
      if (unrestored !== '') {
        throw new ShareError('Failed', `${change.what} was rolled back, but not everything could be restored: ${unrestored}`, `check ${change.interfaces.join(' and ')} by hand`);
      }
    } finally {
      for (const name of names) this.busy.delete(name);
      this.events.pendingChanged();
    }
  }

  private async verify(change: Change, identity: IdentityExpectation, progress: Progress, interrupted?: Promise<string>): Promise<string[]> {
    let placed = false;
    let waiting = false;
    let interruption: string | undefined;
    void interrupted?.then((why) => { interruption = why; });
    // Read again as soon as the kernel says something changed, and at least every safety poll.
    const changes = this.observer.watch(change.watched);
    try {
      for (;;) {
        const seen = changes.count();
        if (interruption !== undefined) return [interruption];
        const after = await this.observer.observe([change.nic, change.bridge]);
        const misplaced = change.placement(after);
        if (misplaced.length === 0 && !placed) {
          placed = true;
          progress(change.placed.step, change.placed.message);
        }
        // Ping only once the rest holds: a gateway can't answer through a device without its address.
        let left = [...misplaced, ...identityProblems(identity, after, new Set(identity.gateways))];
        if (placed && left.length > 0 && !waiting) {
          waiting = true;
          progress('waiting-for-lease', `waiting for ${identity.device}: ${left.join('; ')}`);
        }
        if (left.length === 0) {
          const answering = await this.answering(identity.gateways, identity.device, true);
          left = identityProblems(identity, after, answering);
          if (left.length === 0 && answering.size > 0) progress('gateway-answers', `${[...answering].join(', ')} answers through ${identity.device}`);
        }
        if (left.length === 0 || this.clock.now() >= change.deadline) return left;
        await Promise.race([changes.after(seen), this.clock.sleep(Math.min(VERIFY_SAFETY_POLL_MS, Math.max(0, change.deadline - this.clock.now()))), ...(interrupted === undefined ? [] : [interrupted])]);
      }
    } finally {
      changes.close();
    }
  }

  /**
   * After a committed change, the autoconfigured IPv6 addresses the call did not wait for
   * (IdentityExpectation.later): the log says when they are back, or that they did not come.
   * Outside the call and its locks; it changes nothing. One per NIC: the NIC's next change ends it.
   */
  private followLater(nic: string, identity: IdentityExpectation): void {
    this.stopFollowing(nic);
    if (identity.later.length === 0) return;
    const started = this.clock.now();
    const deadline = started + FOLLOW_LATER_MS;
    const changes = this.observer.watch([identity.device]);
    let stopped = false;
    const stop = () => {
      stopped = true;
      changes.close();
    };
    this.following.set(nic, stop);
    const follow = async (): Promise<void> => {
      for (;;) {
        const seen = changes.count();
        const arrived = laterArrived(await this.observer.observe([identity.device]), identity.device, identity.later);
        if (stopped) return;
        if (arrived.length === identity.later.length) {
          this.log.info(`${identity.device} has its autoconfigured IPv6 address${arrived.length > 1 ? 'es' : ''} ${arrived.join(', ')} again, ${this.clock.now() - started} ms after the change`);
          return;
        }
        if (this.clock.now() >= deadline) {
          const missing = identity.later.filter((a) => !arrived.includes(a));
          this.log.warn(`${identity.device} has not got back ${missing.join(', ')} within ${FOLLOW_LATER_MS / 1000} s: its IPv6 autoconfiguration waits for the LAN's router advertisements`);
          return;
        }
        await Promise.race([changes.after(seen), this.clock.sleep(Math.min(VERIFY_SAFETY_POLL_MS * 5, Math.max(0, deadline - this.clock.now())))]);
      }
    };
    void follow().catch((err: unknown) => {
      this.log.warn(`following ${identity.device}'s IPv6 addresses: ${errorMessage(err)}`);
    }).finally(() => {
      if (this.following.get(nic) === stop) this.following.delete(nic);
      changes.close();
    });
  }

  private stopFollowing(name: string): void {
    this.following.get(name)?.();
    this.following.delete(name);
  }

  private async exclusively<T>(names: readonly string[], work: () => Promise<T>): Promise<T> {
    this.checkNotBusy(names);
    for (const name of names) {
      this.busy.add(name);
      // A new change of the NIC: what the last one left to follow is not to be waited for now.
      this.stopFollowing(name);
    }
    try {
      return await work();
    } finally {
      for (const name of names) this.busy.delete(name);
    }
  }

  private checkNotBusy(names: readonly string[]): void {
    for (const name of names) {
      if (this.busy.has(name)) throw new ShareError('Busy', `another change of ${name} is in progress`, 'try again when it has finished, or choose another bridge name');
    }
    // A change awaiting confirmation holds its transaction, and transactions take turns (an NM
    // checkpoint, the ifcfg journal): any other change would wait for the answer, past its own
    // deadline. Say so at once instead.
    const [awaiting] = this.open;
    if (awaiting !== undefined) {
      const [nic, pending] = awaiting;
      throw new ShareError('Busy', `the ${pending.operation} of ${nic} awaits confirmation; changes are made one at a time until it is confirmed or rolled back`, `confirm it or roll it back first: shared-interface confirm ${nic}, or shared-interface rollback ${nic} (D-Bus: Confirm or Rollback); shared-interface pending shows its deadline`);
    }
  }

  private requireBackend(): SettingsBackend {
    const backend = this.currentBackend();
    if (backend === undefined) throw new ShareError('BackendUnavailable', 'neither NetworkManager nor the ifcfg fallback is available', 'start NetworkManager, or configure the ifcfg directory');
    return backend;
  }
}

/** Resolves after the I/O already due: a request written now goes out before what follows. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Every interface name in the snapshot but `except` (the bridge a NIC is shared through now). */
function takenNames(snapshot: HostSnapshot, except: string): Set<string> {
  const taken = new Set(snapshot.interfaces.map((i) => i.name));
  taken.delete(except);
  return taken;
}
