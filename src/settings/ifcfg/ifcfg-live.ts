// Live apply for the ifcfg backend: makes the running system match the files without a reboot.
// With initscripts installed (and the standard directory) that is their own ifup/ifdown; otherwise
// iproute2 and the DHCP client the system has (dhclient, or busybox udhcpc with our event script).
// Every command runs with an argument vector, never through a shell; every value passed on comes
// from the kernel's JSON or from names validated before, and is checked again against a pattern.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, realpathSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { HostInterface, InterfaceType } from '../../bridge/host-network';
import { isMacAddress } from '../../bridge/mac-address';
import { ensurePrivateDir, readIfExists, writeFileAtomic } from './ifcfg-files';
import { isInterfaceName } from './ifcfg-validate';

const run = promisify(execFile);

export const STANDARD_IFCFG_DIR = '/etc/sysconfig/network-scripts';

import { type Log, errorMessage } from '../../bridge/log';
import { asArray, readIpState, type IpLink, type IpRoute, type IpState } from '../kernel-observer';

export { readIpState, type IpState };

// ---------------------------------------------------------------------------------------------
// Reading the kernel (ip -j).

const KIND_TYPES: ReadonlyMap<string, InterfaceType> = new Map<string, InterfaceType>([
  // A veth looks like an ethernet to everything above the kernel (and is the lab's NIC).
  ['veth', 'ethernet'],
  ['bridge', 'bridge'],
  ['bond', 'bond'],
  ['team', 'team'],
  ['vlan', 'vlan'],
  ['tun', 'tun'],
]);

/** What a link is, from `ip -d link`: its kind for virtual links, its link type for hardware. */
export function interfaceType(link: { link_type?: string; linkinfo?: { info_kind?: string } }, wireless: boolean): InterfaceType {
  if (link.link_type === 'loopback') return 'loopback';
  const kind = link.linkinfo?.info_kind;
  if (kind !== undefined) return KIND_TYPES.get(kind) ?? 'other';
  if (link.link_type === 'ether') return wireless ? 'wifi' : 'ethernet';
  if (link.link_type === 'none') return 'tun';
  return 'other';
}

const IPV6_CHANGES_NOTE = 'its autoconfigured IPv6 addresses will change: the kernel derives them from the interface name (addr_gen_mode stable_secret or random), and the bridge has another name';

/**
 * The domain's view of the links. Every link counts as managed: without NetworkManager nothing
 * else claims them, and the ifcfg files say how each one is configured.
 */
export function hostInterfacesFromIp(state: IpState, shared: ReadonlyMap<string, string>, isWireless: (name: string) => boolean): HostInterface[] {
  const addressesOf = new Map<string, string[]>();
  for (const a of asArray<IpLink>(state.addresses)) {
    if (a.ifname === undefined) continue;
    addressesOf.set(a.ifname, (a.addr_info ?? []).filter((x) => x.local !== undefined).map((x) => `${x.local ?? ''}/${x.prefixlen ?? 0}`));
  }
  const out: HostInterface[] = [];
  for (const l of asArray<IpLink>(state.links)) {
    if (l.ifname === undefined) continue;
    const flags = l.flags ?? [];
    const type = interfaceType(l, l.linkinfo?.info_kind === undefined && l.link_type === 'ether' && isWireless(l.ifname));
    const iface: HostInterface = {
      name: l.ifname,
      type,
      mac: (l.address ?? '').toLowerCase(),
      carrier: flags.includes('LOWER_UP') && !flags.includes('NO-CARRIER'),
      addresses: addressesOf.get(l.ifname) ?? [],
      sharedThrough: shared.get(l.ifname),
      controller: l.master,
      managed: true,
    };
    // The kernel hashes the interface name into these addresses (RFC 7217), so the bridge's differ.
    const notes = l.inet6_addr_gen_mode === 'stable_secret' || l.inet6_addr_gen_mode === 'random' ? { shareNotes: [IPV6_CHANGES_NOTE] } : {};
    // iproute2 cannot tell a station from an access point; 'unknown' is refused like a station.
    out.push(type === 'wifi' ? { ...iface, ...notes, wifiMode: 'unknown' } : { ...iface, ...notes });
  }
  return out;
}

export function sysfsWireless(name: string): boolean {
  return existsSync(join('/sys/class/net', name, 'wireless')) || existsSync(join('/sys/class/net', name, 'phy80211'));
}

/** The link's current state, for the few facts live apply needs. */
export function linkInfo(state: IpState, name: string): { readonly master: string | undefined; readonly kind: string | undefined; readonly stp: boolean } | undefined {
  const l = asArray<IpLink>(state.links).find((x) => x.ifname === name);
  if (l === undefined) return undefined;
  return { master: l.master, kind: l.linkinfo?.info_kind, stp: (l.linkinfo?.info_data?.stp_state ?? 0) !== 0 };
}

// ---------------------------------------------------------------------------------------------
// The IP configuration that moves between the NIC and the bridge.

export interface RouteSpec {
  readonly family: 4 | 6;
  readonly dst: string;
  readonly gateway?: string;
  readonly metric?: number;
  readonly protocol?: string;
  readonly onlink?: boolean;
}

/** What a device carries: a DHCP client, or addresses and routes configured by hand (or both, per family). */
export interface IpConfig {
  /** IPv4 comes from a DHCP client: its addresses and routes are the client's, not moved by hand. */
  readonly dhcp: boolean;
  readonly addresses: readonly string[];
  readonly routes: readonly RouteSpec[];
}

const ADDRESS_CIDR = /^[0-9A-Fa-f.:]+\/[0-9]{1,3}$/;
const ADDRESS = /^[0-9A-Fa-f.:]+$/;
const ROUTE_DST = /^(default|[0-9A-Fa-f.:]+(\/[0-9]{1,3})?)$/;
const PROTOCOL = /^[a-z][a-z0-9_]{0,15}$/;

/**
 * The configuration on `device` that is the user's, not the kernel's: global addresses (IPv4 ones
 * only without DHCP; IPv6 ones only when not autoconfigured) and the routes through it that the
 * kernel or router advertisements did not make (IPv4 ones only without DHCP).
 */
export function captureIpConfig(state: IpState, device: string, dhcp: boolean): IpConfig {
  const link = asArray<IpLink>(state.addresses).find((l) => l.ifname === device);
  const addresses: string[] = [];
  for (const a of link?.addr_info ?? []) {
    if (a.scope !== 'global' || a.local === undefined) continue;
    const cidr = `${a.local}/${a.prefixlen ?? 0}`;
    if (!ADDRESS_CIDR.test(cidr)) continue;
    if (a.family === 'inet' && !dhcp) addresses.push(cidr);
    if (a.family === 'inet6' && a.dynamic !== true) addresses.push(cidr);
  }
  const routes: RouteSpec[] = [];
  const collect = (family: 4 | 6, list: unknown): void => {
    for (const r of asArray<IpRoute>(list)) {
      if (r.dev !== device || r.dst === undefined || !ROUTE_DST.test(r.dst)) continue;
      if (r.protocol === 'kernel' || r.protocol === 'ra' || r.protocol === 'redirect') continue;
      if (family === 4 && dhcp) continue;
      if (r.gateway !== undefined && !ADDRESS.test(r.gateway)) continue;
      routes.push({
        family,
        dst: r.dst,
        ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
        ...(typeof r.metric === 'number' && Number.isInteger(r.metric) && r.metric >= 0 ? { metric: r.metric } : {}),
        ...(r.protocol !== undefined && PROTOCOL.test(r.protocol) ? { protocol: r.protocol } : {}),
        ...((r.flags ?? []).includes('onlink') ? { onlink: true } : {}),
      });
    }
  };
  collect(4, state.routes4);
  collect(6, state.routes6);
  return { dhcp, addresses, routes };
}

/** Checks a configuration read back from our own journal or records before it reaches `ip`. */
export function checkIpConfig(value: unknown): IpConfig {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const addresses = Array.isArray(r['addresses']) ? r['addresses'].filter((a): a is string => typeof a === 'string' && ADDRESS_CIDR.test(a)) : [];
  const routes = Array.isArray(r['routes']) ? r['routes'].flatMap((x): RouteSpec[] => {
    const o = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
    const family = o['family'];
    const dst = o['dst'];
    if ((family !== 4 && family !== 6) || typeof dst !== 'string' || !ROUTE_DST.test(dst)) return [];
    const gateway = typeof o['gateway'] === 'string' && ADDRESS.test(o['gateway']) ? o['gateway'] : undefined;
    const metric = typeof o['metric'] === 'number' && Number.isInteger(o['metric']) && o['metric'] >= 0 ? o['metric'] : undefined;
    const protocol = typeof o['protocol'] === 'string' && PROTOCOL.test(o['protocol']) ? o['protocol'] : undefined;
    return [{
      family, dst,
      ...(gateway !== undefined ? { gateway } : {}),
      ...(metric !== undefined ? { metric } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
      ...(o['onlink'] === true ? { onlink: true } : {}),
    }];
  }) : [];
  return { dhcp: r['dhcp'] === true, addresses, routes };
}

function routeArgs(route: RouteSpec, device: string): string[] {
  return [
    route.family === 6 ? '-6' : '-4', 'route', 'replace', route.dst,
    ...(route.gateway !== undefined ? ['via', route.gateway] : []),
    'dev', device,
    ...(route.metric !== undefined ? ['metric', String(route.metric)] : []),
    ...(route.protocol !== undefined ? ['proto', route.protocol] : []),
    ...(route.onlink ? ['onlink'] : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// DHCP clients.

const DHCP_PROGRAMS = new Set(['udhcpc', 'dhclient', 'dhcpcd']);

/** Whether a command line (argv) is a DHCP client serving `device`. */
export function isDhcpClientFor(argv: readonly string[], device: string): boolean {
  const program = (argv[0] ?? '').split('/').pop() ?? '';
  const args = program === 'busybox' ? argv.slice(2) : argv.slice(1);
  const applet = program === 'busybox' ? argv[1] ?? '' : program;
  if (!DHCP_PROGRAMS.has(applet)) return false;
  return args.some((a, i) => a === device || a === `-i${device}` || a === `--interface=${device}` || ((args[i - 1] === '-i' || args[i - 1] === '--interface') && a === device));
}

/** Finds, starts and stops the DHCP clients of a device (whoever started them). */
export class DhcpClients {
  constructor(private readonly stateDir: string, private readonly log: Log) {}

  /** The client we would start, or undefined when the system has none. */
  static available(): { readonly program: string; readonly argv0: readonly string[]; readonly kind: 'dhclient' | 'udhcpc' } | undefined {
    const dhclient = findProgram('dhclient');
    if (dhclient !== undefined) return { program: dhclient, argv0: [], kind: 'dhclient' };
    const udhcpc = findProgram('udhcpc');
    if (udhcpc !== undefined) return { program: udhcpc, argv0: [], kind: 'udhcpc' };
    const busybox = findProgram('busybox');
    if (busybox !== undefined) return { program: busybox, argv0: ['udhcpc'], kind: 'udhcpc' };
    return undefined;
  }

  async running(device: string): Promise<number[]> {
    const pids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      const cmdline = await readFile(join('/proc', entry, 'cmdline')).catch(() => undefined);
      if (cmdline === undefined || cmdline.length === 0) continue;
      const argv = cmdline.toString('utf8').split('\0');
      if (argv[argv.length - 1] === '') argv.pop();
      if (isDhcpClientFor(argv, device)) pids.push(Number(entry));
    }
    return pids;
  }

  /** Stops every DHCP client of `device`: TERM, then KILL for those still there after 3 s. */
  async stop(device: string): Promise<void> {
    const pids = await this.running(device);
    if (pids.length === 0) return;
    this.log.info(`stopping the DHCP client of ${device} (pid ${pids.join(', ')})`);
    for (const pid of pids) signal(pid, 'SIGTERM');
    const deadline = Date.now() + 3000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(50);
    for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  }

  /**
   * Starts a DHCP client on `device` that outlives us (it renews the lease after we exit). Returns
   * once it has a lease or has gone to the background still asking; the caller verifies the result.
   */
  async start(device: string): Promise<void> {
    if (!isInterfaceName(device)) throw new Error(`not an interface name: ${device}`);
    const client = DhcpClients.available();
    if (client === undefined) throw new Error('no DHCP client is installed (dhclient, or busybox udhcpc)');
    await ensurePrivateDir(this.stateDir);
    const pidFile = join(this.stateDir, `${client.kind}-${device}.pid`);
    // Under systemd, the processes of our own unit die with it (idle exit, KillMode=control-group)
    // and its sandbox has no AF_PACKET: the client gets a transient unit of its own instead.
    const systemdRun = underSystemd()?.systemdRun;
    const foreground = systemdRun !== undefined;
    let args: string[];
    if (client.kind === 'dhclient') {
      // -nw: go to the background at once (-d: stay in the foreground); dhclient-script configures the device.
      args = [foreground ? '-d' : '-nw', '-pf', pidFile, '-lf', join(this.stateDir, `dhclient-${device}.leases`), device];
    } else {
      const script = await this.udhcpcScript();
      // -b: go to the background after three unanswered discovers, and keep asking there.
      args = [...client.argv0, '-i', device, '-s', script, '-p', pidFile, foreground ? '-f' : '-b', '-t', '3', '-T', '2', '-A', '5'];
    }
    let argv: string[] = [client.program, ...args];
    if (systemdRun !== undefined) {
      const unit = `shared-interface-dhcp-${device}-${randomBytes(3).toString('hex')}`;
      argv = [systemdRun, '--quiet', '--collect', `--unit=${unit}`, `--description=DHCP client of ${device} (shared-interface)`, '--', ...argv];
    }
    this.log.info(`starting ${client.kind} on ${device}${systemdRun !== undefined ? ' in a unit of its own' : ''}`);
    const [program = client.program, ...rest] = argv;
    const child = spawn(program, rest, { detached: true, stdio: 'ignore' });
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.unref();
        resolvePromise();
      }, 20_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise();
        else reject(new Error(`${client.kind} on ${device} exited with status ${String(code)}`));
      });
    });
  }

  /** Our udhcpc event script, written into the state directory (busybox ships none). */
  private async udhcpcScript(): Promise<string> {
    const path = join(this.stateDir, 'udhcpc.script');
    const current = await readIfExists(path);
    if (current === undefined || current.toString('utf8') !== UDHCPC_SCRIPT) await writeFileAtomic(path, Buffer.from(UDHCPC_SCRIPT), 0o700);
    return path;
  }
}

// The lease's address gets the lease's lifetime, so it shows as dynamic and expires with the client.
// Only IPv4 is touched: static IPv6 addresses on the device stay.
const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc event script of shared-interfaced (written by it; changes are overwritten).
# udhcpc passes the lease in the environment: interface, ip, mask, router, lease.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface" scope global
	ip link set dev "$interface" up
	;;
bound|renew)
	lft=\${lease:-forever}
	if [ "$1" = bound ]; then ip -4 addr flush dev "$interface" scope global; fi
	ip addr replace "$ip/\${mask:-32}" dev "$interface" valid_lft "$lft" preferred_lft "$lft" || exit 1
	for gw in $router; do
		ip route replace default via "$gw" dev "$interface"
		break
	done
	;;
esac
exit 0
`;

/**
 * systemd-run and systemctl when systemd is the service manager. Then what must outlive us or
 * leave our sandbox (a DHCP client, ifup and what it starts) runs in a transient unit of its own:
 * our unit's processes die with it (idle exit, KillMode=control-group), and its sandbox has no
 * AF_PACKET and a read-only /run and /var/lib/dhclient.
 */
function underSystemd(): { readonly systemdRun: string; readonly systemctl: string } | undefined {
  if (!existsSync('/run/systemd/system')) return undefined;
  const systemdRun = findProgram('systemd-run');
  const systemctl = findProgram('systemctl');
  return systemdRun === undefined || systemctl === undefined ? undefined : { systemdRun, systemctl };
}

/** One command line, and whether its failure is the change's failure. */
export interface ScriptStep {
  readonly argv: readonly string[];
  readonly mustSucceed: boolean;
}

/**
 * How to run initscripts' `ifup`/`ifdown DEVICE`: directly, or under systemd in a transient unit.
 * ifup's unit (shared-interface-ifup-DEVICE) stays active after ifup exits, holding the DHCP client
 * ifup started; ifdown stops it once ifdown has released the lease. `suffix` makes ifdown's own
 * unit name unique.
 */
export function initscriptsSteps(command: 'ifup' | 'ifdown', device: string, program: string, systemd: { readonly systemdRun: string; readonly systemctl: string } | undefined, suffix: string): ScriptStep[] {
  if (!isInterfaceName(device)) throw new Error(`not an interface name: ${device}`);
  if (systemd === undefined) return [{ argv: [program, device], mustSucceed: command === 'ifup' }];
  const ifupUnit = `shared-interface-ifup-${device}.service`;
  // A unit left from an earlier ifup of this device (its DHCP client already stopped by ifdown).
  const stopIfupUnit: ScriptStep = { argv: [systemd.systemctl, 'stop', ifupUnit], mustSucceed: false };
  const unitArgs = ['--quiet', '--collect', `--description=${command} ${device} (shared-interface)`];
  if (command === 'ifup') {
    return [stopIfupUnit, {
      argv: [systemd.systemdRun, ...unitArgs, `--unit=${ifupUnit}`, '--property=Type=oneshot', '--property=RemainAfterExit=yes', '--', program, device],
      mustSucceed: true,
    }];
  }
  return [
    { argv: [systemd.systemdRun, ...unitArgs, `--unit=shared-interface-ifdown-${device}-${suffix}.service`, '--wait', '--', program, device], mustSucceed: false },
    stopIfupUnit,
  ];
}

function findProgram(name: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // not in this directory: try the next one
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: it is gone (a zombie of someone else's still counts as alive, briefly)
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Applying: the two shapes a (NIC, bridge) pair can have.

export interface SharedShape {
  readonly nic: string;
  readonly bridge: string;
  /** The NIC's MAC, pinned on the bridge. */
  readonly mac: string;
  readonly stp: boolean;
  /** Seconds. */
  readonly forwardDelay: number;
  /** What the bridge carries once shared. */
  readonly config: IpConfig;
}

export interface UnsharedShape {
  readonly nic: string;
  readonly bridge: string;
  /** What the NIC carries once unshared. */
  readonly config: IpConfig;
}

export interface LiveApplier {
  readonly name: string;
  /** Whether this applier can bring up a DHCP configuration. */
  canDhcp(): boolean;
  toShared(shape: SharedShape): Promise<void>;
  toUnshared(shape: UnsharedShape): Promise<void>;
}

async function ip(args: readonly string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 10_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || errorMessage(err)}`);
  }
}

function checkNames(...names: string[]): void {
  for (const n of names) if (!isInterfaceName(n)) throw new Error(`not an interface name: ${JSON.stringify(n)}`);
}


/** iproute2 and a DHCP client: what the system has when initscripts do not (Debian, containers). */
export class Iproute2Live implements LiveApplier {
  readonly name = 'iproute2';

  constructor(private readonly dhcp: DhcpClients) {}

  canDhcp(): boolean {
    return DhcpClients.available() !== undefined;
  }

  async toShared(s: SharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    if (!isMacAddress(s.mac)) throw new Error(`not a MAC address: ${s.mac}`);
    // The kernel counts forward_delay in centiseconds (USER_HZ).
    const bridgeArgs = ['type', 'bridge', 'stp_state', s.stp ? '1' : '0', 'forward_delay', String(s.forwardDelay * 100)];
    const state = await readIpState();
    const existing = linkInfo(state, s.bridge);
    if (existing === undefined) await ip(['link', 'add', 'name', s.bridge, 'address', s.mac, ...bridgeArgs]);
    else if (existing.kind === 'bridge') await ip(['link', 'set', 'dev', s.bridge, 'address', s.mac, ...bridgeArgs]);
    else throw new Error(`${s.bridge} exists and is not a bridge`);
    await ip(['link', 'set', 'dev', s.bridge, 'up']);
    await this.dhcp.stop(s.nic);
    await ip(['addr', 'flush', 'dev', s.nic, 'scope', 'global']);
    await ip(['link', 'set', 'dev', s.nic, 'master', s.bridge]);
    await ip(['link', 'set', 'dev', s.nic, 'up']);
    await this.configure(s.bridge, s.config);
  }

  async toUnshared(s: UnsharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    await this.dhcp.stop(s.bridge);
    const state = await readIpState();
    const bridge = linkInfo(state, s.bridge);
    if (bridge?.kind === 'bridge') await ip(['link', 'del', 'dev', s.bridge]);
    const nic = linkInfo(state, s.nic);
    if (nic === undefined) throw new Error(`${s.nic} does not exist`);
    if (nic.master !== undefined && nic.master !== s.bridge) throw new Error(`${s.nic} is a port of ${nic.master}, not of ${s.bridge}`);
    if (nic.master !== undefined && bridge?.kind !== 'bridge') await ip(['link', 'set', 'dev', s.nic, 'nomaster']);
    // Down and up: the kernel drops the port's IPv6 state and solicits a router at once, so an
    // autoconfigured address comes back without waiting for the next unsolicited advertisement.
    await ip(['link', 'set', 'dev', s.nic, 'down']);
    await ip(['link', 'set', 'dev', s.nic, 'up']);
    await this.configure(s.nic, s.config);
  }

  private async configure(device: string, config: IpConfig): Promise<void> {
    for (const address of config.addresses) await ip(['addr', 'replace', address, 'dev', device]);
    // Routes without a gateway first: a gateway must be reachable when its route is added.
    const ordered = [...config.routes].sort((a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined));
    for (const route of ordered) await ip(routeArgs(route, device));
    if (config.dhcp) await this.dhcp.start(device);
  }
}

/**
 * initscripts' own ifup/ifdown, which read the files we wrote (so the configuration is exactly what
 * a reboot would give). They read /etc/sysconfig/network-scripts only, hence only for that directory.
 */
export class InitscriptsLive implements LiveApplier {
  readonly name = 'initscripts';

  constructor(private readonly log: Log) {}

  static installed(ifcfgDir: string): boolean {
    try {
      return realpathSync(ifcfgDir) === STANDARD_IFCFG_DIR && existsSync(join(STANDARD_IFCFG_DIR, 'ifup-eth')) && findProgram('ifup') !== undefined && findProgram('ifdown') !== undefined;
    } catch {
      // the directory does not exist: no initscripts either
      return false;
    }
  }

  canDhcp(): boolean {
    return true;
  }

  async toShared(s: SharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    await this.script('ifdown', s.nic);
    await this.script('ifup', s.bridge);
    await this.script('ifup', s.nic);
  }

  async toUnshared(s: UnsharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    await this.script('ifdown', s.nic);
    await this.script('ifdown', s.bridge);
    // ifdown leaves the bridge device itself behind.
    if (linkInfo(await readIpState(), s.bridge)?.kind === 'bridge') await ip(['link', 'del', 'dev', s.bridge]);
    await this.script('ifup', s.nic);
  }

  private async script(command: 'ifup' | 'ifdown', device: string): Promise<void> {
    const program = findProgram(command) ?? command;
    for (const step of initscriptsSteps(command, device, program, underSystemd(), randomBytes(3).toString('hex'))) {
      const [file = program, ...args] = step.argv;
      try {
        await run(file, args, { timeout: 120_000 });
      } catch (err) {
        const detail = (err as { stderr?: string }).stderr?.trim() || errorMessage(err);
        if (step.mustSucceed) throw new Error(`${step.argv.join(' ')}: ${detail}`);
        this.log.info(`${step.argv.join(' ')}: ${detail}`);
      }
    }
  }
}

export function chooseLiveApplier(ifcfgDir: string, stateDir: string, log: Log): LiveApplier {
  return InitscriptsLive.installed(ifcfgDir) ? new InitscriptsLive(log) : new Iproute2Live(new DhcpClients(stateDir, log));
}
