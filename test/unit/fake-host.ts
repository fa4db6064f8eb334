// SPDX-License-Identifier: GPL-2.0-or-later
// A fake settings backend that is also the fake kernel (a HostObserver), and a log that keeps its
// lines: for the domain's unit tests, which the lab then proves against the real peers.
import type { BackendDescription } from '../../src/bridge/backend-description';
import type { HostInterface, HostSnapshot } from '../../src/bridge/host-network';
import type { SettingsBackend, Transaction } from '../../src/bridge/settings-backend';
import type { SharePlan, UnsharePlan } from '../../src/bridge/share-plan';
import type { HostChanges, HostObserver, IpRequirements, LiveAddress, LiveHost, LiveLink } from '../../src/bridge/verify';
import type { Log } from '../../src/log';
import { NM_BACKEND_DESCRIPTION } from '../../src/settings/nm/nm-backend';

export const nic = (name: string, mac: string, more: Partial<HostInterface> = {}): HostInterface => ({
  name, type: 'ethernet', mac, carrier: true, addresses: [], sharedThrough: undefined, controller: undefined, managed: true, ...more,
});
export const link = (name: string, mac: string, more: Partial<LiveLink> = {}): LiveLink => ({ name, mac, up: true, controller: undefined, kind: undefined, addresses: [], ...more });
export const lease = (cidr: string) => ({ cidr, family: 4 as const, global: true, dynamic: true });

/** A host with eth0 and eth1 (each with a DHCP lease); Share works unless told otherwise. */
export class FakeHost implements SettingsBackend, HostObserver {
  constructor(readonly description: BackendDescription = NM_BACKEND_DESCRIPTION) {}

  interfaces: HostInterface[] = [nic('eth0', '52:54:00:00:00:01'), nic('eth1', '52:54:00:00:00:02')];
  shared = new Map<string, string>();
  live: LiveHost = {
    links: new Map([['eth0', link('eth0', '52:54:00:00:00:01', { addresses: [lease('192.0.2.10/24')] })], ['eth1', link('eth1', '52:54:00:00:00:02', { addresses: [lease('192.0.2.11/24')] })]]),
    routes: [],
  };
  kernelControllers = new Map<string, string>();
  kernelPorts = new Map<string, string[]>();
  /** Share makes the bridge, but it never gets the NIC's lease (no DHCP server). */
  noLease = false;
  /** What rollback() says it could not restore. */
  unrestored: string[] = [];
  applied: string[] = [];
  rolledBack = 0;
  committed = 0;
  /** The seconds each keep() was given. */
  kept: number[] = [];
  observed = 0;
  /** When set, applyShare waits for it. */
  gate: Promise<void> | undefined;
  /** The transaction's verbs and the applies, in order. */
  steps: string[] = [];
  /** Which verb fails (with a plain Error naming it). */
  failing: ReadonlySet<'begin' | 'apply' | 'commit' | 'rollback' | 'observe'> = new Set();
  /** observe() calls before the bridge gets the NIC's lease, when noLease is false. */
  leaseAfter = 0;
  /** observe() calls before the bridge gets its autoconfigured IPv6 addresses (a router advertisement). */
  slaacAfter = 0;
  /** What checkShare says the bridge's profile requires. */
  ip: IpRequirements = { ipv4Dhcp: true, ipv6Required: false };

  snapshot(): HostSnapshot { return { interfaces: this.interfaces, shared: this.shared }; }
  onChange(): void {}
  async configuration(): Promise<undefined> { return undefined; }
  async checkShare(): Promise<IpRequirements> { return this.ip; }
  async begin(): Promise<Transaction> {
    this.step('begin');
    return {
      keep: async (seconds) => { this.kept.push(seconds); this.step(`keep ${seconds}`); },
      commit: async () => { this.committed++; this.step('commit'); },
      rollback: async () => { this.rolledBack++; this.step('rollback'); return this.unrestored; },
    };
  }

  private step(name: 'begin' | 'apply' | 'commit' | 'rollback' | 'observe' | `keep ${number}`): void {
    if (name !== 'observe') this.steps.push(name);
    if ((this.failing as ReadonlySet<string>).has(name)) throw new Error(`${name} failed`);
  }

  async applyShare(plan: SharePlan, _progress: unknown, ready: Promise<void>): Promise<void> {
    await ready;
    this.applied.push(`share ${plan.nic} ${plan.bridge}`);
    await this.gate;
    this.step('apply');
    const links = new Map(this.live.links);
    const port = links.get(plan.nic);
    if (port === undefined) throw new Error(`no ${plan.nic}`);
    links.set(plan.nic, { ...port, controller: plan.bridge, addresses: [] });
    links.set(plan.bridge, link(plan.bridge, plan.nicMac, { kind: 'bridge', stp: false, addresses: this.noLease ? [] : port.addresses }));
    this.live = { links, routes: this.live.routes.map((r) => (r.dev === plan.nic ? { ...r, dev: plan.bridge } : r)) };
    this.interfaces = [...this.interfaces, nic(plan.bridge, plan.nicMac, { type: 'bridge' })];
    this.shared.set(plan.nic, plan.bridge);
  }

  async applyUnshare(plan: UnsharePlan, _progress: unknown, ready: Promise<void>): Promise<void> {
    await ready;
    this.applied.push('unshare');
    this.step('apply');
    const links = new Map(this.live.links);
    const port = links.get(plan.nic);
    links.delete(plan.bridge);
    if (port !== undefined) links.set(plan.nic, { ...port, controller: undefined, addresses: [lease('192.0.2.10/24')] });
    this.live = { ...this.live, links };
    this.interfaces = this.interfaces.filter((i) => i.name !== plan.bridge);
    this.shared.delete(plan.nic);
  }
  async finishUnshare(): Promise<void> {}
  async close(): Promise<void> {}

  /** Like the kernel observer: only the devices asked for, so the domain must ask for the right ones. */
  async observe(devices: readonly string[]): Promise<LiveHost> {
    this.observed++;
    this.step('observe');
    // Until then the bridge is up without its lease (the DHCP client is still asking), or without
    // its autoconfigured IPv6 addresses (no router advertisement yet).
    const lacks = (a: LiveAddress) => (this.observed <= this.leaseAfter) || (a.family === 6 && a.dynamic && this.observed <= this.slaacAfter);
    const links = new Map([...this.live.links].filter(([name]) => devices.includes(name))
      .map(([name, l]) => [name, l.kind === 'bridge' ? { ...l, addresses: l.addresses.filter((a) => !lacks(a)) } : l]));
    return { links, routes: this.live.routes.filter((r) => devices.includes(r.dev)) };
  }
  /** Each ping asked for: address, device, whether the device is new, the source address. */
  readonly pings: string[] = [];
  async answers(address: string, device: string, newDevice = false, source?: string): Promise<boolean> {
    this.pings.push(`${address} ${device} ${newDevice} ${source ?? '-'}`);
    return true;
  }
  /** Watches not closed yet. */
  watching = 0;
  /** The kernel's notifications never come here: the domain's safety poll (on the fake clock) carries verification. */
  watch(_devices: readonly string[]): HostChanges {
    this.watching++;
    let closed = false;
    let wake = () => {};
    const closing = new Promise<void>((r) => { wake = r; });
    return {
      count: () => 0,
      after: () => closing,
      close: () => {
        if (closed) return;
        closed = true;
        this.watching--;
        wake();
      },
    };
  }
  async linkSpeed(): Promise<undefined> { return undefined; }
  controllerOf(name: string): string | undefined { return this.kernelControllers.get(name); }
  bridgePorts(bridge: string): string[] { return this.kernelPorts.get(bridge) ?? []; }
  linkMtu(): undefined { return undefined; }
  linkTree(name: string): string[] { return [name]; }
}

export class RecordingLog implements Log {
  readonly lines: string[] = [];
  debug(m: string): void { this.lines.push(`debug ${m}`); }
  info(m: string): void { this.lines.push(`info ${m}`); }
  warn(m: string): void { this.lines.push(`warn ${m}`); }
  error(m: string): void { this.lines.push(`error ${m}`); }
}
