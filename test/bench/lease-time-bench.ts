// SPDX-License-Identifier: GPL-2.0-or-later
// A guest's time to its DHCP lease, bridged against routed sharing, each in a fresh lab: from QEMU's
// start to the guest reporting its lease (guest-on-lan.ts's leaseAfterMs), which is the boot plus
// the DHCP exchange with the LAN's dnsmasq (which pings an address before offering it), plus, for
// routed sharing, the relay in between. Bridged: Share through the daemon on the open LAN. Routed:
// Share with mode routed through the daemon, the LAN locked to the host's MAC (lab-routed.ts).
//   BENCH_LEASE_RUNS (default 3) runs of each, alternating.
// In the benchmark as its part 'lease'; alone:
//   npx tsc -p . && node dist/test/bench/lease-time-bench.js
import { join } from 'node:path';
import { bootGuestOnBridge, HOST_MAC, HOST_NIC } from '../guest/guest-on-lan';
import { Lab } from '../lab/lab';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { lockLanToMac } from '../lab/lab-routed';
import { ServiceClient } from '../lab/service-client';

const RUNS = Number(process.env['BENCH_LEASE_RUNS'] ?? 3);
const GUEST_MAC = '52:54:00:00:00:0a';
/** Routed sharing may add this much to a guest's time to lease (the relay, learning the guest). */
const ROUTED_EXTRA_TARGET_MS = 2_000;

export type SharingMode = 'bridged' | 'routed';

/** One guest's time to lease, in a fresh lab, in `mode`; its accelerator too (TCG is far slower). */
export async function leaseTime(mode: SharingMode): Promise<{ readonly ms: number; readonly accel: string }> {
  const lab = await Lab.start();
  const bus = await lab.connect();
  try {
    // Both through the daemon's Share, as a user shares; routed on a LAN that takes only the
    // host's MAC (where bridged sharing gets no lease at all).
    if (mode === 'routed') await lockLanToMac(lab, HOST_MAC);
    await lab.startDaemon();
    const bridge = await new ServiceClient(bus).share(HOST_NIC, mode === 'routed' ? { mode: makeVariant('s', 'routed') } : {});
    const guest = await bootGuestOnBridge(lab, { bridge, tap: 'vnet0', mac: GUEST_MAC, logPath: join(lab.dir, 'guest.log') });
    await guest.stop();
    return { ms: guest.leaseAfterMs, accel: guest.accel };
  } finally {
    bus.close();
    await lab.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** The benchmark's rows: each mode's median, and routed's extra time against its target. */
export async function leaseTimeRows(log: (line: string) => void): Promise<string[]> {
  const times: Record<SharingMode, number[]> = { bridged: [], routed: [] };
  let accel = '';
  for (let run = 1; run <= RUNS; run++) {
    for (const mode of ['bridged', 'routed'] as const) {
      const measured = await leaseTime(mode);
      accel = measured.accel;
      times[mode].push(measured.ms);
      log(`lease: ${mode} run ${String(run)}: ${String(measured.ms)} ms (${measured.accel})`);
    }
  }
  const bridged = median(times.bridged);
  const routed = median(times.routed);
  const extra = routed - bridged;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `| a guest's time to lease, bridged (QEMU ${accel}, median of ${String(RUNS)}: ${times.bridged.map(s).join(', ')}) | ${s(bridged)} | — | |`,
    `| a guest's time to lease, routed, on a LAN locked to the host's MAC (median of ${String(RUNS)}: ${times.routed.map(s).join(', ')}) | ${s(routed)} (${extra >= 0 ? '+' : ''}${s(extra)}) | ≤ bridged + ${s(ROUTED_EXTRA_TARGET_MS)} | ${extra <= ROUTED_EXTRA_TARGET_MS ? 'MET' : 'NOT MET'} |`,
  ];
}

if (require.main === module) {
  leaseTimeRows((line) => console.error(line)).then((rows) => {
    console.log(`| figure | measured | target | |\n| --- | --- | --- | --- |\n${rows.join('\n')}`);
  }, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
