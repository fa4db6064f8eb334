// SPDX-License-Identifier: GPL-2.0-or-later
// The probe that proves routed sharing works before a Share returns: a guest's port made of a veth
// pair (one end a port of the guests' bridge, the other in the host's namespace with no address),
// on which busybox's udhcpc asks for a lease as a guest's DHCP client would, through the relay, and
// gets one from the LAN's server. Its script is /bin/true: the leased address is never configured
// (the host's routes stay as they are); udhcpc says it in its output, which is all we read. The
// probe's MAC is derived from the bridge's name, so every probe of a bridge asks for the same
// lease, and the LAN's server hands out one address for probes, not one per Share.
// The lease is let go at once (DHCPRELEASE), sent by us from the host to the server that leased it:
// udhcpc's own release (-R) goes out from the leased address, which the probe never has, and
// could not have (coming back in through the bridge, a source address of the host's own is a
// martian the kernel drops).
import { execFile, spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
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
const LEASE_LINE = /lease of (\d{1,3}(?:\.\d{1,3}){3}) obtained(?: from (\d{1,3}(?:\.\d{1,3}){3}))?/;

/** The address leased, from udhcpc's line. */
export function leaseFromOutput(output: string): string | undefined {
  return LEASE_LINE.exec(output)?.[1];
}

/** The server (its identifier) that leased it, from the same line. */
export function leasingServerFromOutput(output: string): string | undefined {
  return LEASE_LINE.exec(output)?.[2];
}

export interface ProbedLease {
  readonly address: string;
  /** Why the lease could not be let go (the LAN's server keeps it until it expires); undefined: released. */
  readonly releaseProblem?: string;
}

const DHCP_SERVER_PORT = 67;
const RELEASE_SEND_TIMEOUT_MS = 2000;

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/**
 * A DHCPRELEASE (RFC 2131 §4.4.6) of `address`, leased to `mac` by `server`: the lease is told by
 * its address (ciaddr), the client's hardware address and client identifier (udhcpc sends its MAC
 * as one), and the server by its identifier.
 */
export function dhcpRelease(mac: string, address: string, server: string, xid: number): Buffer {
  const hw = mac.split(':').map((b) => Number.parseInt(b, 16));
  const packet = Buffer.alloc(240);
  packet[0] = 1; // BOOTREQUEST
  packet[1] = 1; // Ethernet
  packet[2] = 6;
  packet.writeUInt32BE(xid >>> 0, 4);
  Buffer.from(ipv4Bytes(address)).copy(packet, 12);
  Buffer.from(hw).copy(packet, 28);
  Buffer.from([99, 130, 83, 99]).copy(packet, 236);
  const options = Buffer.from([
    53, 1, 7, // DHCPRELEASE
    54, 4, ...ipv4Bytes(server),
    61, 7, 1, ...hw,
    255,
  ]);
  return Buffer.concat([packet, options]);
}

async function sendRelease(mac: string, address: string, server: string): Promise<void> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sending took over ${RELEASE_SEND_TIMEOUT_MS} ms`)), RELEASE_SEND_TIMEOUT_MS);
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
      socket.send(dhcpRelease(mac, address, server, randomInt(2 ** 32)), DHCP_SERVER_PORT, server, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  } finally {
    socket.close();
  }
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

/** Asks for a lease through a probe port on `bridge` and lets it go; resolves with the address, rejects with why not. */
export async function probeLease(bridge: string, timeoutMs: number, command: readonly string[] | undefined = udhcpcCommand()): Promise<ProbedLease> {
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
      // -q: quit once leased; -n: quit when none came; -T 1: a second per try.
      const child = spawn(program, [...prefix, '-i', probe, '-f', '-q', '-n', '-t', String(tries), '-T', '1', '-s', '/bin/true'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      child.stderr.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs + 1000);
      child.on('error', (err) => { clearTimeout(timer); reject(err); });
      child.on('close', () => { clearTimeout(timer); resolve(text); });
    });
    const lease = leaseFromOutput(output);
    if (lease === undefined) throw new Error(`no DHCP offer came within ${Math.round(timeoutMs / 1000)} s (the LAN's DHCP server does not answer the relay, or the relay does not run)`);
    const server = leasingServerFromOutput(output);
    if (server === undefined) return { address: lease, releaseProblem: 'udhcpc did not say which server leased it' };
    try {
      await sendRelease(probeMac(bridge), lease, server);
      return { address: lease };
    } catch (err) {
      return { address: lease, releaseProblem: `sending a DHCPRELEASE to ${server}: ${errorMessage(err)}` };
    }
  } catch (err) {
    throw new Error(`the probe on ${bridge}: ${errorMessage(err)}`);
  } finally {
    // Deleting one end deletes the pair.
    await ip(['link', 'del', probe]).catch(() => undefined);
  }
}
