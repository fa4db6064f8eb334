// The domain's entry point: what sharing means, independent of the bus and of the backend.
// Each change is split into validation (which changes nothing, costs no process and no network
// wait, and may fail with a typed error) and application (which the adapter runs only after
// authorization, and which checks its plan again under the lock). Application follows nmstate:
// read the state before, open a transaction (an NM checkpoint), apply, verify against the
// kernel's real state, and commit, or roll back and say why.
import type { FirewallKeeper } from './firewall-keeper';
import { type Log, errorMessage } from './log';
import { shareability, type HostInterface, type Shareability } from './host-network';
import { validateInterfaceName } from './interface-name';
import { ShareError } from './share-error';
import { defaultBridgeName, planShare, planUnshare, type SharePlan, type UnsharePlan } from './share-plan';
import { callSeconds, type ShareOptions, type UnshareOptions } from './share-request';
import type { HostSnapshot, SettingsBackend, Transaction } from './settings-backend';
import {
  bridgeProblems, defaultGateways, expectIdentityMove, identityProblems, unsharedProblems,
  type HostObserver, type IdentityExpectation, type LiveHost,
} from './verify';

export interface InterfaceListing {
  readonly iface: HostInterface;
  readonly shareability: Shareability;
}

/** A validated change: either its answer is already known (a no-op), or here is how to make it. */
export type ChangeStep<T> = { readonly noOp: T } | { readonly apply: () => Promise<T> };

/** Time as the domain sees it; tests give a fake one to check deadlines without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** What is wrong with the state after a change, given the gateways that answered and what was expected. */
type Problems = (after: LiveHost, answering: ReadonlySet<string>, expected: IdentityExpectation) => string[];

const VERIFY_POLL_MS = 250;
// Of a call's time (callSeconds), what a rollback and the reply may need after verification gave up.
const ROLLBACK_RESERVE_MS = 3000;

export class Sharing {
  /** NICs and bridge names with a change in progress: a second change of either is Busy. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly currentBackend: () => SettingsBackend | undefined,
    private readonly observer: HostObserver,
    private readonly log: Log,
    /** Lets a bridge's traffic through the host's firewall; undefined: the firewall is left alone. */
    private readonly firewall?: FirewallKeeper,
    private readonly clock: Clock = systemClock,
  ) {}

  backendName(): string {
    return this.currentBackend()?.name ?? '';
  }

  list(): InterfaceListing[] {
    const backend = this.currentBackend();
    if (backend === undefined) return [];
    const { interfaces } = backend.snapshot();
    const taken = new Set(interfaces.map((i) => i.name));
    return interfaces.map((iface) => {
      // A port's controller says more than "unmanaged": NM leaves ports of kernel bridges alone.
      const checked = this.withKernelController(iface);
      const verdict = shareability(checked, backend.name);
      // The bridge it is shared through, or the one Share would make by default.
      const bridge = checked.sharedThrough ?? (verdict.shareable ? defaultBridgeName(checked.name, taken) : undefined);
      const note = bridge === undefined ? undefined : this.firewall?.note(bridge);
      const listed = note === undefined ? checked : { ...checked, shareNotes: [...(checked.shareNotes ?? []), note] };
      return { iface: listed, shareability: verdict };
    });
  }

  shared(): ReadonlyMap<string, string> {
    return this.currentBackend()?.snapshot().shared ?? new Map();
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
          const { ipv4Dhcp } = await backend.checkShare(again);
          return this.share(backend, again, ipv4Dhcp);
        });
      },
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
        return this.exclusively([again.nic, again.bridge], () => this.unshare(backend, again));
      },
    };
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

  private async share(backend: SettingsBackend, plan: SharePlan, ipv4Dhcp: boolean): Promise<string> {
    const deadline = this.clock.now() + callSeconds(plan) * 1000 - ROLLBACK_RESERVE_MS;
    const identity = this.observer.observe().then((before) => this.expectIdentity(before, plan.nic, plan.bridge, ipv4Dhcp));
    this.log.info(`sharing ${plan.nic} through ${plan.bridge} (${backend.name})`);
    // The rules go in before the bridge exists (iptables and nft match names, not devices), so a
    // guest's first DHCP request already passes; a change that fails takes them out again.
    if (plan.firewall) await this.allowThroughFirewall(plan.bridge);
    await this.transaction(backend, [plan.nic], plan.rollbackTimeout, deadline, `share ${plan.nic}`,
      () => backend.applyShare(plan),
      (after, answering, expected) => [
        ...bridgeProblems(after, plan.nic, plan.bridge, plan.nicMac, plan.stp),
        ...identityProblems(expected, after, answering),
      ],
      identity).catch(async (err: unknown) => {
      await this.forgetFirewallRules(plan.bridge);
      throw err;
    });
    this.log.info(`${plan.nic} is shared through ${plan.bridge}`);
    return plan.bridge;
  }

  private async unshare(backend: SettingsBackend, plan: UnsharePlan): Promise<void> {
    const deadline = this.clock.now() + callSeconds() * 1000 - ROLLBACK_RESERVE_MS;
    const identity = this.observer.observe().then((before) => this.expectIdentity(before, plan.bridge, plan.nic));
    this.log.info(`unsharing ${plan.nic} from ${plan.bridge} (${backend.name})${plan.guests.length ? `, cutting off ${plan.guests.join(', ')}` : ''}`);
    await this.transaction(backend, [plan.nic, plan.bridge], plan.rollbackTimeout, deadline, `unshare ${plan.nic}`,
      () => backend.applyUnshare(plan),
      (after, answering, expected) => [...unsharedProblems(after, plan.nic, plan.bridge), ...identityProblems(expected, after, answering)],
      identity);
    await backend.finishUnshare(plan);
    await this.forgetFirewallRules(plan.bridge);
    this.log.info(`${plan.nic} is no longer shared`);
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
  private async expectIdentity(before: LiveHost, from: string, to: string, ipv4Dhcp = false): Promise<IdentityExpectation> {
    const answering: string[] = [];
    for (const gateway of defaultGateways(before, from)) if (await this.observer.answers(gateway, from)) answering.push(gateway);
    return expectIdentityMove(before, from, to, answering, ipv4Dhcp);
  }

  /** Apply under a transaction; verify until it holds or the deadline; commit or roll back. */
  private async transaction(
    backend: SettingsBackend, interfaces: readonly string[], rollbackTimeout: number, deadline: number, what: string,
    apply: () => Promise<void>,
    problems: Problems,
    identityBefore: Promise<IdentityExpectation>,
  ): Promise<void> {
    // Reading the state before the change and opening the transaction don't depend on each other.
    const [opened, read] = await Promise.allSettled([backend.begin(interfaces, rollbackTimeout), identityBefore]);
    if (opened.status === 'rejected') throw opened.reason;
    const tx: Transaction = opened.value;
    let failure: string;
    try {
      if (read.status === 'rejected') throw read.reason;
      const identity = read.value;
      await apply();
      const left = await this.verify(deadline, problems, identity);
      if (left.length === 0) {
        await tx.commit();
        return;
      }
      failure = `the result could not be verified: ${left.join('; ')}`;
    } catch (err) {
      failure = errorMessage(err);
    }
    this.log.warn(`${what} failed, rolling back: ${failure}`);
    let unrestored: readonly string[];
    try {
      unrestored = await tx.rollback();
    } catch (err) {
      unrestored = [errorMessage(err)];
    }
    if (unrestored.length > 0) {
      // Not everything is as it was: say so, to the caller and in the log, rather than reassure.
      const left = unrestored.join('; ');
      this.log.error(`${what}: the rollback could not restore everything: ${left}`);
      throw new ShareError('RolledBack', `could not ${what}, and the rollback could not restore everything: ${left}. Reason: ${failure}`, `check ${interfaces.join(' and ')} by hand`);
    }
    throw new ShareError('RolledBack', `could not ${what}; everything was put back as it was. Reason: ${failure}`);
  }

  private async verify(deadline: number, problems: Problems, identity: IdentityExpectation): Promise<string[]> {
    for (;;) {
      const after = await this.observer.observe();
      // Ping only once the rest holds: a gateway can't answer through a device without its address.
      let left = problems(after, new Set(identity.gateways), identity);
      if (left.length === 0) {
        const answering = new Set<string>();
        for (const gateway of identity.gateways) if (await this.observer.answers(gateway, identity.device)) answering.add(gateway);
        left = problems(after, answering, identity);
      }
      if (left.length === 0 || this.clock.now() >= deadline) return left;
      await this.clock.sleep(VERIFY_POLL_MS);
    }
  }

  private async exclusively<T>(names: readonly string[], work: () => Promise<T>): Promise<T> {
    this.checkNotBusy(names);
    for (const name of names) this.busy.add(name);
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
  }

  private requireBackend(): SettingsBackend {
    const backend = this.currentBackend();
    if (backend === undefined) throw new ShareError('BackendUnavailable', 'neither NetworkManager nor the ifcfg fallback is available', 'start NetworkManager, or configure the ifcfg directory');
    return backend;
  }
}

/** Every interface name in the snapshot but `except` (the bridge a NIC is shared through now). */
function takenNames(snapshot: HostSnapshot, except: string): Set<string> {
  const taken = new Set(snapshot.interfaces.map((i) => i.name));
  taken.delete(except);
  return taken;
}
