// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's data plane at work: applies routed-plan.ts's decisions to the kernel (sysctls
// under /proc/sys, iproute2) and runs dnsmasq as the DHCP relay, then follows the kernel's events
// (`ip monitor`: a guest's neighbour entry on the bridge, the uplink's address) and reads again every
// few seconds besides. Everything it changes is written down in the state file first (routed-state.ts)
// or marked (proto 212), so stop() — or undoRoutedChanges() after a crash — puts the host back.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock, type Cancel, type Clock } from '../../clock';
import { errorMessage, type Log } from '../../log';
import { namesDevice } from '../kernel-observer';
import {
  bridgeAddress, hostRouteDestinations, parseNeighbours, planGuests, primaryIpv4, relayArgv, ROUTED_PROTOCOL,
  routedLinksProblem, routedSysctls, routeGateways, sysctlName, UNANSWERED_GRACE_MS, uplinkChange, type Guest, type Ipv4Prefix, type RoutedLinks,
} from './routed-plan';
import { removeFile } from '../durable-file';
import { readRoutedState, removeRoutedState, writeRoutedState, type RoutedState, type SavedSysctl } from './routed-state';

const run = promisify(execFile);
const COMMAND_TIMEOUT_MS = 10_000;
/** A reading besides the kernel's events: the safety net for an event the monitor missed. */
const DEFAULT_RESYNC_MS = 10_000;
/** Events come in bursts (a lease: several neighbour updates): one reading after the burst. */
const EVENT_SETTLE_MS = 50;
const RELAY_RESTART_MS = 2_000;

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

async function ip(args: readonly string[]): Promise<string> {
  const { stdout } = await run('ip', [...args], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function ipJson(args: readonly string[]): Promise<unknown> {
  const text = await ip(['-j', ...args]);
  return text.trim() === '' ? [] : JSON.parse(text) as unknown;
}

/** `ip` that may fail because what it removes is gone already (a bridge deleted meanwhile). */
async function ipIfPresent(args: readonly string[]): Promise<void> {
  try {
    await ip(args);
  } catch (err) {
    const text = errorMessage(err);
    if (/Cannot find device|No such process|does not exist|Cannot assign requested address|No such file|not found/i.test(text)) return;
    throw err;
  }
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

function sysctlFile(path: readonly string[]): string {
  return join('/proc/sys', ...path);
}

async function readSysctl(path: readonly string[]): Promise<string | undefined> {
  try {
    return (await readFile(sysctlFile(path), 'utf8')).trim();
  } catch {
    return undefined; // the interface is gone (or not there yet): nothing to read or restore
  }
}

/** Our proxy ARP entries on `uplink` (`ip -j neigh show proxy` marks them with their protocol). */
async function ourProxies(uplink: string): Promise<string[]> {
  const json = await ipJson(['-4', 'neigh', 'show', 'proxy', 'dev', uplink]);
  const out: string[] = [];
  for (const entry of Array.isArray(json) ? json as unknown[] : []) {
    const { dst, protocol } = entry as { dst?: unknown; protocol?: unknown };
    if (typeof dst === 'string' && String(protocol) === String(ROUTED_PROTOCOL)) out.push(dst);
  }
  return out;
}

function relayPidFile(stateDir: string, uplink: string): string {
  return join(stateDir, `${uplink}.relay.pid`);
}

/** Ends a relay a crashed agent left behind: only a process whose command line names our pid file. */
async function killLeftoverRelay(pidFile: string, clock: Clock): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return; // no relay was running
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  const cmdline = await readFile(`/proc/${String(pid)}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.split('\0').includes(`--pid-file=${pidFile}`)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // exited meanwhile
  }
  for (let i = 0; i < 50 && existsSync(`/proc/${String(pid)}`); i++) await clock.sleep(100);
}

/**
 * Puts the host back from a state file: the relay a crashed agent left, our proxy entries and
 * routes, the address lent to the bridge, each sysctl's original value; then removes the file.
 * Returns false when there was no state file. Safe to run twice.
 */
export async function undoRoutedChanges(stateDir: string, uplink: string, log: Log, clock: Clock = systemClock): Promise<boolean> {
  const state = await readRoutedState(stateDir, uplink);
  if (state === undefined) return false;
  await killLeftoverRelay(relayPidFile(stateDir, state.uplink), clock);
  await removeFile(relayPidFile(stateDir, state.uplink));
  await removeMarked(state.uplink, state.bridge);
  for (const cidr of state.bridgeAddresses) await ipIfPresent(['addr', 'del', cidr, 'dev', state.bridge]);
  for (const saved of state.sysctls) {
    if ((await readSysctl(saved.path)) === undefined) continue;
    await writeFile(sysctlFile(saved.path), `${saved.original}\n`);
  }
  await removeRoutedState(stateDir, state.uplink);
  log.info(`routed sharing of ${state.uplink} through ${state.bridge}: host restored (sysctls, routes, proxy ARP entries, the bridge's address)`);
  return true;
}

async function removeMarked(uplink: string, bridge: string): Promise<void> {
  if (linkExists(uplink)) {
    for (const address of await ourProxies(uplink)) await ipIfPresent(['-4', 'neigh', 'del', 'proxy', address, 'dev', uplink]);
  }
  if (linkExists(bridge)) await ipIfPresent(['-4', 'route', 'flush', 'dev', bridge, 'proto', String(ROUTED_PROTOCOL)]);
}

/** Whether a process `pid` exists (EPERM: it does, someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RoutedDataPlane {
  private state: RoutedState;
  private relay: ChildProcess | undefined;
  private relayAddress: string | undefined;
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
    if (earlier !== undefined && earlier.pid !== process.pid && processAlive(earlier.pid) && await isAgent(earlier.pid)) {
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
    await this.stopRelay();
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
      await this.stopRelay();
      this.applied = undefined;
      await this.publish({ phase: 'waiting', message: `${missing} is gone; waiting for it`, uplinkAddress: null, guests: [], refused: [] });
      return;
    }
    for (const setting of routedSysctls(links)) {
      // A bridge made again (NetworkManager restarted it) starts from the kernel's defaults.
      if ((await readSysctl(setting.path)) !== setting.value) await writeFile(sysctlFile(setting.path), `${setting.value}\n`);
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
      await this.stopRelay();
      this.applied = uplink;
      if (uplink !== undefined) this.lastKnown = uplink;
    }
    await this.ensureLentAddress(uplink);
    const message = change ?? (uplink === undefined ? `the uplink ${links.uplink} has no IPv4 address; waiting for one` : this.state.message);
    if (uplink !== undefined && this.relay === undefined) await this.startRelay(uplink);

    const plan = planGuests({
      uplink,
      gateways: routeGateways(await ipJson(['-4', 'route', 'show', 'dev', links.uplink])),
      bridgeNeighbours: parseNeighbours(await ipJson(['-4', 'neigh', 'show', 'dev', links.bridge])),
      uplinkNeighbours: parseNeighbours(await ipJson(['-4', 'neigh', 'show', 'dev', links.uplink])),
      routes: hostRouteDestinations(await ipJson(['-4', 'route', 'show', 'dev', links.bridge, 'proto', String(ROUTED_PROTOCOL)])),
      proxies: await ourProxies(links.uplink),
      known: [...this.state.guests, ...this.remembered.filter((r) => !this.state.guests.some((g) => g.address === r.address))],
      bridgeMacs: await bridgeMacs(links.bridge),
      nowMs: this.clock.now(),
    });
    // Routes first, then the proxy entry: the kernel answers ARP for an address only while it is routed elsewhere.
    for (const address of plan.addRoutes) await ip(['-4', 'route', 'replace', `${address}/32`, 'dev', links.bridge, 'proto', String(ROUTED_PROTOCOL), 'scope', 'link']);
    for (const address of plan.addProxies) await ip(['-4', 'neigh', 'replace', 'proxy', address, 'dev', links.uplink, 'protocol', String(ROUTED_PROTOCOL)]);
    for (const address of plan.removeProxies) await ipIfPresent(['-4', 'neigh', 'del', 'proxy', address, 'dev', links.uplink]);
    for (const address of plan.removeRoutes) await ipIfPresent(['-4', 'route', 'del', `${address}/32`, 'dev', links.bridge, 'proto', String(ROUTED_PROTOCOL)]);
    for (const guest of plan.guests.filter((g) => !this.state.guests.some((k) => k.address === g.address && k.mac === g.mac))) {
      log.info(`routed sharing of ${links.uplink}: guest ${guest.address} (${guest.mac}) on ${links.bridge} is on the LAN`);
    }
    for (const quiet of plan.guests.filter((g) => g.unansweredSince !== undefined && this.state.guests.some((k) => k.address === g.address && k.unansweredSince === undefined))) {
      log.info(`routed sharing of ${links.uplink}: guest ${quiet.address} (${quiet.mac}) does not answer ARP; its route stays while its MAC is on ${links.bridge}, for ${String(UNANSWERED_GRACE_MS / 1000)} s at most`);
    }
    for (const gone of this.state.guests.filter((k) => !plan.guests.some((g) => g.address === k.address))) {
      log.info(`routed sharing of ${links.uplink}: guest ${gone.address} (${gone.mac}) is gone from ${links.bridge}`);
    }
    for (const refused of plan.refused.filter((r) => !this.state.refused.some((k) => k.address === r.address && k.mac === r.mac))) {
      log.warn(`routed sharing of ${links.uplink}: not routing ${refused.address} (claimed by ${refused.mac} on ${links.bridge}): ${refused.reason}`);
    }
    // A guest the host has no answer from lately is asked once now, and again at each resync.
    const unanswered = plan.guests.filter((g) => g.unansweredSince !== undefined && !this.state.guests.some((k) => k.address === g.address && k.unansweredSince !== undefined));
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
    await this.probeSilentGuests(probe);
  }

  /**
   * A guest whose MAC the bridge no longer knows (its tap is gone, or it was silent for the
   * bridge's ageing time) gets one ping: the kernel then asks it on the bridge, and an entry
   * that fails is a guest gone, whose route the next reading removes.
   */
  private async probeSilentGuests(guests: readonly Guest[]): Promise<void> {
    if (guests.length === 0) return;
    const known = new Set(await bridgeMacs(this.options.links.bridge));
    await Promise.all(guests.filter((g) => !known.has(g.mac) || g.unansweredSince !== undefined).map((guest) =>
      // Its answer, or its silence, is the neighbour event the next reading acts on.
      run('ping', ['-n', '-q', '-c', '1', '-W', '1', '-I', this.options.links.bridge, guest.address], { timeout: COMMAND_TIMEOUT_MS }).catch(() => undefined)));
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

  private async startRelay(uplink: Ipv4Prefix): Promise<void> {
    const { links, stateDir, log } = this.options;
    const argv = relayArgv(links, uplink, { pidFile: relayPidFile(stateDir, links.uplink), ...(this.options.dhcpServer === undefined ? {} : { server: this.options.dhcpServer }) });
    const [command = 'dnsmasq', ...args] = argv;
    const relay = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.relay = relay;
    this.relayAddress = uplink.address;
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') log.info(`relay: ${line.trim()}`);
    };
    relay.stdout?.on('data', forward);
    relay.stderr?.on('data', forward);
    relay.on('error', (err) => log.error(`the DHCP relay (dnsmasq) did not start: ${errorMessage(err)}`));
    relay.on('exit', (code, signal) => {
      if (this.relay !== relay) return;
      this.relay = undefined;
      if (this.stopping) return;
      log.warn(`the DHCP relay (dnsmasq) ended (${signal ?? `exit ${String(code)}`}); starting it again in ${String(RELAY_RESTART_MS / 1000)} s`);
      this.clock.schedule(RELAY_RESTART_MS, () => this.soon());
    });
    log.info(`relaying DHCP from ${links.bridge} to the LAN on ${links.uplink} as ${uplink.address}${this.options.dhcpServer === undefined ? ' (broadcast)' : ` to ${this.options.dhcpServer}`}`);
  }

  private async stopRelay(): Promise<void> {
    const relay = this.relay;
    if (relay === undefined) return;
    this.relay = undefined;
    this.relayAddress = undefined;
    if (relay.exitCode !== null || relay.signalCode !== null) return;
    const exited = new Promise((r) => relay.once('exit', r));
    relay.kill('SIGTERM');
    await exited;
  }

  /** The relay's address now (the uplink's address it relays from), for tests and status. */
  get relayingFrom(): string | undefined {
    return this.relayAddress;
  }

  private async publish(change: Partial<RoutedState>): Promise<void> {
    this.state = { ...this.state, ...change };
    await writeRoutedState(this.options.stateDir, this.state);
  }
}

/** The MACs the bridge's forwarding database holds (learned on its ports), lower case. */
async function bridgeMacs(bridge: string): Promise<string[]> {
  const { stdout } = await run('bridge', ['-j', 'fdb', 'show', 'br', bridge], { timeout: COMMAND_TIMEOUT_MS });
  const out: string[] = [];
  for (const entry of JSON.parse(stdout === '' ? '[]' : stdout) as unknown[]) {
    const mac = (entry as { mac?: unknown }).mac;
    if (typeof mac === 'string') out.push(mac.toLowerCase());
  }
  return out;
}

function addressesOf(json: unknown): string[] {
  const out: string[] = [];
  for (const link of Array.isArray(json) ? json as unknown[] : []) {
    const infos = (link as { addr_info?: unknown }).addr_info;
    for (const info of Array.isArray(infos) ? infos as unknown[] : []) {
      const { local, prefixlen } = info as { local?: unknown; prefixlen?: unknown };
      if (typeof local === 'string' && typeof prefixlen === 'number') out.push(`${local}/${String(prefixlen)}`);
    }
  }
  return out;
}

/** Whether `pid` is a routed agent (and not a process that reused an old agent's number). */
async function isAgent(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${String(pid)}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes('routed');
}
