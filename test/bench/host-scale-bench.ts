// SPDX-License-Identifier: GPL-2.0-or-later
// The benchmark's "links" part: a host with thousands of links (veth pairs, as a container host
// has, unmanaged as NetworkManager's udev rules leave them) and hundreds of profiles, against the
// same lab with its 3 links, side by side in one run: both labs are open at once and take turns at
// each measurement, so a busy moment of the machine falls on both. Share and Unshare of the DHCP
// NIC, the daemon's start, bus activation, ListInterfaces, the CLI's list against nmcli's, RSS;
// and, not timed, a Share checked as the 3-link test checks it, also while links come and go.
// BENCH_SCALE_QUICK=1 makes a smaller big lab (250 pairs, 50 profiles, 200 links of churn) for
// development; BENCH_SCALE_PAIRS, BENCH_SCALE_PROFILES and BENCH_SCALE_CHURN set each.
import { makeVariant } from '../../src/dbus-wire/bus-value';
import type { BusConnection } from '../../src/dbus-wire/bus-connection';
import { Lab, sleep, waitFor } from '../lab/lab';
import { INSTALLED, installIntoLab, ownerPid } from '../lab/lab-install';
import { ServiceClient } from '../lab/service-client';
import { linksComeAndGo, populate } from '../lab/lab-links';
import { checkedShareAndUnshare } from '../lab/share-check';

const QUICK = process.env['BENCH_SCALE_QUICK'] === '1';
/** Veth pairs of the big lab (2 links each). */
const PAIRS = Number(process.env['BENCH_SCALE_PAIRS'] ?? (QUICK ? 250 : 2500));
const PROFILES = Number(process.env['BENCH_SCALE_PROFILES'] ?? (QUICK ? 50 : 500));
/** Links made and deleted while a Share runs. */
const CHURN = Number(process.env['BENCH_SCALE_CHURN'] ?? (QUICK ? 200 : 1000));
const SHARES = Number(process.env['BENCH_SHARES'] ?? 7);
const CLI_RUNS = 3;
const LIST_CALLS = 200;
/** NetworkManager 1.42 takes its time to describe thousands of devices on a busy machine (docs/scale.md). */
const SLOW_MS = 300_000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** One lab, its links and profiles made, with the daemon `make install`ed into its overlay. */
interface Host {
  readonly lab: Lab;
  readonly bus: BusConnection;
  readonly client: ServiceClient;
  readonly links: number;
  readonly profiles: number;
}

async function openHost(pairs: number, profiles: number, log: (line: string) => void): Promise<Host> {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  try {
    await installIntoLab(lab, { IDLE_TIMEOUT: '1' });
    const setupMs = await timed(() => populate(lab, pairs, profiles));
    const links = Number((await lab.sh('ip -o link show | wc -l')).trim());
    // Keyfiles, not nmcli: at thousands of devices nmcli may give up and print nothing.
    const profileCount = Number((await lab.sh('ls /etc/NetworkManager/system-connections /run/NetworkManager/system-connections 2>/dev/null | grep -c nmconnection || true')).trim());
    log(`  ${links} links, ${profileCount} profiles: made and taken in by NetworkManager in ${(setupMs / 1000).toFixed(1)} s`);
    // "NetworkManager settled": nm-online returns long before NetworkManager has finished taking in
    // thousands of links, and its first GetManagedObjects then waits for that (minutes here).
    const settled: number[] = [];
    for (let i = 0; i < 2; i++) settled.push(await timed(() => lab.sh(`busctl --timeout=${SLOW_MS * 2 / 1000} call org.freedesktop.NetworkManager /org/freedesktop org.freedesktop.DBus.ObjectManager GetManagedObjects >/dev/null`, { timeoutMs: SLOW_MS * 2 })));
    log(`  NetworkManager's GetManagedObjects: ${settled.map(ms).join(', then ')}; its CPU time so far: ${(await lab.sh(`ps -o time= -p "$(cat ${lab.dir}/nm.pid)"`)).trim()}`);
    const bus = await lab.connect();
    return { lab, bus, client: new ServiceClient(bus), links, profiles: profileCount };
  } catch (err) {
    await lab.stop();
    throw err;
  }
}

async function closeHost(host: Host): Promise<void> {
  host.bus.close();
  await host.lab.stop();
}

/**
 * Bus activation of the installed daemon: busctl's call until the reply (NaN when the bus gave up
 * starting it: dbus-daemon's service_start_timeout, 25 s); then it exits when idle.
 */
async function activationMs(host: Host): Promise<number> {
  const { lab } = host;
  const result = await lab.exec(['bash', '-c', `s=$(date +%s%N); busctl --timeout=${SLOW_MS / 1000} call org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface ListInterfaces >/dev/null || exit; echo $(( ($(date +%s%N) - s) / 1000000 ))`], { timeoutMs: SLOW_MS + 30_000, allowFailure: true });
  // A daemon the bus gave up on still starts, and exits when idle (once it has read the whole
  // host, after its first answer): wait until it has left the bus, so the next start owns the name.
  await waitFor('the activated daemon to exit when idle', async () => ((await ownerPid(lab)) === undefined ? true : undefined), SLOW_MS);
  return result.code === 0 ? Number(result.stdout.trim()) : NaN;
}

/** The installed daemon started by hand: ms from its start to its name on the bus. */
async function ownsNameMs(host: Host): Promise<number> {
  const started = process.hrtime.bigint();
  const daemon = host.lab.spawn([INSTALLED.daemon, '--idle-timeout=0']);
  await daemon.waitForOutput(/ready on /, SLOW_MS * 2);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

interface Listing {
  readonly listed: number;
  readonly listedAll: number;
  readonly medianMs: number;
}

async function listing(host: Host): Promise<Listing> {
  const { client } = host;
  const listed = (await client.listInterfaces()).length;
  const [all] = await client.call('ListInterfacesFiltered', 'a{sv}', [{ all: makeVariant('b', true) }]);
  const times: number[] = [];
  for (let i = 0; i < 20; i++) await client.call('ListInterfaces');
  for (let i = 0; i < LIST_CALLS; i++) times.push(await timed(() => client.call('ListInterfaces')));
  return { listed, listedAll: Array.isArray(all) ? all.length : NaN, medianMs: median(times) };
}

/** The installed CLI's `list` and `nmcli -t dev`, taking turns, as a user runs them (bash's clock). */
async function cliAgainstNmcli(host: Host, log: (line: string) => void): Promise<{ readonly cliMs: number; readonly nmcliMs: number }> {
  const out = await host.lab.sh(`
    for i in $(seq 1 ${CLI_RUNS}); do
      s=\${EPOCHREALTIME/./}; ${INSTALLED.cli} list >/dev/null || echo "cli failed"; e=\${EPOCHREALTIME/./}; echo "cli $(( e - s ))"
      s=\${EPOCHREALTIME/./}; nmcli -t dev >/dev/null || echo "nmcli failed"; e=\${EPOCHREALTIME/./}; echo "nmcli $(( e - s ))"
    done`, { timeoutMs: 900_000 });
  const failures = out.match(/^\w+ failed$/gm);
  if (failures !== null) log(`  ${failures.join(', ')}`);
  const wall = (what: string) => median([...out.matchAll(new RegExp(`^${what} (\\d+)`, 'gm'))].map((m) => Number(m[1]) / 1000));
  return { cliMs: wall('cli'), nmcliMs: wall('nmcli') };
}

async function rssMb(host: Host): Promise<number> {
  // The owner's PID is the lab's (its own PID namespace): read its status there.
  const pid = await ownerPid(host.lab);
  return pid === undefined ? NaN : Number(/VmRSS:\s+(\d+)/.exec(await host.lab.sh(`cat /proc/${pid}/status`))?.[1] ?? NaN) / 1024;
}

/**
 * Again after a pause, as the hint says, while the last change of eth0 is still being finished
 * (Busy: at thousands of links NetworkManager takes seconds to destroy a checkpoint).
 */
async function afterBusy<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (tries >= 6 || !(err instanceof Error) || !err.message.includes('still being finished')) throw err;
      await sleep(5000);
    }
  }
}

const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');
const outcome = (problems: readonly string[]) => (problems.length === 0 ? 'as expected' : `not so: ${problems.join('; ')}`);
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : 'n/a');

/** The part's rows of the benchmark's table: the big lab against the small one. */
export async function hostScaleRows(log: (line: string) => void): Promise<string[]> {
  log(`links: the lab at 3 links`);
  const small = await openHost(0, 0, log);
  let big: Host | undefined;
  try {
    log(`links: the lab at ${PAIRS} veth pairs and ${PROFILES} profiles`);
    big = await openHost(PAIRS, PROFILES, log);
    const labs = [small, big] as const;
    const each = async <T>(measure: (host: Host) => Promise<T>): Promise<[T, T]> => [await measure(small), await measure(big ?? small)];

    await sleep(1500);
    const activation = await each(activationMs);
    await sleep(1500);
    const owns = await each(ownsNameMs);
    log(`  bus activation ${activation.map(ms).join(' / ')}, owns its name ${owns.map(ms).join(' / ')} (3 links / ${big.links} links)`);
    const lists = await each(listing);
    const cli = await cliAgainstNmcli(big, log);

    // Share and Unshare in turns: one of each in the small lab, then one in the big one.
    const shares: [number[], number[]] = [[], []];
    const unshares: [number[], number[]] = [[], []];
    for (let i = 0; i < SHARES + 1; i++) {
      for (const [at, host] of labs.entries()) {
        const s = await timed(() => host.client.share('eth0'));
        const u = await timed(() => host.client.unshare('eth0'));
        // The first of each daemon warms it up.
        if (i > 0) { shares[at]?.push(s); unshares[at]?.push(u); }
      }
    }
    log(`  Share ${shares.map((t) => t.map(Math.round).join(', ')).join(' / ')} ms; Unshare ${unshares.map((t) => t.map(Math.round).join(', ')).join(' / ')} ms (3 links / ${big.links} links)`);

    // Not timed: Share and Unshare checked as the 3-link test checks them (the lab test's check at
    // this size, too slow for CI), then again while CHURN links appear and vanish.
    const failed = (err: unknown) => [`failed: ${err instanceof Error ? err.message : String(err)}`];
    const host = big;
    const checked = await afterBusy(() => checkedShareAndUnshare(host.lab, host.client)).catch(failed);
    const churned = await afterBusy(() => checkedShareAndUnshare(host.lab, host.client, () => linksComeAndGo(host.lab, CHURN))).catch(failed);
    await host.client.unshare('eth0').catch(() => undefined);
    const rss = await each(rssMb);

    const [smallShare, bigShare] = shares.map(median) as [number, number];
    const [smallUnshare, bigUnshare] = unshares.map(median) as [number, number];
    const cliRatio = cli.cliMs / cli.nmcliMs;
    const at = `at ${big.links} links / ${big.profiles} profiles`;
    const [smallList, bigList] = lists;
    return [
      `| Share of the DHCP NIC ${at} / at ${small.links} links (median of ${SHARES}, the labs taking turns) | ${ms(bigShare)} / ${ms(smallShare)} = ${(bigShare / smallShare).toFixed(2)} | ≤ 1.3 | ${verdict(bigShare / smallShare <= 1.3)} |`,
      `| Unshare ${at} / at ${small.links} links | ${ms(bigUnshare)} / ${ms(smallUnshare)} = ${(bigUnshare / smallUnshare).toFixed(2)} | ≤ 1.3 | ${verdict(bigUnshare / smallUnshare <= 1.3)} |`,
      `| daemon owns its name after its start, NetworkManager settled, ${at} (at ${small.links}: ${ms(owns[0])}) | ${ms(owns[1])} | ≤ 1 s | ${verdict(owns[1] <= 1000)} |`,
      `| bus-activated first call (ListInterfaces) ${at} (at ${small.links}: ${ms(activation[0])}) | ${Number.isNaN(activation[1]) ? 'no answer: the bus gave up starting it (25 s)' : ms(activation[1])} | ≤ 2 s | ${verdict(activation[1] <= 2000)} |`,
      `| ListInterfaces median of ${LIST_CALLS} ${at}: ${bigList.listed} listed of ${bigList.listedAll} (at ${small.links}: ${smallList.medianMs.toFixed(2)} ms) | ${bigList.medianMs.toFixed(2)} ms | ≤ 10 ms | ${verdict(bigList.medianMs <= 10)} |`,
      `| \`shared-interface list\` / \`nmcli -t dev\` ${at} (median of ${CLI_RUNS}, in turns) | ${ms(cli.cliMs)} / ${ms(cli.nmcliMs)} = ${cliRatio.toFixed(2)} | ≤ 0.3 | ${verdict(cliRatio <= 0.3)} |`,
      `| daemon RSS ${at} (at ${small.links}: ${rss[0].toFixed(1)} MB) | ${rss[1].toFixed(1)} MB | ≤ 80 MB | ${verdict(rss[1] <= 80)} |`,
      `| Share and Unshare of the DHCP NIC ${at}, checked as the 3-link test checks them (port, MAC, lease, default route, gateway, Shared, eth0 as it was) | ${outcome(checked)} | as expected | ${verdict(checked.length === 0)} |`,
      `| the same while ${CHURN} links appear and vanish ${at} | ${outcome(churned)} | as expected | ${verdict(churned.length === 0)} |`,
    ];
  } finally {
    if (big !== undefined) await closeHost(big);
    await closeHost(small);
  }
}
