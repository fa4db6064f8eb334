// The domain's entry point: what sharing means, independent of the bus and of the backend.
// Each change is split into validation (which changes nothing and may fail with a typed error)
// and application (which the adapter runs only after authorization). Application follows
// nmstate: read the state before, open a transaction (an NM checkpoint), apply, verify against
// the kernel's real state, and commit, or roll back and say why.
import type { FirewallKeeper } from './firewall-keeper';
import { type Log, errorMessage } from './log';
import { shareability, type HostInterface, type Shareability } from './host-network';
import { validateInterfaceName } from './interface-name';
import { ShareError } from './share-error';
import { defaultBridgeName, planShare, planUnshare, type SharePlan, type UnsharePlan } from './share-plan';
import type { ShareOptions, UnshareOptions } from './share-request';
import type { SettingsBackend, Transaction } from './settings-backend';
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


/** What is wrong with the state after a change, given the gateways that answered and what was expected. */
type Problems = (after: LiveHost, answering: ReadonlySet<string>, expected: IdentityExpectation) => string[];

// Verification must end well before the backend's own rollback timer would fire.
const VERIFY_MARGIN_SECONDS = 10;
const VERIFY_POLL_MS = 250;

export class Sharing {
  /** NICs with a change in progress: a second call for the same NIC is Busy. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly currentBackend: () => SettingsBackend | undefined,
    private readonly observer: HostObserver,
    private readonly log: Log,
    /** Lets a bridge's traffic through the host's firewall; undefined: the firewall is left alone. */
    private readonly firewall?: FirewallKeeper,
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
      const verdict = shareability(iface, backend.name);
      // The bridge it is shared through, or the one Share would make by default.
      const bridge = iface.sharedThrough ?? (verdict.shareable ? defaultBridgeName(iface.name, taken) : undefined);
      const note = bridge === undefined ? undefined : this.firewall?.note(bridge);
      const listed = note === undefined ? iface : { ...iface, shareNotes: [...(iface.shareNotes ?? []), note] };
      return { iface: listed, shareability: verdict };
    });
  }

  shared(): ReadonlyMap<string, string> {
    return this.currentBackend()?.snapshot().shared ?? new Map();
  }

  async prepareShare(nic: string, options: ShareOptions): Promise<ChangeStep<string>> {
    validateInterfaceName(nic);
    const backend = this.requireBackend();
    this.checkNotBusy(nic);
    // The backend's snapshot lists every link the kernel has (NM sees unmanaged ones too): enough
    // to keep the bridge's name free, without reading the kernel on this path.
    const plan = planShare(backend.snapshot(), nic, options, backend.name);
    const { ipv4Dhcp } = await backend.checkShare(plan);
    return { apply: () => this.exclusively(nic, () => this.share(backend, plan, ipv4Dhcp)) };
  }

  async prepareUnshare(nic: string, options: UnshareOptions): Promise<ChangeStep<void>> {
    validateInterfaceName(nic);
    const backend = this.requireBackend();
    this.checkNotBusy(nic);
    const plan = planUnshare(backend.snapshot(), nic, options, await this.bridgePorts(backend, nic));
    return {
      apply: () => this.exclusively(nic, async () => {
        // A guest may have joined while polkit was asking: check again, now that the NIC is ours.
        if (!options.force) planUnshare(backend.snapshot(), nic, options, await this.bridgePorts(backend, nic));
        return this.unshare(backend, plan);
      }),
    };
  }

  private async bridgePorts(backend: SettingsBackend, nic: string): Promise<string[]> {
    const bridge = backend.snapshot().shared.get(nic);
    if (bridge === undefined) return [];
    const live = await this.observer.observe();
    return [...live.links.values()].filter((l) => l.controller === bridge).map((l) => l.name);
  }

  private async share(backend: SettingsBackend, plan: SharePlan, ipv4Dhcp: boolean): Promise<string> {
    const identity = this.observer.observe().then((before) => this.expectIdentity(before, plan.nic, plan.bridge, ipv4Dhcp));
    this.log.info(`sharing ${plan.nic} through ${plan.bridge} (${backend.name})`);
    // The rules go in before the bridge exists (iptables and nft match names, not devices), so a
    // guest's first DHCP request already passes; a change that fails takes them out again.
    if (plan.firewall) await this.allowThroughFirewall(plan.bridge);
    await this.transaction(backend, [plan.nic], plan.rollbackTimeout, `share ${plan.nic}`,
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
    const identity = this.observer.observe().then((before) => this.expectIdentity(before, plan.bridge, plan.nic));
    this.log.info(`unsharing ${plan.nic} from ${plan.bridge} (${backend.name})${plan.guests.length ? `, cutting off ${plan.guests.join(', ')}` : ''}`);
    await this.transaction(backend, [plan.nic, plan.bridge], plan.rollbackTimeout, `unshare ${plan.nic}`,
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

  /** Apply under a transaction; verify until it holds or time runs out; commit or roll back. */
  private async transaction(
    backend: SettingsBackend, interfaces: readonly string[], rollbackTimeout: number, what: string,
    apply: () => Promise<void>,
    problems: Problems,
    identityBefore: Promise<IdentityExpectation>,
  ): Promise<void> {
    // Reading the state before the change and opening the transaction don't depend on each other.
    const [opened, read] = await Promise.allSettled([backend.begin(interfaces, rollbackTimeout), identityBefore]);
    if (opened.status === 'rejected') throw opened.reason;
    const tx: Transaction = opened.value;
    if (read.status === 'rejected') {
      await tx.rollback();
      throw read.reason;
    }
    const identity = read.value;
    let failure: string;
    try {
      await apply();
      const left = await this.verify(Math.max(5, rollbackTimeout - VERIFY_MARGIN_SECONDS) * 1000, problems, identity);
      if (left.length === 0) {
        await tx.commit();
        return;
      }
      failure = `the result could not be verified: ${left.join('; ')}`;
    } catch (err) {
      failure = errorMessage(err);
    }
    this.log.warn(`${what} failed, rolling back: ${failure}`);
    await tx.rollback();
    throw new ShareError('RolledBack', `could not ${what}; everything was put back as it was. Reason: ${failure}`);
  }

  private async verify(timeoutMs: number, problems: Problems, identity: IdentityExpectation): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const after = await this.observer.observe();
      // Ping only once the rest holds: a gateway can't answer through a device without its address.
      let left = problems(after, new Set(identity.gateways), identity);
      if (left.length === 0) {
        const answering = new Set<string>();
        for (const gateway of identity.gateways) if (await this.observer.answers(gateway, identity.device)) answering.add(gateway);
        left = problems(after, answering, identity);
      }
      if (left.length === 0 || Date.now() >= deadline) return left;
      await new Promise((r) => setTimeout(r, VERIFY_POLL_MS));
    }
  }

  private async exclusively<T>(nic: string, work: () => Promise<T>): Promise<T> {
    this.checkNotBusy(nic);
    this.busy.add(nic);
    try {
      return await work();
    } finally {
      this.busy.delete(nic);
    }
  }

  private checkNotBusy(nic: string): void {
    if (this.busy.has(nic)) throw new ShareError('Busy', `another change of ${nic} is in progress`, 'try again when it has finished');
  }

  private requireBackend(): SettingsBackend {
    const backend = this.currentBackend();
    if (backend === undefined) throw new ShareError('BackendUnavailable', 'neither NetworkManager nor the ifcfg fallback is available', 'start NetworkManager, or configure the ifcfg directory');
    return backend;
  }
}
