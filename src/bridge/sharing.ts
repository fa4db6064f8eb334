// SPDX-License-Identifier: GPL-2.0-or-later
// The domain's entry point: what sharing means, independent of the bus and of the backend.
// Each change is split into validation (which changes nothing, costs no process and no network
// wait, and may fail with a typed error) and application (which the adapter runs only after
// authorization, and which checks its plan again under the lock). Application follows nmstate:
// read the state before, open a transaction (an NM checkpoint), apply, verify against the
// kernel's real state, and commit, or roll back and say why (change-transaction.ts).
import { type Clock, systemClock } from '../clock';
import type { Log } from '../log';
import { ChangeEnding } from './change-ending';
import { ChangeFirewall } from './change-firewall';
import { ChangeLocks } from './change-locks';
import { ChangeTransaction } from './change-transaction';
import { ChangeVerification } from './change-verification';
import type { FirewallKeeper } from './firewall-keeper';
import type { HostSnapshot } from './host-network';
import { validateInterfaceName } from './interface-name';
import { Ipv6FollowUp } from './ipv6-follow-up';
import { PendingChanges, type PendingChange, type SharingEvents } from './pending-changes';
import { requireBackend, type ServingBackend, type SettingsBackend } from './settings-backend';
import { ShareError } from './share-error';
import { defaultBridgeName, planShare, planUnshare, type SharePlan, type UnsharePlan } from './share-plan';
import type { ShareOptions, UnshareOptions } from './share-request';
import { ShareableInterfaces, type InterfaceListing } from './shareable-interfaces';
import { shareChange, unshareChange, type ChangeContext } from './sharing-change';
import { routedShareChange, routedUnshareChange } from './routed-change';
import type { GuestRouting } from './guest-routing';
import type { HostObserver, IpRequirements } from './verify';

export type { InterfaceListing } from './shareable-interfaces';
export type { PendingChange, SharingEvents } from './pending-changes';

/**
 * A validated change: either its answer is already known (a no-op), or here is how to make it
 * (and a hook for the adapter to call just before it asks for authorization, with whom to tell:
 * the caller alone, as nothing of a caller not yet authorized may reach anyone else).
 */
export type ChangeStep<T> = { readonly noOp: T } | { readonly apply: () => Promise<T>; readonly authorizing?: (tell: SharingEvents['progress']) => void };

const NO_EVENTS: SharingEvents = { progress: () => undefined, pendingChanged: () => undefined };

export class Sharing {
  private readonly interfaces: ShareableInterfaces;
  private readonly locks: ChangeLocks;
  private readonly pendingChanges: PendingChanges;
  private readonly followUp: Ipv6FollowUp;
  private readonly transaction: ChangeTransaction;
  private readonly context: ChangeContext;

  constructor(
    private readonly backends: ServingBackend,
    private readonly observer: HostObserver,
    private readonly log: Log,
    /** Lets a bridge's traffic through the host's firewall; undefined: the firewall is left alone. */
    firewall?: FirewallKeeper,
    clock: Clock = systemClock,
    events: SharingEvents = NO_EVENTS,
    /** Routed sharing's data plane; undefined: routed sharing is NotSupported. */
    private readonly routed?: GuestRouting,
  ) {
    this.interfaces = new ShareableInterfaces(observer, firewall);
    this.locks = new ChangeLocks(() => this.pendingChanges.awaiting());
    const verification = new ChangeVerification(observer, clock);
    const changeFirewall = new ChangeFirewall(firewall, log);
    this.followUp = new Ipv6FollowUp(observer, clock, log);
    const ending = new ChangeEnding(changeFirewall, this.followUp, log);
    this.pendingChanges = new PendingChanges(clock, log, events, this.locks, ending);
    this.transaction = new ChangeTransaction(verification, this.pendingChanges, ending, log, events);
    this.context = { clock, log, verification, firewall: changeFirewall };
  }

  backendName(): string {
    return this.backends.current?.description.name ?? '';
  }

  /** The listing; the same array as last time while nothing it is made of changed. */
  list(all = false): readonly InterfaceListing[] {
    const backend = this.backends.current;
    return backend === undefined ? [] : this.interfaces.list(backend, all);
  }

  shared(): ReadonlyMap<string, string> {
    return this.backends.current?.snapshot().shared ?? new Map();
  }

  /** Changes awaiting Confirm, by NIC. */
  pending(): ReadonlyMap<string, PendingChange> {
    return this.pendingChanges.list();
  }

  async prepareShare(nic: string, options: ShareOptions): Promise<ChangeStep<string>> {
    validateInterfaceName(nic);
    if (options.bridge !== undefined) validateInterfaceName(options.bridge, 'bridge');
    const backend = requireBackend(this.backends);
    // The plan needs every link's name (the bridge's must be free), not only the listed ones.
    await backend.complete;
    this.locks.check([nic, ...(options.bridge === undefined ? [] : [options.bridge])]);
    const snapshot = this.interfaces.kernelTruth(backend.snapshot(), nic);
    // Shared already through the bridge asked for (or the one it would get): the answer is known.
    const current = snapshot.shared.get(nic);
    if (current !== undefined && current === (options.bridge ?? defaultBridgeName(nic, takenNames(snapshot, current)))) {
      const mode = snapshot.routed?.has(nic) === true ? 'routed' : 'bridge';
      if (options.mode !== 'auto' && options.mode !== mode) {
        throw new ShareError('AlreadyShared', `${nic} is already shared ${mode === 'routed' ? 'routed' : 'bridged'} through ${current}`, `unshare it first to share it ${options.mode === 'routed' ? 'routed' : 'bridged'}`);
      }
      return { noOp: current };
    }
    // The backend's snapshot lists every link the kernel has (NM sees unmanaged ones too): enough
    // to keep the bridge's name free, without reading the kernel on this path.
    const plan = planShare(snapshot, nic, options, backend.description);
    if (plan.mode === 'routed') {
      const lacking = this.requireRouted().lacking();
      if (lacking !== undefined) {
        throw new ShareError('NotSupported', `routed sharing needs ${lacking}, which this host does not have`, 'install dnsmasq and busybox, or share with mode bridge');
      }
    }
    this.locks.check([plan.bridge]);
    await backend.checkShare(plan);
    return {
      apply: async () => {
        // Another Share may have taken the bridge's name while polkit was asking: plan again,
        // and hold the NIC and the bridge's name until this change is done.
        const again = planShare(this.interfaces.kernelTruth(backend.snapshot(), nic), nic, options, backend.description);
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
    const backend = requireBackend(this.backends);
    await backend.complete;
    this.locks.check([nic]);
    const plan = this.planUnshare(backend, nic, options);
    this.locks.check([plan.bridge]);
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
    this.pendingChanges.require(nic);
    return {
      apply: () => this.pendingChanges.settle(nic, 'commit', 'confirmed'),
      authorizing: (tell) => tell(nic, 'authorizing', `asking polkit whether the caller may confirm the change of ${nic}`),
    };
  }

  /** Rollback: the pending change of `nic` is undone now. */
  prepareRollback(nic: string): ChangeStep<void> {
    this.pendingChanges.require(nic);
    return {
      apply: () => this.pendingChanges.settle(nic, 'rollback', 'rolled back on request'),
      authorizing: (tell) => tell(nic, 'authorizing', `asking polkit whether the caller may roll back the change of ${nic}`),
    };
  }

  /** Rolls back every pending change (the daemon is stopping: nobody would be left to confirm them). */
  rollbackPending(why: string): Promise<void> {
    return this.pendingChanges.rollbackAll(why);
  }

  /** The ports of the bridge come from the kernel's sysfs: no process, before authorization too. */
  private planUnshare(backend: SettingsBackend, nic: string, options: UnshareOptions): UnsharePlan {
    const snapshot = backend.snapshot();
    const bridge = snapshot.shared.get(nic);
    return planUnshare(snapshot, nic, options, bridge === undefined ? [] : this.observer.bridgePorts(bridge));
  }

  private async share(backend: SettingsBackend, plan: SharePlan, ip: IpRequirements, confirmTimeout: number): Promise<string> {
    this.log.info(`sharing ${plan.nic} ${plan.mode === 'routed' ? 'routed ' : ''}through ${plan.bridge} (${backend.description.name})`);
    const change = plan.mode === 'routed'
      ? routedShareChange(this.context, backend, this.requireRouted(), plan, confirmTimeout)
      : shareChange(this.context, backend, plan, ip, confirmTimeout);
    await this.transaction.run(backend, change);
    return plan.bridge;
  }

  private async unshare(backend: SettingsBackend, plan: UnsharePlan, confirmTimeout: number): Promise<void> {
    this.log.info(`unsharing ${plan.nic} from ${plan.bridge} (${backend.description.name})${plan.guests.length ? `, cutting off ${plan.guests.join(', ')}` : ''}`);
    const change = plan.mode === 'routed'
      ? routedUnshareChange(this.context, backend, this.requireRouted(), plan, confirmTimeout)
      : unshareChange(this.context, backend, plan, confirmTimeout);
    await this.transaction.run(backend, change);
  }

  private requireRouted(): GuestRouting {
    if (this.routed === undefined) throw new ShareError('NotSupported', 'this service runs without routed sharing\'s data plane', 'share with mode bridge');
    return this.routed;
  }

  private exclusively<T>(names: readonly string[], work: () => Promise<T>): Promise<T> {
    return this.locks.exclusively(names, () => {
      // A new change of the NIC: what the last one left to follow is not to be waited for now.
      for (const name of names) this.followUp.stop(name);
      return work();
    });
  }

}

/** Every interface name in the snapshot but `except` (the bridge a NIC is shared through now). */
function takenNames(snapshot: HostSnapshot, except: string): Set<string> {
  const taken = new Set(snapshot.interfaces.map((i) => i.name));
  taken.delete(except);
  return taken;
}
