// SPDX-License-Identifier: GPL-2.0-or-later
// The TypeScript half of selfcheck.sh: drives guest.ts from the host into a lab that selfcheck.sh
// made (bridge br0 192.0.2.1/24 with dnsmasq), entering it with nsenter like a lab test would.
// Usage: node selfcheck-driver.js <lab pid> <dnsmasq lease file> <log dir>

import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  bootGuest,
  buildGuest,
  createTap,
  GuestError,
  probeAccel,
  removeTap,
  type ExecWrapper,
  type GuestHandle,
} from './guest';

const TAP = 'tap1';
const NO_DHCP_TAP = 'tap2';
const MAC = '52:54:00:5e:00:02';
const UPTIME_SECONDS = 8;

function run(argv: readonly string[]): Promise<{ code: number; stdout: string }> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty command');
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout });
    });
  });
}

function seconds(since: bigint): string {
  return `${(Number(process.hrtime.bigint() - since) / 1e9).toFixed(2)} s`;
}

async function waitForFileLine(file: string, needle: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    if (text.toLowerCase().includes(needle.toLowerCase())) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

async function main(): Promise<void> {
  const [labPid, leaseFile, logDir] = process.argv.slice(2);
  if (labPid === undefined || leaseFile === undefined || logDir === undefined) {
    throw new Error('usage: selfcheck-driver <lab pid> <lease file> <log dir>');
  }
  const exec: ExecWrapper = ['nsenter', '-t', labPid, '-a'];

  let started = process.hrtime.bigint();
  const image = await buildGuest();
  console.log(`ts: buildGuest ${seconds(started)} -> ${image.kernelRelease}`);
  started = process.hrtime.bigint();
  const accel = await probeAccel(image);
  console.log(`ts: probeAccel ${seconds(started)} -> ${accel}`);

  await createTap({ tap: TAP, bridge: 'br0', exec });
  let guest: GuestHandle | undefined;
  let noDhcpTapCreated = false;
  try {
    started = process.hrtime.bigint();
    guest = await bootGuest({
      ...image,
      tap: TAP,
      mac: MAC,
      uptimeSeconds: UPTIME_SECONDS,
      exec,
      logPath: path.join(logDir, 'ts-guest.log'),
    });
    const lease = await guest.waitForLease(120_000);
    console.log(`ts: lease ${JSON.stringify(lease)} after ${seconds(started)}`);
    if (lease.mac !== MAC) throw new Error(`lease MAC ${lease.mac}, expected ${MAC}`);
    if (!lease.address.startsWith('192.0.2.') || lease.prefixLength !== 24 || lease.router !== '192.0.2.1') {
      throw new Error(`unexpected lease ${JSON.stringify(lease)}`);
    }
    if (!(await waitForFileLine(leaseFile, MAC, 5_000))) throw new Error(`${MAC} not in ${leaseFile}`);
    console.log('ts: dnsmasq lease file has the guest MAC');
    const ping = await run([...exec, 'ping', '-c', '3', '-i', '0.3', '-W', '2', lease.address]);
    if (ping.code !== 0) throw new Error(`ping ${lease.address} failed:\n${ping.stdout}`);
    console.log(`ts: ping ${lease.address} ok`);
    const exit = await guest.waitForExit((UPTIME_SECONDS + 60) * 1000);
    if (!exit.poweredOff) throw new Error(`guest did not power off cleanly: ${JSON.stringify(exit)}`);
    console.log(`ts: guest powered off (qemu exit ${String(exit.code)}) after ${seconds(started)}`);

    // kill() must end a guest that is still running, through nsenter's fork.
    const second = await bootGuest({ ...image, tap: TAP, mac: MAC, uptimeSeconds: 600, exec, accel });
    guest = second;
    await second.waitForLease(120_000);
    const killed = await second.kill();
    const leftover = await run(['pgrep', '-f', `mac=${MAC}`]);
    if (killed.poweredOff || leftover.code === 0) throw new Error(`kill() left qemu running: ${leftover.stdout}`);
    console.log('ts: kill() ended a running guest');

    // No DHCP server on br1: the guest must say so and power off.
    await createTap({ tap: NO_DHCP_TAP, bridge: 'br1', exec });
    noDhcpTapCreated = true;
    started = process.hrtime.bigint();
    const lonely = await bootGuest({ ...image, tap: NO_DHCP_TAP, mac: MAC, exec, accel, dhcpTries: 2, dhcpTimeoutSeconds: 1 });
    guest = lonely;
    const outcome = await lonely.waitForLease(60_000).then(
      (lease) => `a lease ${JSON.stringify(lease)}`,
      (error: unknown) => (error instanceof GuestError ? error.code : String(error)),
    );
    if (outcome !== 'NoLease') throw new Error(`without DHCP, waitForLease gave ${outcome}, expected NoLease`);
    const lonelyExit = await lonely.waitForExit(30_000);
    if (!lonelyExit.poweredOff) throw new Error(`guest without lease did not power off: ${JSON.stringify(lonelyExit)}`);
    console.log(`ts: without DHCP: NoLease and power-off after ${seconds(started)}`);
  } finally {
    await guest?.kill();
    await removeTap({ tap: TAP, exec });
    if (noDhcpTapCreated) await removeTap({ tap: NO_DHCP_TAP, exec });
  }
}

main().then(
  () => console.log('ts: PASS'),
  (error: unknown) => {
    console.error(`ts: FAIL: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
