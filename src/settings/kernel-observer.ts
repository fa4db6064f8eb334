// SPDX-License-Identifier: GPL-2.0-or-later
// Reads the kernel's real network state with iproute2 (`ip -j`), pings and sysfs: the truth that
// verification compares plans with, whichever backend made the change.
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { consoleLog, errorMessage, type Log } from '../log';
import type { HostChanges, HostObserver, LiveAddress, LiveHost, LiveLink, LiveRoute } from '../bridge/verify';

const run = promisify(execFile);
const USER_HZ = 100;
const READ_TIMEOUT_MS = 10_000;

// The one model of `ip -j` output for every reader (verification, the ifcfg backend): each field
// optional, since iproute2 prints only what applies, and checked where it is read.

/** A link from `ip -j -d link show` or `ip -j addr show`. */
export interface IpLink {
  ifname?: string;
  address?: string;
  flags?: string[];
  master?: string;
  mtu?: number;
  operstate?: string;
  link_type?: string;
  /** For a VLAN: its parent; for a veth, its peer when that is in this namespace. */
  link?: string;
  /** Set when the link's peer or parent is in another namespace. */
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: { stp_state?: number; forward_delay?: number; id?: number; mode?: string } };
  addr_info?: IpAddr[];
  inet6_addr_gen_mode?: string;
}

export interface IpAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
  dynamic?: boolean;
  /** IPv6 duplicate address detection failed: the address is unusable. */
  dadfailed?: boolean;
}

/** A route from `ip -j route show`. */
export interface IpRoute {
  dst?: string;
  dev?: string;
  gateway?: string;
  protocol?: string;
  metric?: number;
  flags?: string[];
  /** Present (with `table all`) for routes outside the main table. */
  table?: string;
  /** IPv6 router preference: IPv6 routes only. */
  pref?: string;
}

/**
 * What a process printed, streamed into memory as it comes: no cap on its size (execFile's
 * maxBuffer made a reading of a host with thousands of links fail), a deadline on its time.
 */
function collect(command: string, args: readonly string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // A bound on our own child process's real run time, like a socket's deadline in the wire
    // layer: not the daemon's notion of time, so not the injected Clock (a fake one would never kill it).
    const timer = setTimeout(() => child.kill(), READ_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (signal !== null) reject(new Error(`${command} ${args.join(' ')} ended by ${signal}${signal === 'SIGTERM' ? ` after ${READ_TIMEOUT_MS / 1000} s` : ''}`));
      else resolve({ code: code ?? 0, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    child.stdin.on('error', () => undefined); // EPIPE when ip failed before reading its input: its exit says why
    child.stdin.end(input);
  });
}

async function ipJson(args: readonly string[]): Promise<unknown> {
  const { code, stdout, stderr } = await collect('ip', ['-j', ...args]);
  if (code !== 0) throw new Error(`ip -j ${args.join(' ')} failed: ${stderr.trim()}`);
  return JSON.parse(stdout || '[]') as unknown;
}

/**
 * The links a listing for a person may show, by what the kernel alone says (host-network.ts'
 * listedByDefault): not the loopback, taps and tunnels, ports of a bridge, bond or team, nor veths
 * whose other end is here. What is left still needs the backend's word (a veth it does not manage).
 */
export function linksMaybeListed(details: unknown): string[] {
  return asArray<IpLink>(details).flatMap((l) => {
    const kind = l.linkinfo?.info_kind;
    const peerHere = kind === 'veth' && l.link !== undefined && l.link_netnsid === undefined;
    const name = l.ifname;
    return name === undefined || l.link_type === 'loopback' || kind === 'tun' || l.master !== undefined || peerHere ? [] : [name];
  });
}

/** One reading of the kernel's links (one process, ~70 ms at 5000 links): see linksMaybeListed. */
export async function readLinksMaybeListed(): Promise<string[]> {
  return linksMaybeListed(await ipJson(['-d', 'link', 'show']));
}

/** The kernel's links (with details), addresses and main-table routes, as `ip -j` prints them. */
export interface IpState {
  readonly links: unknown;
  readonly addresses: unknown;
  readonly routes4: unknown;
  readonly routes6: unknown;
}

/** The whole host (the ifcfg fallback's listing): read as a stream, so its size can't fail it. */
export async function readIpState(): Promise<IpState> {
  const [links, addresses, routes4, routes6] = await Promise.all([
    ipJson(['-d', 'link', 'show']),
    ipJson(['addr', 'show']),
    ipJson(['-4', 'route', 'show', 'table', 'main']),
    ipJson(['-6', 'route', 'show', 'table', 'main']),
  ]);
  return { links, addresses, routes4, routes6 };
}

/** `ip -j -d addr show dev X` of each device, and its routes of every table, in that order. */
export function deviceBatch(devices: readonly string[]): string {
  return [...devices.map((d) => `addr show dev ${d}`), ...devices.map((d) => `route show table all dev ${d}`)].join('\n') + '\n';
}

/**
 * The links, addresses and main-table routes of `devices` only, from one `ip -batch` run:
 * `ip -j -d -force -batch -` prints one JSON array per line for each command that succeeded and
 * names the failed ones on stderr (`Command failed -:N`, a device that is gone): the lines left
 * belong to the other commands, in order.
 */
export function parseDeviceBatch(devices: readonly string[], stdout: string, stderr: string): LiveHost {
  const failed = new Set([...stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1])));
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  const results: unknown[] = [];
  let next = 0;
  for (let command = 1; command <= devices.length * 2; command++) {
    results.push(failed.has(command) ? [] : JSON.parse(lines[next++] ?? '[]') as unknown);
  }
  const addrs = results.slice(0, devices.length).flatMap((r) => asArray<IpLink>(r));
  const routes = devices.flatMap((dev, i) => asArray<IpRoute>(results[devices.length + i])
    // Filtered by device, ip leaves out the device; `table all` has the other tables' routes too.
    .filter((r) => r.table === undefined || r.table === 'main')
    .map((r) => ({ ...r, dev })));
  return {
    links: parseLinks(addrs, addrs),
    routes: [...parseRoutes(4, routes.filter((r) => routeFamily(r) === 4)), ...parseRoutes(6, routes.filter((r) => routeFamily(r) === 6))],
  };
}

/**
 * A route of `table all` carries no family: its destination or gateway says it, and else its
 * `pref`, which the kernel gives IPv6 routes only.
 */
function routeFamily(route: IpRoute): 4 | 6 {
  for (const address of [route.dst, route.gateway]) {
    if (address !== undefined && address !== 'default') return address.includes(':') ? 6 : 4;
  }
  return route.pref === undefined ? 4 : 6;
}

/** `ip -j` output is checked field by field where it is read; a non-array is no entries. */
export function asArray<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

export function parseLinks(details: unknown, addresses: unknown): Map<string, LiveLink> {
  const byName = new Map<string, IpLink>();
  for (const a of asArray<IpLink>(addresses)) if (a.ifname) byName.set(a.ifname, a);
  const links = new Map<string, LiveLink>();
  for (const l of asArray<IpLink>(details)) {
    if (!l.ifname) continue;
    const addrs: LiveAddress[] = (byName.get(l.ifname)?.addr_info ?? [])
      .filter((a) => a.local !== undefined && (a.family === 'inet' || a.family === 'inet6'))
      .map((a) => ({
        cidr: `${a.local}/${a.prefixlen ?? 0}`, family: a.family === 'inet' ? 4 : 6, global: a.scope === 'global', dynamic: a.dynamic === true,
        ...(a.dadfailed === true ? { dadFailed: true } : {}),
      }));
    const data = l.linkinfo?.info_data;
    const kind = l.linkinfo?.info_kind;
    const stp = data?.stp_state;
    links.set(l.ifname, {
      name: l.ifname,
      mac: (l.address ?? '').toLowerCase(),
      up: (l.flags ?? []).includes('UP'),
      controller: l.master,
      kind: l.linkinfo?.info_kind,
      addresses: addrs,
      ...(stp === undefined ? {} : { stp: stp !== 0 }),
      ...(typeof l.mtu === 'number' ? { mtu: l.mtu } : {}),
      ...(typeof l.operstate === 'string' ? { operstate: l.operstate.toLowerCase() } : {}),
      // The kernel counts bridge timers in USER_HZ (centiseconds).
      ...(kind === 'bridge' && typeof data?.forward_delay === 'number' ? { forwardDelay: data.forward_delay / USER_HZ } : {}),
      ...(kind === 'vlan' && typeof data?.id === 'number' && l.link !== undefined ? { vlan: { id: data.id, parent: l.link } } : {}),
      ...(kind === 'bond' && typeof data?.mode === 'string' ? { bondMode: data.mode } : {}),
    });
  }
  return links;
}

export function parseRoutes(family: 4 | 6, routes: unknown): LiveRoute[] {
  return asArray<IpRoute>(routes)
    .filter((r) => r.dst !== undefined && r.dev !== undefined)
    .map((r) => ({ family, dst: r.dst as string, dev: r.dev as string, gateway: r.gateway, kernel: r.protocol === 'kernel' || r.protocol === 'ra' }));
}

/**
 * Whether a line of `ip -o monitor` names one of `devices`: as the link itself (`3: br0: <…>`,
 * `2: eth0@if2: <…>`), an address's or a route's device (`br0    inet …`, `dev br0`), or a port's
 * controller (`master br0`).
 */
export function namesDevice(line: string, devices: readonly string[]): boolean {
  return line.split(/[\s:\\]+/).some((word) => devices.some((d) => word === d || word.startsWith(`${d}@`)));
}

export class KernelObserver implements HostObserver {
  constructor(private readonly log: Log = consoleLog) {}

  async observe(devices: readonly string[]): Promise<LiveHost> {
    // Verification reads this on every kernel event while NetworkManager works on the same two
    // cores, on hosts with thousands of links: only the devices in question, in one process.
    const names = [...new Set(devices)];
    // ip's batch reader splits on blanks and knows quotes and comments: a name with any of those
    // (the kernel forbids blanks; quotes and '#' it allows) would be another command.
    for (const name of names) if (!/^[^\s"'#\\/]+$/.test(name)) throw new Error(`not an interface name ip -batch can take: ${JSON.stringify(name)}`);
    if (names.length === 0) return { links: new Map(), routes: [] };
    const { stdout, stderr } = await collect('ip', ['-j', '-d', '-force', '-batch', '-'], deviceBatch(names));
    return parseDeviceBatch(names, stdout, stderr);
  }

  /**
   * `name` and what it is made of, as sysfs links them (`lower_*`: a bridge's or bond's ports, a
   * VLAN's parent), recursively: what describing it takes, without reading the other links.
   */
  linkTree(name: string): string[] {
    const out = [name];
    for (let i = 0; i < out.length; i++) {
      let entries: string[];
      try {
        entries = readdirSync(sysfsPath(out[i] ?? '', ''));
      } catch (err) {
        if (isNotThere(err)) continue;
        throw err;
      }
      for (const entry of entries) {
        const lower = entry.startsWith('lower_') ? entry.slice('lower_'.length) : undefined;
        if (lower !== undefined && !out.includes(lower)) out.push(lower);
      }
    }
    return out;
  }

  /**
   * rtnetlink's own notifications, through one `ip monitor` for as long as the caller watches:
   * verification reads the state again as soon as the kernel changed one of `devices`, not a
   * poll later. Events of other devices don't count: during a Share NetworkManager takes the
   * NIC's addresses and routes away first, and reading the state for each of those would only
   * take the CPU NetworkManager is working with.
   */
  watch(devices: readonly string[]): HostChanges {
    const monitor = spawn('ip', ['-o', 'monitor', 'link', 'address', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let count = 0;
    let waiters: Array<() => void> = [];
    const wakeAll = () => {
      const woken = waiters;
      waiters = [];
      for (const resolve of woken) resolve();
    };
    let partial = '';
    monitor.stdout.setEncoding('utf8');
    monitor.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      if (!lines.some((line) => namesDevice(line, devices))) return;
      count++;
      wakeAll();
    });
    // Without a monitor the caller's safety poll still runs: slower, not wrong; say so.
    monitor.on('error', (err) => this.log.warn(`ip monitor did not start (${errorMessage(err)}): verification reads the kernel once a second instead`));
    return {
      count: () => count,
      after: (seen) => (count > seen ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
      close: () => {
        monitor.kill();
        wakeAll();
      },
    };
  }

  /**
   * Every change of the kernel's links (added, gone, up or down, a port joining or leaving a
   * controller), through one `ip monitor link` until the returned function is called: what the
   * listing shows of the kernel beside the backend (a port's controller is read from sysfs).
   */
  watchLinks(onChange: () => void): () => void {
    return this.monitor(['link'], onChange, "InterfacesChanged follows the backend's events only");
  }

  /**
   * Every change of the kernel's links, addresses and routes, through one `ip monitor` until the
   * returned function is called: what a backend without NetworkManager lists follows these.
   */
  watchHost(onChange: () => void): () => void {
    return this.monitor(['link', 'address', 'route'], onChange, 'changes others make to links, addresses and routes show only after our next change');
  }

  private monitor(objects: readonly string[], onChange: () => void, without: string): () => void {
    const monitor = spawn('ip', ['-o', 'monitor', ...objects], { stdio: ['ignore', 'pipe', 'ignore'] });
    monitor.stdout.on('data', () => onChange());
    monitor.on('error', (err) => this.log.warn(`ip monitor did not start (${errorMessage(err)}): ${without}`));
    return () => monitor.kill();
  }

  async linkSpeed(device: string): Promise<number | undefined> {
    try {
      const speed = Number((await readFile(`/sys/class/net/${device}/speed`, 'utf8')).trim());
      return Number.isInteger(speed) && speed > 0 ? speed : undefined;
    } catch {
      // EINVAL while the link is down or for virtual devices without one: no speed to tell
      return undefined;
    }
  }

  controllerOf(name: string): string | undefined {
    // /sys/class/net/NIC/master links to the controller's directory (bridge, bond or team).
    // Most links have none: a stat that can't throw is much cheaper than a failed readlink's
    // exception, once per interface of every ListInterfaces.
    const path = sysfsPath(name, 'master');
    if (!existsSync(path)) return undefined;
    try {
      return basename(readlinkSync(path));
    } catch (err) {
      // Released from its controller between the two calls.
      if (isNotThere(err)) return undefined;
      throw err;
    }
  }

  bridgePorts(bridge: string): string[] {
    try {
      return readdirSync(sysfsPath(bridge, 'brif')).sort();
    } catch (err) {
      if (isNotThere(err)) return [];
      throw err;
    }
  }

  linkMtu(name: string): number | undefined {
    try {
      const mtu = Number(readFileSync(sysfsPath(name, 'mtu'), 'utf8').trim());
      return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
    } catch (err) {
      if (isNotThere(err)) return undefined;
      throw err;
    }
  }

  async answers(address: string, device: string, newDevice = false, source?: string): Promise<boolean> {
    const family = address.includes(':') ? '-6' : '-4';
    // Side by side, and the ping's answer is not held for arping's exit (it takes ~15 ms, the
    // ping ~3): the ARP request costs nothing when the neighbour entry is fine. askNeighbour
    // never rejects, and its process ends within its 1 s deadline. Before a change the NIC's
    // entries are as good as the traffic that kept them: no process more for them.
    if (family === '-4' && newDevice) void this.askNeighbour(address, device);
    return this.ping(family, address, device, source);
  }

  /**
   * One ping out of `device`. Given only the device, iputils' ping finds its source address and
   * then reads every link's addresses (getifaddrs) to warn when that address is another device's:
   * ~90 ms at 5000 links. Given the source too (a second -I), it binds to both and reads nothing.
   */
  private async ping(family: '-4' | '-6', address: string, device: string, source: string | undefined): Promise<boolean> {
    try {
      await run('ping', [family, '-c', '1', '-W', '1', '-I', device, ...(source === undefined ? [] : ['-I', source]), '-n', '-q', address], { timeout: 5_000 });
      return true;
    } catch {
      // ping exits non-zero when nothing answered: that is the answer, not an error
      return false;
    }
  }

  /**
   * An ARP request of our own for `address` out of `device` (arping), whatever its neighbour
   * entry says. A bridge that carried a static address before its port joined (so that no packet
   * finds the address gone) may have asked for the gateway while it had no carrier: the entry
   * then stays incomplete, with the replies to the LAN queued behind it, until the kernel asks
   * again a second later. The answer to our request completes the entry at once and the queued
   * packets leave, our ping among them: it measures the gateway, not that second. Without arping
   * (not installed) the ping alone decides.
   */
  private async askNeighbour(address: string, device: string): Promise<void> {
    try {
      await run('arping', ['-q', '-c', '1', '-w', '1', '-I', device, address], { timeout: 5_000 });
    } catch {
      // No answer (exit 1) is for the ping to find out; without arping (ENOENT) the ping alone decides.
    }
  }
}

/** A path under /sys/class/net for a validated interface name (no '/', never '.' or '..'). */
function sysfsPath(name: string, entry: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`not an interface name: ${JSON.stringify(name)}`);
  return `/sys/class/net/${name}/${entry}`;
}

function isNotThere(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
