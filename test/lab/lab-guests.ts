// SPDX-License-Identifier: GPL-2.0-or-later
// "Guests" for lab tests without a VM: a network namespace whose veth is a port of a bridge,
// asking the LAN's DHCP server for a lease with busybox udhcpc — what a VM's NIC does.
import type { Lab } from './lab';

export interface GuestNamespace {
  readonly name: string;
  /** The host end of the veth: the bridge port. */
  readonly port: string;
  readonly mac: string;
}

export async function addGuestNamespace(lab: Lab, name: string, bridge: string, mac: string): Promise<GuestNamespace> {
  const port = `v${name}`.slice(0, 15);
  await lab.sh(`
    ip netns add ${name}
    ip link add ${port} type veth peer name eth0 netns ${name}
    ip -n ${name} link set eth0 address ${mac}
    ip -n ${name} link set lo up
    ip -n ${name} link set eth0 up
    ip link set ${port} master ${bridge} up
  `);
  return { name, port, mac };
}

/** Asks for a DHCP lease from inside the guest namespace; resolves with the leased address. */
export async function guestDhcp(lab: Lab, guest: GuestNamespace): Promise<string> {
  // udhcpc runs its script with the lease in the environment; ours applies and prints it.
  const script = '#!/bin/sh\n[ "$1" = bound ] || exit 0\nip addr add "$ip/$mask" dev "$interface"\necho "LEASE $ip"\n';
  const out = await lab.sh(`
    s=$(mktemp); printf '%s' '${script}' >"$s"; chmod +x "$s"
    ip netns exec ${guest.name} busybox udhcpc -i eth0 -f -q -n -t 10 -T 1 -s "$s"
  `, { timeoutMs: 60_000 });
  const match = out.match(/LEASE (\S+)/);
  if (!match?.[1]) throw new Error(`the guest ${guest.name} got no lease:\n${out}`);
  return match[1];
}

export async function removeGuestNamespace(lab: Lab, guest: GuestNamespace): Promise<void> {
  await lab.sh(`ip link del ${guest.port} 2>/dev/null || true; ip netns del ${guest.name}`);
}
