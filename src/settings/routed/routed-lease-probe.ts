// SPDX-License-Identifier: GPL-2.0-or-later
// The probe that proves routed sharing works before a Share returns: a guest's port made of a veth
// pair (one end a port of the guests' bridge, the other in the host's namespace with no address),
// on which busybox's udhcpc asks for a lease as a guest's DHCP client would, through the relay, and
// gets one from the LAN's server. Its script is /bin/true: the leased address is never configured
// (the host's routes stay as they are); udhcpc says it in its output, which is all we read. The
// probe's MAC is derived from the bridge's name, so every probe of a bridge asks for the same
// lease, and the LAN's server hands out one address for probes, not one per Share.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { errorMessage } from '../../log';
import { findProgram } from '../host-tools/systemd-run';

const run = promisify(execFile);
const IP_TIMEOUT_MS = 5000;

/** A locally administered unicast MAC for the probe of `bridge`: the same for every probe of it. */
export function probeMac(bridge: string): string {
  const bytes = createHash('sha256').update(`shared-interface probe ${bridge}`).digest().subarray(0, 6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** udhcpc's line for a lease: "lease of 192.0.2.57 obtained from 192.0.2.1, lease time 3600". */
export function leaseFromOutput(output: string): string | undefined {
  return /lease of (\d{1,3}(?:\.\d{1,3}){3}) obtained/.exec(output)?.[1];
}

/** busybox's udhcpc, as argv before its own arguments; undefined when the host has neither. */
export function udhcpcCommand(): readonly string[] | undefined {
  const udhcpc = findProgram('udhcpc');
  if (udhcpc !== undefined) return [udhcpc];
  const busybox = findProgram('busybox');
  return busybox === undefined ? undefined : [busybox, 'udhcpc'];
}

async function ip(args: readonly string[]): Promise<void> {
  await run('ip', [...args], { timeout: IP_TIMEOUT_MS });
}

/** No IPv6 on either end: no link-local address, no router solicitation from the probe. */
async function withoutIpv6(link: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${link}/disable_ipv6`, '1').catch(() => undefined);
}

/** Asks for a lease through a probe port on `bridge`; resolves with the address, rejects with why not. */
export async function probeLease(bridge: string, timeoutMs: number, command: readonly string[] | undefined = udhcpcCommand()): Promise<string> {
  if (command === undefined) throw new Error('the host has no DHCP client to probe with (busybox udhcpc)');
  const [program = 'udhcpc', ...prefix] = command;
  // Short names of their own (IFNAMSIZ), unlike any a user or libvirt gives.
  const tag = createHash('sha256').update(bridge).digest('hex').slice(0, 6);
  const probe = `sip${tag}`;
  const port = `sipp${tag}`;
  await ip(['link', 'del', probe]).catch(() => undefined);
  try {
    await ip(['link', 'add', probe, 'address', probeMac(bridge), 'type', 'veth', 'peer', 'name', port]);
    await Promise.all([withoutIpv6(probe), withoutIpv6(port)]);
    await ip(['link', 'set', port, 'master', bridge, 'up']);
    await ip(['link', 'set', probe, 'up']);
    const tries = Math.max(1, Math.floor(timeoutMs / 1000));
    const output = await new Promise<string>((resolve, reject) => {
      // -q: quit once leased; -n: quit when none came; -R: release it on quitting; -T 1: a second per try.
      const child = spawn(program, [...prefix, '-i', probe, '-f', '-q', '-n', '-R', '-t', String(tries), '-T', '1', '-s', '/bin/true'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      child.stderr.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs + 1000);
      child.on('error', (err) => { clearTimeout(timer); reject(err); });
      child.on('close', () => { clearTimeout(timer); resolve(text); });
    });
    const lease = leaseFromOutput(output);
    if (lease === undefined) throw new Error(`no DHCP offer came within ${Math.round(timeoutMs / 1000)} s (the LAN's DHCP server does not answer the relay, or the relay does not run)`);
    return lease;
  } catch (err) {
    throw new Error(`the probe on ${bridge}: ${errorMessage(err)}`);
  } finally {
    // Deleting one end deletes the pair.
    await ip(['link', 'del', probe]).catch(() => undefined);
  }
}
