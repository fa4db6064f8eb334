// `npm run bench`: speed and memory, measured in the sealed lab (never by a timed test).
//  1. Share through our daemon vs the same by hand with nmcli (bridge + port + activate), each
//     repeated in a fresh lab: time until the bridge carries the host's IP, and pings lost by a
//     LAN host pinging the host every 16 ms during the switch. Static NIC: pings lost.
//  2. ListInterfaces latency with 130 NICs and 300 profiles; the daemon's RSS.
import { readFileSync } from 'node:fs';
import { Lab, REPO_ROOT } from '../lab/lab';
import { ServiceClient } from '../lab/service-client';

const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const PING_INTERVAL_S = 0.016;

interface SwitchResult {
  readonly ipAfterMs: number;
  readonly callMs: number;
  readonly lost: number;
  readonly sent: number;
}

const BUSCTL_SHARE = 'busctl --timeout=120 call org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface Share "sa{sv}" eth0 1 bridge s br0 >/dev/null';
const NMCLI_SHARE = [
  'nmcli connection add type bridge ifname br0 con-name br0 bridge.stp no ipv4.method auto ipv6.method auto ipv6.addr-gen-mode eui64 ethernet.cloned-mac-address 52:54:00:12:34:56 >/dev/null',
  'nmcli connection add type ethernet ifname eth0 con-name br0-port master br0 slave-type bridge >/dev/null',
  'nmcli connection up br0-port >/dev/null',
].join(' && ');

/** Runs `command` in the lab while the LAN pings the host; times the IP's arrival on br0. */
async function measureSwitch(lab: Lab, command: string): Promise<SwitchResult> {
  const out = await lab.sh(`
    host=$(ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
    ip netns exec lan ping -n -q -i ${PING_INTERVAL_S} "$host" >/tmp/ping.log 2>&1 & pinger=$!
    sleep 1
    start=$(date +%s%N)
    ( ${command}; echo "call $(( ($(date +%s%N) - start) / 1000000 ))" >/tmp/call.log ) &
    caller=$!
    while ! ip -4 -o addr show dev br0 2>/dev/null | grep -q " $host/"; do
      [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 60 ] || { echo "no IP on br0 after 60 s" >&2; exit 1; }
      sleep 0.005
    done
    echo "ip $(( ($(date +%s%N) - start) / 1000000 ))"
    wait $caller
    cat /tmp/call.log
    sleep 2
    kill -INT $pinger; wait $pinger || true
    grep -E 'packets transmitted' /tmp/ping.log
  `, { timeoutMs: 120_000 });
  const ip = /ip (\d+)/.exec(out);
  const call = /call (\d+)/.exec(out);
  const ping = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!ip || !call || !ping) throw new Error(`unexpected measurement output:\n${out}`);
  return { ipAfterMs: Number(ip[1]), callMs: Number(call[1]), sent: Number(ping[1]), lost: Number(ping[1]) - Number(ping[2]) };
}

async function oneRun(kind: 'ours' | 'nmcli' | 'ours-static'): Promise<SwitchResult> {
  const lab = await Lab.start(kind === 'ours-static' ? { nicProfile: 'static' } : {});
  try {
    if (kind !== 'nmcli') await lab.startDaemon();
    return await measureSwitch(lab, kind === 'nmcli' ? NMCLI_SHARE : BUSCTL_SHARE);
  } finally {
    await lab.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] ?? 0 : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function listInterfacesAtScale(): Promise<{ devices: number; profiles: number; medianMs: number; p95Ms: number; rssMb: number }> {
  const lab = await Lab.start({ nicProfile: 'none' });
  const bus = await lab.connect();
  try {
    // 65 veth pairs (130 NICs) and 300 keyfile profiles, loaded in one reload.
    await lab.sh(`
      for i in $(seq 1 65); do ip link add vb$i type veth peer name vc$i; done
      for i in $(seq 1 300); do
        printf '[connection]\\nid=profile-%s\\nuuid=%s\\ntype=ethernet\\ninterface-name=vb%s\\nautoconnect=false\\n\\n[ipv4]\\nmethod=auto\\n\\n[ipv6]\\nmethod=auto\\n' \\
          $i "$(cat /proc/sys/kernel/random/uuid)" $(( i % 65 + 1 )) >/etc/NetworkManager/system-connections/profile-$i.nmconnection
      done
      chmod 600 /etc/NetworkManager/system-connections/*.nmconnection
      nmcli connection reload
    `, { timeoutMs: 120_000 });
    const daemon = await lab.startDaemon();
    const client = new ServiceClient(bus);
    const profiles = Number((await lab.sh('nmcli -t -f UUID connection show | wc -l')).trim());
    let devices = 0;
    for (let i = 0; i < 20; i++) devices = (await client.listInterfaces()).length; // warm-up
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = process.hrtime.bigint();
      await client.call('ListInterfaces');
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid()}/status`, 'utf8'))?.[1] ?? 0);
    return { devices, profiles, medianMs: median(times), p95Ms: percentile(times, 95), rssMb: rssKb / 1024 };
  } finally {
    bus.close();
    await lab.stop();
  }
}

async function main(): Promise<void> {
  const results: Record<string, SwitchResult[]> = { ours: [], nmcli: [], 'ours-static': [] };
  for (let i = 0; i < (process.env['BENCH_ONLY_SCALE'] === '1' ? 0 : RUNS); i++) {
    for (const kind of ['ours', 'nmcli', 'ours-static'] as const) {
      const r = await oneRun(kind);
      results[kind]?.push(r);
      console.error(`run ${i + 1}/${RUNS} ${kind}: IP on the bridge after ${r.ipAfterMs} ms, call ${r.callMs} ms, ${r.lost}/${r.sent} pings lost`);
    }
  }
  const scale = await listInterfacesAtScale();
  const row = (name: string, rs: readonly SwitchResult[]) =>
    `| ${name} | ${median(rs.map((r) => r.ipAfterMs))} | ${median(rs.map((r) => r.callMs))} | ${rs.map((r) => r.lost).join(', ')} |`;
  const ratio = median((results['ours'] ?? []).map((r) => r.ipAfterMs)) / median((results['nmcli'] ?? []).map((r) => r.ipAfterMs));
  const lost = (kind: string) => (results[kind] ?? []).map((r) => r.lost);
  const oursLost = Math.max(...(results['ours'] ?? []).map((r) => r.lost));
  const nmcliLost = Math.max(...(results['nmcli'] ?? []).map((r) => r.lost));
  console.log(`Benchmark, ${RUNS} runs each (${new Date().toISOString().slice(0, 10)}, ${REPO_ROOT}):

| how (DHCP NIC unless said) | IP on the bridge after (ms, median) | call returns after (ms, median) | pings lost at ${PING_INTERVAL_S * 1000} ms, each run |
| --- | --- | --- | --- |
${row('Share via our daemon (checkpoint + verification)', results['ours'] ?? [])}
${row('nmcli by hand (bridge + port + up)', results['nmcli'] ?? [])}
${row('Share via our daemon, static NIC', results['ours-static'] ?? [])}

- ratio ours/nmcli (time to IP on the bridge): ${ratio.toFixed(2)} (target ≤ 1.0) ${ratio <= 1 ? 'MET' : 'NOT MET'}
- pings lost, median run: ours ${median(lost('ours'))}, nmcli ${median(lost('nmcli'))}; worst run: ours ${oursLost}, nmcli ${nmcliLost} (target: ours ≤ nmcli) ${oursLost <= nmcliLost ? 'MET' : 'NOT MET'}; static NIC, worst run: ${Math.max(...lost('ours-static'))} (target 0)
- ListInterfaces with ${scale.devices} interfaces and ${scale.profiles} profiles: median ${scale.medianMs.toFixed(2)} ms, p95 ${scale.p95Ms.toFixed(2)} ms (target ≤ 10 ms) ${scale.p95Ms <= 10 ? 'MET' : 'NOT MET'}
- daemon RSS after that: ${scale.rssMb.toFixed(1)} MB (target ≤ 60 MB) ${scale.rssMb <= 60 ? 'MET' : 'NOT MET'}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
