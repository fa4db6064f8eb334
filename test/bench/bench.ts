// SPDX-License-Identifier: GPL-2.0-or-later
// `npm run bench`: speed and memory, measured in sealed labs (never by a timed test). Prints every
// figure with its target and MET / NOT MET, side by side in one run:
//  1. The switch, each kind repeated BENCH_RUNS times in a fresh lab while a LAN host pings the
//     host every 16 ms: Share through our daemon and the same by hand with nmcli, for a DHCP NIC
//     with IPv6, an IPv4-only DHCP NIC and a static NIC: when the bridge carries the IPv4 address
//     (and the EUI-64 IPv6 one), when the call returns, which pings were lost.
//  2. At scale (132 NICs, 301 profiles): ListInterfaces' latency, the daemon's RSS, the CLI's
//     `list` as `make install` installs it (the bundle behind /usr/bin/shared-interface) against
//     `nmcli -t dev`, taking turns, then BENCH_LIST_CALLS ListInterfaces calls and BENCH_CYCLES
//     Share/Unshare cycles: RSS, open fds and bus match rules at the end against the start.
//  3. Share's time with 1, 100 and 300 profiles (static NIC).
//  4. Bus activation → first reply of the daemon as `make install` installs it.
//  5. The flood (test/lab/reading-flood.ts): uid 65534 with 16 connections × 8 GetInterfaceXML in
//     flight; ListInterfaces' p95 and root's Share under it against quiet.
//  6. Recovery: a change interrupted by a crash or NetworkManager's restart, undone (recovery-bench.ts).
//  7. A host with thousands of links (BENCH_SCALE_PAIRS veth pairs, BENCH_SCALE_PROFILES profiles)
//     against the same lab at 3 links (host-scale-bench.ts).
//  8. A QEMU guest's time to lease, bridged against routed sharing (lease-time-bench.ts;
//     BENCH_LEASE_RUNS).
// Quick mode: BENCH_RUNS=1 BENCH_LIST_CALLS=1000 BENCH_CYCLES=10 BENCH_SHARES=3; BENCH_ONLY=switch,
// scale,profiles,activation,flood,recovery,links,lease runs only those parts, BENCH_KINDS=ours-static,… only those switches.
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Lab, sleep, waitFor, type LabOptions } from '../lab/lab';
import { INSTALLED, installIntoLab, ownerPid } from '../lab/lab-install';
import { ServiceClient } from '../lab/service-client';
import { recoveryTimes } from './recovery-bench';
import { RECOVERY_VERIFY_MS } from '../../src/settings/nm/nm-recovery';
import type { BusConnection } from '../../src/dbus-wire/bus-connection';
import { describeFlood, measureFlood } from '../lab/reading-flood';
import { hostScaleRows } from './host-scale-bench';
import { leaseTimeRows } from './lease-time-bench';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const LIST_CALLS = Number(process.env['BENCH_LIST_CALLS'] ?? 10_000);
const CYCLES = Number(process.env['BENCH_CYCLES'] ?? 200);
const SHARES = Number(process.env['BENCH_SHARES'] ?? 7);
const ONLY = new Set((process.env['BENCH_ONLY'] ?? 'switch,scale,profiles,activation,flood,recovery,links,lease').split(','));
/** BENCH_KINDS=ours-static,nmcli: only those switches (the table then has gaps). */
const KINDS = process.env['BENCH_KINDS'] === undefined ? undefined : new Set(process.env['BENCH_KINDS'].split(','));
const PING_INTERVAL_MS = 16;
/** The lab's eth0 MAC is 52:54:00:12:34:56 and the LAN advertises 2001:db8::/64. */
const EUI64_ADDRESS = '2001:db8::5054:ff:fe12:3456/64';
/**
 * RSS may differ this much between the start and the end of the leak checks: with the daemon's
 * V8 flags its old generation grows by ~6 MB between collections (RSS every 5000 ListInterfaces
 * calls, 3 s apart: 48.6, 51.7, 54.6, 50.1, 53.0 MB), so a leak shows as more than that.
 */
const RSS_TOLERANCE_MB = 8;
/** Share is "flat" when its median with 300 profiles is at most this times the median with 1. */
const FLAT_FACTOR = 1.2;

interface SwitchResult {
  readonly ipAfterMs: number;
  readonly ip6AfterMs: number | undefined;
  readonly callMs: number;
  readonly lost: number;
  readonly sent: number;
  /** What happened around each lost ping (for the static NIC's investigation). */
  readonly lostAt: readonly string[];
}

const BUSCTL_SHARE = 'busctl --timeout=120 call org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface Share "sa{sv}" eth0 1 bridge s br0 >/dev/null';

/** Share by hand: a bridge with the NIC's MAC, STP off and the NIC profile's IP methods, a port, up. */
function nmcliShare(ipv6: 'auto' | 'disabled'): string {
  return [
    `nmcli connection add type bridge ifname br0 con-name br0 bridge.stp no ipv4.method auto ${ipv6 === 'auto' ? 'ipv6.method auto ipv6.addr-gen-mode eui64' : 'ipv6.method disabled'} ethernet.cloned-mac-address 52:54:00:12:34:56 >/dev/null`,
    'nmcli connection add type ethernet ifname eth0 con-name br0-port master br0 slave-type bridge >/dev/null',
    'nmcli connection up br0-port >/dev/null',
  ].join(' && ');
}

/**
 * Runs `command` in the lab while the LAN pings the host; times the IPv4 address's (and with
 * `ipv6`, the EUI-64 address's) arrival on br0 and the command's return. Kernel events (`ip
 * monitor`) are kept, to say what happened when a ping was lost.
 */
async function measureSwitch(lab: Lab, command: string, ipv6: boolean): Promise<SwitchResult> {
  const out = await lab.sh(`
    host=$(ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
    want6=${ipv6 ? EUI64_ADDRESS : ''}
    ip -ts -o monitor link address route >/tmp/monitor.log 2>&1 & monitor=$!
    ip netns exec lan ping -n -D -i ${PING_INTERVAL_MS / 1000} "$host" >/tmp/ping.log 2>&1 & pinger=$!
    sleep 1
    start=$(date +%s%N)
    ( ${command}; echo "call $(( ($(date +%s%N) - start) / 1000000 ))" >/tmp/call.log ) &
    caller=$!
    ip4=; ip6=
    while :; do
      a=$(ip -o addr show dev br0 2>/dev/null || true)
      now=$(( ($(date +%s%N) - start) / 1000000 ))
      [ -n "$ip4" ] || case "$a" in *" $host/"*) ip4=$now; echo "ip $now" ;; esac
      [ -z "$want6" ] || [ -n "$ip6" ] || case "$a" in *" $want6 "*) ip6=$now; echo "ip6 $now" ;; esac
      [ -n "$ip4" ] && { [ -z "$want6" ] || [ -n "$ip6" ]; } && break
      [ "$now" -lt 60000 ] || { echo "no address on br0 after 60 s: $a" >&2; exit 1; }
      sleep 0.005
    done
    wait $caller
    cat /tmp/call.log
    sleep 2
    kill -INT $pinger; wait $pinger || true
    kill $monitor
    echo "start $start"
    sed 's/^/ping: /' /tmp/ping.log
    sed 's/^/monitor: /' /tmp/monitor.log
  `, { timeoutMs: 120_000 });
  const ip = /^ip (\d+)/m.exec(out);
  const ip6 = /^ip6 (\d+)/m.exec(out);
  const call = /^call (\d+)/m.exec(out);
  const start = /^start (\d+)/m.exec(out);
  const ping = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!ip || !call || !ping || !start) throw new Error(`unexpected measurement output:\n${out}`);
  return {
    ipAfterMs: Number(ip[1]), ip6AfterMs: ip6 ? Number(ip6[1]) : undefined, callMs: Number(call[1]),
    sent: Number(ping[1]), lost: Number(ping[1]) - Number(ping[2]), lostAt: lostPings(out, BigInt(start[1] ?? '0')),
  };
}

/**
 * Each lost ping: when it was sent (from its neighbours' replies, ms after the call started)
 * and the kernel's events within 40 ms of it.
 */
function lostPings(out: string, startNs: bigint): string[] {
  const replies = new Map<number, number>();
  for (const m of out.matchAll(/^ping: \[(\d+)\.(\d+)\] .*icmp_seq=(\d+) /gm)) {
    replies.set(Number(m[3]), Number((BigInt(m[1] ?? '0') * 1_000_000_000n + BigInt((m[2] ?? '0').padEnd(9, '0')) - startNs) / 1_000_000n));
  }
  const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? 0);
  const events: Array<{ ms: number; line: string }> = [];
  // `ip -ts` prefixes each event with [YYYY-MM-DDThh:mm:ss.µs].
  for (const m of out.matchAll(/^monitor: \[\d{4}-\d\d-\d\dT(\d+):(\d+):(\d+)\.(\d+)[^\]]*\] (.*)$/gm)) {
    const [h, min, s, frac, line] = [m[1], m[2], m[3], m[4], m[5]];
    if (h === undefined || line === undefined) continue;
    // ip -ts prints local wall-clock time; the lab's clock is the host's.
    const d = new Date();
    d.setHours(Number(h), Number(min), Number(s), 0);
    const ns = BigInt(d.getTime()) * 1_000_000n + BigInt((frac ?? '0').padEnd(9, '0').slice(0, 9));
    events.push({ ms: Number((ns - startNs) / 1_000_000n), line: line.replace(/\s+/g, ' ').slice(0, 110) });
  }
  if (process.env['BENCH_TRACE'] === '1') for (const e of events) console.error(`      trace ${e.ms} ms: ${e.line}`);
  const lost: string[] = [];
  for (let seq = 1; seq <= sent; seq++) {
    if (replies.has(seq)) continue;
    // Sent one interval after the one before it, from the last ping that was answered.
    let prior = seq - 1;
    while (prior > 0 && !replies.has(prior)) prior--;
    const answered = replies.get(prior);
    const at = answered === undefined ? undefined : answered + (seq - prior) * PING_INTERVAL_MS;
    const near = at === undefined ? [] : events.filter((e) => Math.abs(e.ms - at) <= 40).map((e) => `      ${e.ms} ms: ${e.line}`);
    lost.push([`    icmp_seq=${seq} sent at ~${at ?? '?'} ms`, ...near].join('\n'));
  }
  return lost;
}

type SwitchKind = 'ours' | 'nmcli' | 'ours-v4' | 'nmcli-v4' | 'ours-static';
const SWITCH_KINDS: Readonly<Record<SwitchKind, { lab: LabOptions; command: string; ipv6: boolean }>> = {
  ours: { lab: {}, command: BUSCTL_SHARE, ipv6: true },
  nmcli: { lab: {}, command: nmcliShare('auto'), ipv6: true },
  'ours-v4': { lab: { nicProfile: 'dhcp4' }, command: BUSCTL_SHARE, ipv6: false },
  'nmcli-v4': { lab: { nicProfile: 'dhcp4' }, command: nmcliShare('disabled'), ipv6: false },
  'ours-static': { lab: { nicProfile: 'static' }, command: BUSCTL_SHARE, ipv6: false },
};

async function oneSwitch(kind: SwitchKind): Promise<SwitchResult> {
  const { lab: options, command, ipv6 } = SWITCH_KINDS[kind];
  const lab = await Lab.start(options);
  try {
    if (kind.startsWith('ours')) await lab.startDaemon();
    return await measureSwitch(lab, command, ipv6);
  } finally {
    await lab.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** `count` keyfile profiles for devices that don't exist, loaded in one reload. */
async function addProfiles(lab: Lab, count: number, device: (i: string) => string = (i) => `nx${i}`): Promise<void> {
  if (count <= 0) return;
  await lab.sh(`
    for i in $(seq 1 ${count}); do
      printf '[connection]\\nid=profile-%s\\nuuid=%s\\ntype=ethernet\\ninterface-name=%s\\nautoconnect=false\\n\\n[ipv4]\\nmethod=auto\\n\\n[ipv6]\\nmethod=auto\\n' \\
        $i "$(cat /proc/sys/kernel/random/uuid)" "${device('$i')}" >/etc/NetworkManager/system-connections/profile-$i.nmconnection
    done
    chmod 600 /etc/NetworkManager/system-connections/*.nmconnection
    nmcli connection reload
  `, { timeoutMs: 120_000 });
}

async function profileCount(lab: Lab): Promise<number> {
  return Number((await lab.sh('nmcli -t -f UUID connection show | wc -l')).trim());
}

interface Footprint { readonly rssMb: number; readonly fds: number; readonly matchRules: number | undefined }

/** The daemon's RSS, open fds and the match rules its bus connection holds (the bus driver's count). */
async function footprint(lab: Lab, pid: number): Promise<Footprint> {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  // dbus-daemon's Debug.Stats interface, when it was built with it: MatchRules of our name.
  const stats = await lab.exec(['busctl', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Debug.Stats',
    'GetConnectionStats', 's', 'org.fedoraproject.SharedInterface'], { allowFailure: true });
  const rules = /"MatchRules" u (\d+)/.exec(stats.stdout);
  return { rssMb: rssKb / 1024, fds, matchRules: rules ? Number(rules[1]) : undefined };
}

interface ScaleResult {
  readonly devices: number;
  readonly profiles: number;
  readonly listMedianMs: number;
  readonly listP95Ms: number;
  readonly rssMb: number;
  readonly cliMs: number;
  readonly nmcliMs: number;
  /** The CLI run from the checkout (bin/, tsc's output unbundled), for comparison. */
  readonly checkoutCliMs: number;
  readonly listLeak: { before: Footprint; after: Footprint };
  /** RSS (MB) at each fifth of the ListInterfaces calls. */
  readonly listRss: readonly number[];
  readonly cycleLeak: { before: Footprint; after: Footprint };
  readonly cycleShareMs: number;
}

async function scale(): Promise<ScaleResult> {
  // A static NIC (its profile, and lo's, make 301 with 299 more), 65 veth pairs: 132 interfaces.
  const lab = await Lab.start({ nicProfile: 'static', overlay: true });
  const bus = await lab.connect();
  try {
    // The CLI a user runs: /usr/bin/shared-interface, as the package installs it.
    await installIntoLab(lab);
    await lab.sh('for i in $(seq 1 65); do ip link add vb$i type veth peer name vc$i; done');
    await addProfiles(lab, 299, (i) => `vb$(( ${i} % 65 + 1 ))`);
    const daemon = await lab.startDaemon();
    const pid = daemon.pid();
    const client = new ServiceClient(bus);
    const profiles = await profileCount(lab);
    let devices = 0;
    for (let i = 0; i < 20; i++) devices = (await client.listInterfaces()).length; // warm-up
    const times: number[] = [];
    for (let i = 0; i < 200; i++) times.push(await timed(() => client.call('ListInterfaces')));
    const { rssMb } = await footprint(lab, pid);

    // The CLI as a user runs it against nmcli listing the same devices, and the checkout's CLI,
    // taking turns CLI_RUNS times (after one run each), so a change of the machine's load falls
    // on all alike.
    const [cliMs = NaN, nmcliMs = NaN, checkoutCliMs = NaN] = await wallTimes(lab, [`${INSTALLED.cli} list`, 'nmcli -t dev', `${REPO_BIN}/shared-interface list`]);

    // Leaks: many calls, then a pause for V8 to settle, then the same figures again.
    for (let i = 0; i < Math.min(2000, LIST_CALLS); i++) await client.call('ListInterfaces');
    await sleep(5000);
    const listBefore = await footprint(lab, pid);
    // RSS along the way too: a leak climbs, V8's heap saws up and down.
    const listRss: number[] = [];
    for (let i = 1; i <= LIST_CALLS; i++) {
      await client.call('ListInterfaces');
      if (i % Math.ceil(LIST_CALLS / 5) === 0 && i < LIST_CALLS) {
        await sleep(1000);
        listRss.push((await footprint(lab, pid)).rssMb);
      }
    }
    await sleep(5000);
    const listAfter = await footprint(lab, pid);

    const shareTimes: number[] = [];
    const cycle = async () => {
      shareTimes.push(await timed(() => client.share('eth0', {})));
      await client.unshare('eth0');
    };
    await cycle();
    await sleep(5000);
    const cycleBefore = await footprint(lab, pid);
    for (let i = 0; i < CYCLES; i++) {
      await cycle();
      if ((i + 1) % 50 === 0) console.error(`  ${i + 1}/${CYCLES} Share/Unshare cycles`);
    }
    await sleep(5000);
    const cycleAfter = await footprint(lab, pid);
    return {
      devices, profiles, listMedianMs: median(times), listP95Ms: percentile(times, 95), rssMb, cliMs, nmcliMs, checkoutCliMs,
      listLeak: { before: listBefore, after: listAfter }, listRss, cycleLeak: { before: cycleBefore, after: cycleAfter },
      cycleShareMs: median(shareTimes),
    };
  } finally {
    bus.close();
    await lab.stop();
  }
}

const REPO_BIN = `${__dirname}/../../../bin`;
const CLI_RUNS = 11;

/**
 * Median wall times (ms) of each command (stdout to /dev/null), run in turns inside the lab. The
 * clock is bash's $EPOCHREALTIME (µs): a `date` process to read it would add its own ~2 ms to each.
 */
async function wallTimes(lab: Lab, commands: readonly string[]): Promise<number[]> {
  const out = await lab.sh(`
    ${commands.map((c) => `${c} >/dev/null`).join('; ')}
    for i in $(seq 1 ${CLI_RUNS}); do
      ${commands.map((c, j) => `s=\${EPOCHREALTIME/./}; ${c} >/dev/null; e=\${EPOCHREALTIME/./}; echo ${j} $(( e - s ))`).join('\n      ')}
    done`);
  const times = commands.map(() => [] as number[]);
  for (const line of out.trim().split('\n')) {
    const [j, us] = line.split(' ').map(Number);
    times[j ?? -1]?.push((us ?? NaN) / 1000);
  }
  return times.map(median);
}

/**
 * Share's median time (Share, then Unshare, SHARES times) for a static NIC among `counts`
 * profiles: one lab per count, all open at once and taking turns, so a change of the machine's
 * load during the measurement falls on every count alike.
 */
async function shareWithProfiles(counts: readonly number[]): Promise<Array<{ profiles: number; medianMs: number }>> {
  const labs: Array<{ lab: Lab; bus: BusConnection; client: ServiceClient; times: number[] }> = [];
  try {
    for (const count of counts) {
      const lab = await Lab.start({ nicProfile: 'static' });
      const bus = await lab.connect();
      labs.push({ lab, bus, client: new ServiceClient(bus), times: [] });
      // eth0's own profile and lo's count too.
      await addProfiles(lab, count - (await profileCount(lab)));
      await lab.startDaemon();
    }
    for (let i = 0; i < SHARES + 1; i++) {
      for (const l of labs) {
        const ms = await timed(() => l.client.share('eth0', {}));
        if (i > 0) l.times.push(ms); // the first Share of a daemon warms it up
        await l.client.unshare('eth0');
      }
    }
    return await Promise.all(labs.map(async (l) => ({ profiles: await profileCount(l.lab), medianMs: median(l.times) })));
  } finally {
    for (const l of labs) {
      l.bus.close();
      await l.lab.stop();
    }
  }
}

/**
 * The installed daemon (make install into an overlay), activated by the bus: from busctl's start
 * to its reply, inside the lab. Then again RUNS-1 times after the daemon's idle exit.
 */
async function activation(): Promise<number[]> {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false, nicProfile: 'none' });
  try {
    await installIntoLab(lab, { IDLE_TIMEOUT: '1' });
    const times: number[] = [];
    for (let i = 0; i < Math.max(1, RUNS); i++) {
      await waitFor('the daemon to exit when idle', async () => ((await ownerPid(lab)) === undefined ? true : undefined), 30_000);
      // The process may still be going after it released its name: let it go, not compete.
      await sleep(1500);
      const out = await lab.sh(`s=$(date +%s%N); busctl call org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface ListInterfaces >/dev/null; echo $(( ($(date +%s%N) - s) / 1000 ))`);
      times.push(Number(out.trim()) / 1000);
    }
    return times;
  } finally {
    await lab.stop();
  }
}

const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : 'n/a');

function footprintLine(what: string, leak: { before: Footprint; after: Footprint }): string {
  const { before, after } = leak;
  const rules = before.matchRules === undefined || after.matchRules === undefined
    ? 'match rules: n/a (the bus has no Debug.Stats)'
    : `match rules ${before.matchRules} → ${after.matchRules}`;
  const met = after.fds === before.fds && after.matchRules === before.matchRules && after.rssMb - before.rssMb <= RSS_TOLERANCE_MB;
  return `| ${what}: RSS ${before.rssMb.toFixed(1)} → ${after.rssMb.toFixed(1)} MB, fds ${before.fds} → ${after.fds}, ${rules} | no leak: fds and match rules equal, RSS within +${RSS_TOLERANCE_MB} MB | ${verdict(met)} |`;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = loadavg()[0] ?? NaN;
  const rows: string[] = [];
  const notes: string[] = [];

  if (ONLY.has('switch')) {
    const results = new Map<SwitchKind, SwitchResult[]>();
    for (let i = 0; i < RUNS; i++) {
      for (const kind of (Object.keys(SWITCH_KINDS) as SwitchKind[]).filter((k) => KINDS === undefined || KINDS.has(k))) {
        const r = await oneSwitch(kind);
        results.set(kind, [...results.get(kind) ?? [], r]);
        console.error(`run ${i + 1}/${RUNS} ${kind}: IPv4 on br0 after ${r.ipAfterMs} ms${r.ip6AfterMs === undefined ? '' : `, EUI-64 IPv6 after ${r.ip6AfterMs} ms`}, call ${r.callMs} ms, ${r.lost}/${r.sent} pings lost`);
        for (const l of r.lostAt) console.error(l);
      }
    }
    const of = (kind: SwitchKind, f: (r: SwitchResult) => number | undefined) =>
      median((results.get(kind) ?? []).map(f).filter((v): v is number => v !== undefined));
    const ip = (k: SwitchKind) => of(k, (r) => r.ipAfterMs);
    const call = (k: SwitchKind) => of(k, (r) => r.callMs);
    const lost = (k: SwitchKind) => (results.get(k) ?? []).map((r) => r.lost);
    const ipRatio = ip('ours') / ip('nmcli');
    const v4Ratio = call('ours-v4') / ip('nmcli-v4');
    const v6Ratio = call('ours') / ip('nmcli');
    const staticLost = Math.max(...lost('ours-static'));
    rows.push(
      `| time until the bridge carries the IP, ours / nmcli by hand | ${ms(ip('ours'))} / ${ms(ip('nmcli'))} = ${ipRatio.toFixed(2)} | ≤ 1.0 | ${verdict(ipRatio <= 1)} |`,
      `| Share call returns, IPv4-only DHCP NIC, ours / nmcli's time to IP | ${ms(call('ours-v4'))} / ${ms(ip('nmcli-v4'))} = ${v4Ratio.toFixed(2)} | ≤ 1.2 | ${verdict(v4Ratio <= 1.2)} |`,
      `| Share call returns, DHCP NIC with IPv6, ours / nmcli's time to IP | ${ms(call('ours'))} / ${ms(ip('nmcli'))} = ${v6Ratio.toFixed(2)} (nmcli's own bridge has its EUI-64 IPv6 address back after ${ms(of('nmcli', (r) => r.ip6AfterMs))}, so ours / that = ${(call('ours') / of('nmcli', (r) => r.ip6AfterMs)).toFixed(2)}; ours has it after ${ms(of('ours', (r) => r.ip6AfterMs))}) | ≤ 1.5 | ${verdict(v6Ratio <= 1.5)} |`,
      `| Share call returns, static NIC | ${ms(call('ours-static'))} | ≤ 300 ms | ${verdict(call('ours-static') <= 300)} |`,
      `| pings lost at ${PING_INTERVAL_MS} ms, static NIC, worst run (each run: ${lost('ours-static').join(', ')}) | ${staticLost} | 0 | ${verdict(staticLost === 0)} |`,
    );
    notes.push(`Pings lost at ${PING_INTERVAL_MS} ms, each run: DHCP with IPv6 ours ${lost('ours').join(', ')}, nmcli ${lost('nmcli').join(', ')}; IPv4-only ours ${lost('ours-v4').join(', ')}, nmcli ${lost('nmcli-v4').join(', ')}.`);
  }

  if (ONLY.has('scale')) {
    const s = await scale();
    const cliRatio = s.cliMs / s.nmcliMs;
    rows.push(
      `| ListInterfaces at ${s.devices} NICs / ${s.profiles} profiles, median (p95) | ${s.listMedianMs.toFixed(2)} ms (p95 ${s.listP95Ms.toFixed(2)} ms) | ≤ 3 ms | ${verdict(s.listMedianMs <= 3)} |`,
      `| daemon RSS after that | ${s.rssMb.toFixed(1)} MB | ≤ 55 MB | ${verdict(s.rssMb <= 55)} |`,
      `| \`shared-interface list\` (installed) / \`nmcli -t dev\` at ${s.devices} devices, wall time (median of ${CLI_RUNS}, in turns) | ${ms(s.cliMs)} / ${ms(s.nmcliMs)} = ${cliRatio.toFixed(2)} | ≤ 0.5 | ${verdict(cliRatio <= 0.5)} |`,
      footprintLine(`${LIST_CALLS} ListInterfaces calls`, s.listLeak),
      footprintLine(`${CYCLES} Share/Unshare cycles (static NIC)`, s.cycleLeak),
    );
    notes.push(`RSS during the ${LIST_CALLS} ListInterfaces calls, at each fifth: ${[s.listLeak.before.rssMb, ...s.listRss, s.listLeak.after.rssMb].map((r) => r.toFixed(1)).join(', ')} MB.`);
    notes.push(`\`shared-interface list\` run from the checkout (bin/, tsc's output unbundled) in the same turns: ${ms(s.checkoutCliMs)} (${(s.checkoutCliMs / s.nmcliMs).toFixed(2)} × nmcli).`);
    notes.push(`Share of the static NIC at ${s.devices} NICs / ${s.profiles} profiles: median ${ms(s.cycleShareMs)} over the cycles.`);
  }

  if (ONLY.has('profiles')) {
    const byCount = await shareWithProfiles([1, 100, 300]);
    const [one, , many] = byCount;
    const factor = (many?.medianMs ?? NaN) / (one?.medianMs ?? NaN);
    rows.push(`| Share time (static NIC, median of ${SHARES}, after one to warm up; the labs take turns) with ${byCount.map((b) => `${b.profiles}`).join(' / ')} profiles (the fewest: the NIC's own and NM's lo) | ${byCount.map((b) => ms(b.medianMs)).join(' / ')} (×${factor.toFixed(2)}) | flat: ${many?.profiles ?? 300}-profile median ≤ ${FLAT_FACTOR} × 1-profile median | ${verdict(factor <= FLAT_FACTOR)} |`);
  }

  if (ONLY.has('activation')) {
    const times = await activation();
    rows.push(`| bus activation → first reply, installed daemon (median of ${times.length}: ${times.map((t) => Math.round(t)).join(', ')} ms) | ${ms(median(times))} | ≤ 300 ms | ${verdict(median(times) <= 300)} |`);
  }

  if (ONLY.has('recovery')) {
    const runs: Array<Awaited<ReturnType<typeof recoveryTimes>>> = [];
    for (let i = 0; i < Math.max(1, RUNS); i++) runs.push(await recoveryTimes());
    const crash = runs.map((r) => r.afterCrashMs);
    const restart = runs.map((r) => r.afterNmRestartMs);
    const worst = Math.max(...crash, ...restart);
    rows.push(`| recovery: daemon SIGKILLed + NetworkManager restarted in a confirm window, daemon start → eth0 restored / NetworkManager restarted mid-Share, back → restored (median of ${runs.length}: ${crash.join(', ')} / ${restart.join(', ')} ms) | ${ms(median(crash))} / ${ms(median(restart))} | ≤ ${RECOVERY_VERIFY_MS / 1000} s (the verification's bound) | ${verdict(worst <= RECOVERY_VERIFY_MS)} |`);
  }

  if (ONLY.has('flood')) {
    const f = await measureFlood({ shares: SHARES });
    const shareRatio = f.flood.shareMs / f.quiet.shareMs;
    rows.push(
      `| ListInterfaces p95 while uid 65534 floods GetInterfaceXML (16 connections × 8 in flight); quiet p95 ${f.quiet.listP95Ms.toFixed(2)} ms | ${f.flood.listP95Ms.toFixed(2)} ms | ≤ 20 ms | ${verdict(f.flood.listP95Ms <= 20)} |`,
      `| root's Share (static NIC, median of ${SHARES}) under that flood / quiet | ${ms(f.flood.shareMs)} / ${ms(f.quiet.shareMs)} = ${shareRatio.toFixed(2)} | ≤ 1.5 | ${verdict(shareRatio <= 1.5)} |`,
    );
    notes.push(...describeFlood(f));
  }

  if (ONLY.has('links')) rows.push(...await hostScaleRows((line) => console.error(line)));
  if (ONLY.has('lease')) rows.push(...await leaseTimeRows((line) => console.error(line)));

  const minutes = (Date.now() - startedAt.getTime()) / 60_000;
  console.log(`Benchmark of ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: ${RUNS} runs of each switch, load average ${load.toFixed(2)} at the start and ${(loadavg()[0] ?? NaN).toFixed(2)} at the end, ${minutes.toFixed(1)} min

| figure | measured | target | |
| --- | --- | --- | --- |
${rows.join('\n')}

${notes.map((n) => `- ${n}`).join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
