// SPDX-License-Identifier: GPL-2.0-or-later
// The main job's checks, shared by the lab tests (real-guest, libvirt-guest) and `npm run demo`:
// a guest on the shared bridge is on the host's LAN — leased by the LAN's own DHCP server, reached
// from the LAN at layer 2 (the LAN sees the guest's own MAC: not NATed) — while the host keeps
// its address and MAC; and after Unshare the host is back on its own profile. Every check reads
// the real state (the LAN's lease file, ping and neighbour table from the LAN namespace, `ip -j`,
// nmcli), never our daemon's opinion of it, and returns its problems as plain sentences, so a test
// asserts that there are none and the demo prints them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab/lab';
import { activeProfiles, ipv4, links } from '../lab/nm-state';
import { bootGuest, buildGuest, createTap, probeAccel, removeTap, type Accel, type ExecWrapper, type GuestHandle, type GuestLease } from './guest';

/** The lab's NIC and the MAC lab-init.sh gives it. */
export const HOST_NIC = 'eth0';
export const HOST_MAC = '52:54:00:12:34:56';
/** The profile lab-init.sh gives the NIC. */
export const HOST_PROFILE = 'Wired eth0';
/** The LAN's DHCP server (lab-init.sh) leases from this range. */
const LAN_LEASES = /^192\.0\.2\.1\d\d$/;
// TCG boots in ~4 s and dnsmasq pings an address ~3 s before offering it; a CI machine running
// other labs beside this one can take several times that.
const LEASE_TIMEOUT_MS = 120_000;

/** Runs argv inside the lab's namespaces with a clean environment, for guest.ts. */
export function inLab(lab: Lab): ExecWrapper {
  return (argv) => ['nsenter', '-t', String(lab.pid), '-a', '--', 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'TMPDIR=/tmp', ...argv];
}

export interface HostIdentity {
  readonly device: string;
  /** Its IPv4 address, without prefix. */
  readonly address: string | undefined;
  readonly mac: string | undefined;
  readonly master: string | undefined;
}

export async function hostIdentity(lab: Lab, device: string): Promise<HostIdentity> {
  const link = (await links(lab)).get(device);
  return { device, address: ipv4(link), mac: link?.address, master: link?.master };
}

/** A guest booted by guest.ts on a tap that is a port of a bridge, holding its DHCP lease. */
export interface GuestOnBridge {
  readonly tap: string;
  readonly mac: string;
  readonly accel: Accel;
  readonly kernelRelease: string;
  readonly lease: GuestLease;
  /** From starting qemu to the guest reporting its lease. */
  readonly leaseAfterMs: number;
  readonly handle: GuestHandle;
  /** Pulls the plug (like `virsh destroy`) and removes the tap. */
  stop(): Promise<void>;
}

export interface GuestOnBridgeOptions {
  readonly bridge: string;
  readonly tap: string;
  readonly mac: string;
  /** The serial console goes here too. */
  readonly logPath?: string;
  /** DHCP discover attempts, a second apart; default 20. */
  readonly dhcpTries?: number;
  /** After its lease the guest pings this address (GuestHandle.waitForPing tells the answer). */
  readonly pingAddress?: string;
}

/**
 * Does what libvirt does for <interface type='bridge'>: a tap device, a port of the bridge, as the
 * NIC of a QEMU guest with a fixed MAC; then waits for the guest's DHCP lease. Rejects with
 * guest.ts's GuestError NoLease when the guest asked and got none, and cleans up when it fails.
 */
export async function bootGuestOnBridge(lab: Lab, options: GuestOnBridgeOptions): Promise<GuestOnBridge> {
  const exec = inLab(lab);
  const image = await buildGuest();
  const accel = await probeAccel(image);
  await createTap({ tap: options.tap, bridge: options.bridge, exec });
  let handle: GuestHandle | undefined;
  try {
    const started = Date.now();
    handle = await bootGuest({
      ...image, tap: options.tap, mac: options.mac, exec, accel,
      // It stays up until stop(); the caller's checks must not race its power-off.
      uptimeSeconds: 600,
      dhcpTries: options.dhcpTries ?? 20, dhcpTimeoutSeconds: 1,
      ...(options.pingAddress === undefined ? {} : { pingAddress: options.pingAddress }),
      ...(options.logPath === undefined ? {} : { logPath: options.logPath }),
    });
    const lease = await handle.waitForLease(LEASE_TIMEOUT_MS);
    const running = handle;
    return {
      tap: options.tap, mac: options.mac, accel, kernelRelease: image.kernelRelease, lease,
      leaseAfterMs: Date.now() - started, handle: running,
      stop: async () => {
        await running.kill();
        await removeTap({ tap: options.tap, exec });
      },
    };
  } catch (error) {
    await handle?.kill();
    await removeTap({ tap: options.tap, exec }).catch((cleanup: unknown) => {
      // The lab's teardown removes it anyway; the boot failure is what the caller must see.
      process.emitWarning(`removing ${options.tap} after a failed boot: ${String(cleanup)}`);
    });
    throw error;
  }
}

/** The LAN's dnsmasq lease file line for a MAC: "expiry mac address hostname client-id". */
export interface LanLease {
  readonly line: string;
  readonly address: string;
  readonly hostname: string;
}

export function lanLease(lab: Lab, mac: string): LanLease | undefined {
  let text = '';
  try {
    text = readFileSync(join(lab.dir, 'dnsmasq.leases'), 'utf8');
  } catch {
    return undefined; // no lease given yet: dnsmasq creates the file with the first one
  }
  for (const line of text.split('\n')) {
    const [, leasedMac = '', address = '', hostname = ''] = line.trim().split(/\s+/);
    if (leasedMac.toLowerCase() === mac.toLowerCase()) return { line: line.trim(), address, hostname };
  }
  return undefined;
}

export interface LanCheck {
  readonly lease: LanLease | undefined;
  /** `ping` from the LAN namespace to the guest's address. */
  readonly ping: { readonly ok: boolean; readonly output: string };
  /** The MAC the LAN's neighbour table holds for the guest's address after the ping. */
  readonly lanSeesMac: string | undefined;
  readonly host: HostIdentity;
  /** Empty when the guest is on the LAN and the host kept its identity. */
  readonly problems: readonly string[];
}

export interface ExpectedHost {
  readonly bridge: string;
  readonly address: string;
  readonly mac: string;
}

/** Checks that the guest is on the LAN, as any machine there, and that the host kept its identity. */
export async function checkGuestOnLan(lab: Lab, guest: { readonly mac: string; readonly address: string }, host: ExpectedHost): Promise<LanCheck> {
  const problems: string[] = [];
  const lease = lanLease(lab, guest.mac);
  if (lease === undefined) problems.push(`the LAN's DHCP server has no lease for the guest's MAC ${guest.mac}`);
  else if (lease.address !== guest.address) problems.push(`the LAN leased ${lease.address} to ${guest.mac}, but the guest uses ${guest.address}`);
  if (!LAN_LEASES.test(guest.address)) problems.push(`the guest's address ${guest.address} is not from the LAN's DHCP range`);

  const pinged = await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-n', '-c', '3', '-i', '0.3', '-W', '2', guest.address], { allowFailure: true, timeoutMs: 30_000 });
  const ping = { ok: pinged.code === 0, output: (pinged.stdout + pinged.stderr).trim() };
  if (!ping.ok) problems.push(`the LAN cannot reach the guest: ping ${guest.address} from the LAN failed`);
  const neighbours = JSON.parse(await lab.sh(`ip -j -n lan neigh show to ${guest.address}`)) as Array<{ lladdr?: string }>;
  const lanSeesMac = neighbours[0]?.lladdr;
  if (ping.ok && lanSeesMac?.toLowerCase() !== guest.mac.toLowerCase()) {
    problems.push(`the LAN reaches ${guest.address} at ${lanSeesMac ?? 'no MAC'}, not at the guest's own ${guest.mac} (NAT or proxy in between)`);
  }

  const identity = await hostIdentity(lab, host.bridge);
  if (identity.address !== host.address) problems.push(`the host lost its address: ${host.bridge} has ${identity.address ?? 'no IPv4 address'}, not ${host.address}`);
  if (identity.mac?.toLowerCase() !== host.mac.toLowerCase()) problems.push(`the bridge ${host.bridge} changed its MAC to ${identity.mac ?? 'none'}, not the host's ${host.mac}`);
  return { lease, ping, lanSeesMac, host: identity, problems };
}

/** After Unshare: the NIC is on its own profile again, with its address and MAC, and no bridge. */
export async function checkHostRestored(lab: Lab, expected: { readonly address: string; readonly bridge: string }): Promise<{ readonly active: string[]; readonly nic: HostIdentity; readonly problems: readonly string[] }> {
  const problems: string[] = [];
  const active = await activeProfiles(lab);
  const want = `${HOST_PROFILE}:${HOST_NIC}`;
  if (active.join() !== want) problems.push(`NetworkManager's active profiles are [${active.join(', ')}], not [${want}]`);
  const nic = await hostIdentity(lab, HOST_NIC);
  if (nic.address !== expected.address) problems.push(`${HOST_NIC} has ${nic.address ?? 'no IPv4 address'}, not its original ${expected.address}`);
  if (nic.mac?.toLowerCase() !== HOST_MAC) problems.push(`${HOST_NIC} has MAC ${nic.mac ?? 'none'}, not ${HOST_MAC}`);
  if (nic.master !== undefined) problems.push(`${HOST_NIC} is still a port of ${nic.master}`);
  if ((await links(lab)).has(expected.bridge)) problems.push(`the bridge ${expected.bridge} still exists`);
  return { active, nic, problems };
}
