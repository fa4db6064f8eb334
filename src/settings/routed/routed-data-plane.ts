// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's data plane at work: applies routed-plan.ts's decisions to the kernel (sysctls
// under /proc/sys, the bridge's borrowed address, the guests' routes and proxy entries through
// guest-routes.ts) and runs the DHCP relay (dhcp-relay-process.ts), then follows the kernel's events
// (`ip monitor`: a guest's neighbour entry on the bridge, the uplink's address) and reads again every
// few seconds besides. Everything it changes is written down in the state file first (routed-state.ts)
// or marked (proto 212), so stop() — or undoRoutedChanges() (routed-undo.ts) after a crash — puts the
// host back.
import { spawn, type ChildProcess } from 'node:child_process';
import { systemClock, type Cancel, type Clock } from '../../clock';
import { errorMessage, type Log } from '../../log';
import { namesDevice } from '../kernel-observer';
import {
  bridgeAddress, primaryIpv4, routedLinksProblem, routedSysctls, sysctlName, uplinkChange, type Guest, type Ipv4Prefix, type RoutedLinks,
} from './routed-plan';
import { readRoutedState, writeRoutedState, type RoutedState, type SavedSysctl } from './routed-state';
import { addressesOf, ip, ipIfPresent, ipJson, linkExists, readSysctl, writeSysctl } from './routed-kernel-io';
import { isRoutedAgent, processAlive, undoRoutedChanges } from './routed-undo';
import { DhcpRelayProcess } from './dhcp-relay-process';
import { applyGuestPlan, logGuestChanges, newlyUnanswered, probeSilentGuests, readGuestPlan } from './guest-routes';

/** A reading besides the kernel's events: the safety net for an event the monitor missed. */
const DEFAULT_RESYNC_MS = 10_000;
/** Events come in bursts (a lease: several neighbour updates): one reading after the burst. */
const EVENT_SETTLE_MS = 50;

export class RoutedDataPlaneError extends Error {
  override readonly name = 'RoutedDataPlaneError';
}

export interface RoutedDataPlaneOptions {
  readonly links: RoutedLinks;
  readonly stateDir: string;
  /** The LAN's DHCP server for the relay; absent: broadcast on the uplink. */
  readonly dhcpServer?: string;
  readonly log: Log;
  readonly resyncMs?: number;
  /** Default: systemClock. */
  readonly clock?: Clock;
}

export class RoutedDataPlane {
  private state: RoutedState;
  private readonly relay: DhcpRelayProcess;
  private monitor: ChildProcess | undefined;
  private cancelResync: Cancel | undefined;
  private cancelSettle: Cancel | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private applied: Ipv4Prefix | undefined;
  /** The guests before the uplink lost its address, routed again when it has one. */
  private remembered: Guest[] = [];
  /** The uplink's last address, kept while it has none. */
  private lastKnown: Ipv4Prefix | undefined;

  private constructor(private readonly options: RoutedDataPlaneOptions, state: RoutedState) {
    this.state = state;
    this.relay = new DhcpRelayProcess({
      links: options.links, stateDir: options.stateDir, log: options.log, clock: this.clock,
      ...(options.dhcpServer === undefined ? {} : { dhcpServer: options.dhcpServer }),
      stopping: () => this.stopping,
      restart: () => this.soon(),
    });
  }

  /**
   * Takes the host over for routed sharing of `links`: undoes what a crashed earlier agent left
   * (its state file), saves the sysctls' values, applies, and follows the kernel until stop().
   * Resolves once the first reading is applied (relaying, or waiting for the uplink's address).
   */
  static async start(options: RoutedDataPlaneOptions): Promise<RoutedDataPlane> {
    const { links, stateDir, log } = options;
    const problem = routedLinksProblem(links);
    if (problem !== undefined) throw new RoutedDataPlaneError(problem);
    const earlier = await readRoutedState(stateDir, links.uplink);
    if (earlier !== undefined && earlier.pid !== process.pid && processAlive(earlier.pid) && await isRoutedAgent(earlier.pid)) {
      throw new RoutedDataPlaneError(`routed sharing of ${links.uplink} runs already (process ${String(earlier.pid)})`);
    }
    if (earlier !== undefined) {
      log.warn(`routed sharing of ${links.uplink}: an earlier agent (process ${String(earlier.pid)}) left its changes; undoing them first`);
      await undoRoutedChanges(stateDir, links.uplink, log);
    }
    for (const name of [links.uplink, links.bridge]) {
      if (!linkExists(name)) throw new RoutedDataPlaneError(`no interface ${name}`);
    }
    const sysctls: SavedSysctl[] = [];
    for (const setting of routedSysctls(links)) {
      const original = await readSysctl(setting.path);
      if (original === undefined) throw new RoutedDataPlaneError(`cannot read the sysctl ${sysctlName(setting.path)}`);
      sysctls.push({ path: setting.path, original });
    }
    const plane = new RoutedDataPlane(options, {
      uplink: links.uplink, bridge: links.bridge, pid: process.pid, phase: 'starting', uplinkAddress: null,
      dhcpServer: options.dhcpServer ?? null, sysctls, bridgeAddresses: [], guests: [], refused: [],
    });
    // Written before the first change: whatever happens next, the originals are on disk.
    await writeRoutedState(stateDir, plane.state);
    try {
      plane.watch();
      await plane.reconcile();
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  /** What it does now (the same as the state file says). */
  status(): RoutedState {
    return this.state;
  }

  /** Puts the host back exactly: relay ended, routes and proxy entries removed, address and sysctls restored. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.cancelResync?.();
    this.cancelSettle?.();
    this.monitor?.kill();
    await this.running?.catch(() => undefined);
    await this.relay.stop();
    this.state = { ...this.state, phase: 'stopping' };
    await writeRoutedState(this.options.stateDir, this.state);
    await undoRoutedChanges(this.options.stateDir, this.state.uplink, this.options.log, this.clock);
  }

  private watch(): void {
    const { uplink, bridge } = this.options.links;
    const monitor = spawn('ip', ['-o', '-4', 'monitor', 'neigh', 'address', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.monitor = monitor;
    let partial = '';
    monitor.stdout.setEncoding('utf8');
    monitor.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      if (lines.some((line) => namesDevice(line, [uplink, bridge]))) this.soon();
    });
    monitor.on('error', (err) => this.options.log.warn(`ip monitor did not start (${errorMessage(err)}): guests are learned by the reading every ${String(this.resyncMs / 1000)} s only`));
    const resync = () => {
      this.soon(true);
      this.cancelResync = this.clock.schedule(this.resyncMs, resync);
    };
    this.cancelResync = this.clock.schedule(this.resyncMs, resync);
  }

  private get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  private get resyncMs(): number {
    return this.options.resyncMs ?? DEFAULT_RESYNC_MS;
  }

  private probeNext = false;

  private soon(probe = false): void {
    if (this.stopping) return;
    if (probe) this.probeNext = true;
    if (this.cancelSettle !== undefined) return;
    this.cancelSettle = this.clock.schedule(EVENT_SETTLE_MS, () => {
      this.cancelSettle = undefined;
      this.reconcile().catch((err: unknown) => this.options.log.error(`routed sharing of ${this.options.links.uplink}: ${errorMessage(err)}`));
    });
  }

  /** One reading and what it asks for; a call while one runs makes that one read again. */
  private reconcile(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          if (!this.stopping) await this.reconcileOnce();
        } while (this.again && !this.stopping);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async reconcileOnce(): Promise<void> {
    const { links, log } = this.options;
    if (!linkExists(links.bridge) || !linkExists(links.uplink)) {
      const missing = linkExists(links.uplink) ? `the guests' bridge ${links.bridge}` : `the uplink ${links.uplink}`;
      await this.relay.stop();
      this.applied = undefined;
      await this.publish({ phase: 'waiting', message: `${missing} is gone; waiting for it`, uplinkAddress: null, guests: [], refused: [] });
      return;
    }
    for (const setting of routedSysctls(links)) {
      // A bridge made again (NetworkManager restarted it) starts from the kernel's defaults.
      if ((await readSysctl(setting.path)) !== setting.value) await writeSysctl(setting.path, setting.value);
    }
    const uplink = primaryIpv4(await ipJson(['-4', 'addr', 'show', 'dev', links.uplink]));
    let change = uplinkChange(this.applied, uplink);
    if (change !== undefined) {
      // An address back after none (NetworkManager takes it away while it connects again, or while
      // Wi-Fi roams): what matters to the guests is how it differs from the last one they knew.
      if (this.applied === undefined && uplink !== undefined && this.lastKnown !== undefined) {
        change = uplinkChange(this.lastKnown, uplink) ?? `the uplink has its address ${uplink.address}/${String(uplink.prefixLength)} again: relaying from it`;
      }
      log.info(`routed sharing of ${links.uplink}: ${change}`);
      await this.relay.stop();
      this.applied = uplink;
      if (uplink !== undefined) this.lastKnown = uplink;
    }
    await this.ensureLentAddress(uplink);
    const message = change ?? (uplink === undefined ? `the uplink ${links.uplink} has no IPv4 address; waiting for one` : this.state.message);
    if (uplink !== undefined && !this.relay.running) await this.relay.start(uplink);

    const plan = await readGuestPlan(links, uplink,
      [...this.state.guests, ...this.remembered.filter((r) => !this.state.guests.some((g) => g.address === r.address))], this.clock.now());
    await applyGuestPlan(links, plan);
    logGuestChanges(links, log, this.state, plan);
    // A guest the host has no answer from lately is asked once now, and again at each resync.
    const unanswered = newlyUnanswered(this.state.guests, plan);
    // Without an address the bridge loses its borrowed one, and the kernel its ARP entries there
    // with it: the guests are kept in mind for when the address is back.
    this.remembered = uplink === undefined ? [...this.remembered, ...this.state.guests.filter((g) => !this.remembered.some((r) => r.address === g.address))] : [];
    await this.publish({
      phase: uplink === undefined ? 'waiting' : 'running',
      ...(message === undefined ? {} : { message }),
      uplinkAddress: uplink === undefined ? null : `${uplink.address}/${String(uplink.prefixLength)}`,
      guests: plan.guests, refused: plan.refused,
    });
    const probe = this.probeNext ? plan.guests : unanswered;
    this.probeNext = false;
    await probeSilentGuests(links.bridge, probe);
  }

  /**
   * The bridge borrows the uplink's address (the relay's giaddr), taken again after NetworkManager
   * flushed it (it does when the bridge's profile is activated again); one lent before for an
   * address the uplink no longer has is taken back. An equal address someone else put there is
   * used, never recorded as ours.
   */
  private async ensureLentAddress(uplink: Ipv4Prefix | undefined): Promise<void> {
    const { bridge } = this.options.links;
    const lent = uplink === undefined ? undefined : bridgeAddress(uplink);
    const wanted = lent === undefined ? undefined : `${lent.address}/${String(lent.prefixLength)}`;
    const present = addressesOf(await ipJson(['-4', 'addr', 'show', 'dev', bridge]));
    const stale = this.state.bridgeAddresses.filter((cidr) => cidr !== wanted);
    for (const cidr of stale) await ipIfPresent(['addr', 'del', cidr, 'dev', bridge]);
    if (stale.length > 0) await this.publish({ bridgeAddresses: this.state.bridgeAddresses.filter((cidr) => cidr === wanted) });
    if (wanted === undefined || present.includes(wanted)) return;
    if (!this.state.bridgeAddresses.includes(wanted)) await this.publish({ bridgeAddresses: [...this.state.bridgeAddresses, wanted] });
    await ip(['addr', 'add', wanted, 'dev', bridge, 'noprefixroute']);
  }

  private async publish(change: Partial<RoutedState>): Promise<void> {
    this.state = { ...this.state, ...change };
    await writeRoutedState(this.options.stateDir, this.state);
  }
}
