// SPDX-License-Identifier: GPL-2.0-or-later
// The benchmark's "links" part: a host with thousands of links (veth pairs, as a container host
// has, unmanaged as NetworkManager's udev rules leave them) and hundreds of profiles, against the
// same lab with its 3 links, side by side in one run: Share and Unshare of the DHCP NIC, the
// daemon's start, bus activation, ListInterfaces, the CLI's list against nmcli's, RSS, and a Share
// while links come and go.
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { Lab, sleep, waitFor } from '../lab/lab';
import { INSTALLED, installIntoLab, ownerPid } from '../lab/lab-install';
import { ServiceClient } from '../lab/service-client';
import { linksComeAndGo, populate } from '../lab/lab-links';

/** Veth pairs of the big lab (2 links each). */
const PAIRS = Number(process.env['BENCH_SCALE_PAIRS'] ?? 2500);
const PROFILES = Number(process.env['BENCH_SCALE_PROFILES'] ?? 500);
/** Links made and deleted while a Share runs. */
const CHURN = Number(process.env['BENCH_SCALE_CHURN'] ?? 1000);
const SHARES = Number(process.env['BENCH_SHARES'] ?? 7);
const CLI_RUNS = 3;

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

export interface HostScaleResult {
  readonly links: number;
  readonly profiles: number;
  /** ms from the daemon's start to its name on the bus. */
  readonly ownsNameMs: number;
  /** ms from busctl's call to the bus-activated daemon's reply. */
  readonly activationMs: number;
  readonly listMedianMs: number;
  readonly listed: number;
  readonly listedAll: number;
  readonly cliMs: number;
  readonly nmcliMs: number;
  readonly rssMb: number;
  readonly shareMs: number;
  readonly unshareMs: number;
  /** The Share while links appeared and vanished: how it ended. */
  readonly churnShare: string;
}

/** One lab of `pairs` veth pairs and `profiles` more profiles, measured. */
export async function measureHost(pairs: number, profiles: number, log: (line: string) => void): Promise<HostScaleResult> {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  const bus = await lab.connect();
  try {
    await installIntoLab(lab, { IDLE_TIMEOUT: '1' });
    const setupMs = await timed(() => populate(lab, pairs, profiles));
    const links = Number((await lab.sh('ip -o link show | wc -l')).trim());
    const profileCount = Number((await lab.sh('nmcli -t -f UUID connection show | wc -l')).trim());
    log(`  ${links} links, ${profileCount} profiles: made and taken in by NetworkManager in ${(setupMs / 1000).toFixed(1)} s`);

    // Bus activation of the installed daemon: busctl's call until the reply.
    const activationMs = Number((await lab.sh(`s=$(date +%s%N); busctl --timeout=120 call org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface ListInterfaces >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 ))`, { timeoutMs: 150_000 })).trim());
    await waitFor('the activated daemon to exit when idle', async () => ((await ownerPid(lab)) === undefined ? true : undefined), 120_000);
    await sleep(1500);

    const started = process.hrtime.bigint();
    const daemon = lab.spawn([INSTALLED.daemon, '--idle-timeout=0']);
    await daemon.waitForOutput(/ready on /, 120_000);
    const ownsNameMs = Number(process.hrtime.bigint() - started) / 1e6;
    const pid = await ownerPid(lab);
    const client = new ServiceClient(bus);
    const listed = (await client.listInterfaces()).length;
    const [all] = await bus.call({ destination: 'org.fedoraproject.SharedInterface', path: '/org/fedoraproject/SharedInterface', interface: 'org.fedoraproject.SharedInterface', member: 'ListInterfacesFiltered', signature: 'a{sv}', body: [{ all: makeVariant('b', true) }] });
    const listedAll = Array.isArray(all) ? all.length : NaN;
    const listTimes: number[] = [];
    for (let i = 0; i < 20; i++) await client.call('ListInterfaces');
    for (let i = 0; i < 200; i++) listTimes.push(await timed(() => client.call('ListInterfaces')));

    const out = await lab.sh(`
      for i in $(seq 1 ${CLI_RUNS}); do
        s=\${EPOCHREALTIME/./}; ${INSTALLED.cli} list >/dev/null; e=\${EPOCHREALTIME/./}; echo "cli $(( e - s ))"
        s=\${EPOCHREALTIME/./}; nmcli -t dev >/dev/null; e=\${EPOCHREALTIME/./}; echo "nmcli $(( e - s ))"
      done`, { timeoutMs: 600_000 });
    const wall = (what: string) => median([...out.matchAll(new RegExp(`^${what} (\\d+)`, 'gm'))].map((m) => Number(m[1]) / 1000));

    const shareTimes: number[] = [];
    const unshareTimes: number[] = [];
    for (let i = 0; i < SHARES + 1; i++) {
      const s = await timed(() => client.share('eth0'));
      const u = await timed(() => client.unshare('eth0'));
      // The first of a daemon warms it up.
      if (i > 0) { shareTimes.push(s); unshareTimes.push(u); }
    }
    log(`  Share ${shareTimes.map(Math.round).join(', ')} ms; Unshare ${unshareTimes.map(Math.round).join(', ')} ms`);

    // Links come and go (CHURN at a time) while a Share runs.
    const [churnShare] = await Promise.all([
      client.share('eth0').then((bridge) => `shared through ${bridge}`, (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`),
      linksComeAndGo(lab, CHURN),
    ]);
    await client.unshare('eth0').catch(() => undefined);

    // The owner's PID is the lab's (its own PID namespace): read its status there.
    const rssKb = pid === undefined ? NaN : Number(/VmRSS:\s+(\d+)/.exec(await lab.sh(`cat /proc/${pid}/status`))?.[1] ?? NaN);
    return {
      links, profiles: profileCount, ownsNameMs, activationMs, listMedianMs: median(listTimes), listed, listedAll,
      cliMs: wall('cli'), nmcliMs: wall('nmcli'), rssMb: rssKb / 1024,
      shareMs: median(shareTimes), unshareMs: median(unshareTimes), churnShare,
    };
  } finally {
    bus.close();
    await lab.stop();
  }
}

const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : 'n/a');

/** The part's rows of the benchmark's table: the big lab against the small one. */
export async function hostScaleRows(log: (line: string) => void): Promise<string[]> {
  log(`links: the lab at 3 links`);
  const small = await measureHost(0, 0, log);
  log(`links: the lab at ${PAIRS} veth pairs and ${PROFILES} profiles`);
  const big = await measureHost(PAIRS, PROFILES, log);
  const shareRatio = big.shareMs / small.shareMs;
  const unshareRatio = big.unshareMs / small.unshareMs;
  const cliRatio = big.cliMs / big.nmcliMs;
  const at = `at ${big.links} links / ${big.profiles} profiles`;
  return [
    `| Share of the DHCP NIC ${at} / at ${small.links} links (median of ${SHARES}) | ${ms(big.shareMs)} / ${ms(small.shareMs)} = ${shareRatio.toFixed(2)} | ≤ 1.3 | ${verdict(shareRatio <= 1.3)} |`,
    `| Unshare ${at} / at ${small.links} links | ${ms(big.unshareMs)} / ${ms(small.unshareMs)} = ${unshareRatio.toFixed(2)} | ≤ 1.3 | ${verdict(unshareRatio <= 1.3)} |`,
    `| daemon owns its name after its start ${at} (at ${small.links}: ${ms(small.ownsNameMs)}) | ${ms(big.ownsNameMs)} | ≤ 1 s | ${verdict(big.ownsNameMs <= 1000)} |`,
    `| bus-activated first call (ListInterfaces) ${at} (at ${small.links}: ${ms(small.activationMs)}) | ${ms(big.activationMs)} | ≤ 2 s | ${verdict(big.activationMs <= 2000)} |`,
    `| ListInterfaces median ${at}: ${big.listed} listed of ${big.listedAll} (at ${small.links}: ${small.listMedianMs.toFixed(2)} ms) | ${big.listMedianMs.toFixed(2)} ms | ≤ 10 ms | ${verdict(big.listMedianMs <= 10)} |`,
    `| \`shared-interface list\` / \`nmcli -t dev\` ${at} (median of ${CLI_RUNS}) | ${ms(big.cliMs)} / ${ms(big.nmcliMs)} = ${cliRatio.toFixed(2)} | ≤ 0.3 | ${verdict(cliRatio <= 0.3)} |`,
    `| daemon RSS ${at} (at ${small.links}: ${small.rssMb.toFixed(1)} MB) | ${big.rssMb.toFixed(1)} MB | ≤ 80 MB | ${verdict(big.rssMb <= 80)} |`,
    `| Share while ${CHURN} links appear and vanish ${at} | ${big.churnShare} | shared | ${verdict(big.churnShare.startsWith('shared'))} |`,
  ];
}
