// SPDX-License-Identifier: GPL-2.0-or-later
// An interface's configured state (what comes up at boot: a NetworkManager profile, an ifcfg
// file), as the domain sees it whatever the backend. The live state is the kernel's (verify.ts).

export interface ConfiguredIpv4 {
  readonly dhcp: boolean;
  /** Addresses given by hand, CIDR. */
  readonly addresses: readonly string[];
  readonly gateway?: string;
  /** False when DNS servers from DHCP are ignored. */
  readonly peerDns?: boolean;
}

export interface ConfiguredIpv6 {
  /** Stateless autoconfiguration (router advertisements). */
  readonly autoconf: boolean;
  readonly dhcp: boolean;
  readonly addresses: readonly string[];
  readonly gateway?: string;
}

export interface ConfiguredInterface {
  readonly name: string;
  readonly type: 'ethernet' | 'bridge' | 'bond' | 'vlan' | 'other';
  /** Brought up at boot (NM autoconnect, ifcfg ONBOOT). */
  readonly startOnBoot: boolean;
  readonly mac?: string;
  readonly mtu?: number;
  /** Undefined: this family is not configured (disabled, or the interface is a port). */
  readonly ipv4?: ConfiguredIpv4;
  readonly ipv6?: ConfiguredIpv6;
  /** forwardDelay in seconds. */
  readonly bridge?: { readonly stp: boolean; readonly forwardDelay: number; readonly ports: readonly ConfiguredInterface[] };
  readonly vlan?: { readonly id: number; readonly parent: string };
  readonly bond?: { readonly mode?: string; readonly ports: readonly ConfiguredInterface[] };
}
