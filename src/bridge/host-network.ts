// SPDX-License-Identifier: GPL-2.0-or-later
// What the domain knows of the host's network: interfaces as a user thinks of them, and whether
// each could be shared. Backends fill these facts in from NetworkManager or the kernel.
import type { BackendDescription } from './backend-description';

export type InterfaceType =
  // A veth looks like an ethernet to everything above the kernel, so backends report it as one.
  | 'ethernet' | 'bond' | 'team' | 'vlan' | 'wifi' | 'bridge' | 'loopback' | 'tun' | 'other';

export interface HostInterface {
  readonly name: string;
  readonly type: InterfaceType;
  readonly mac: string;
  readonly carrier: boolean;
  /** CIDR addresses currently configured on the interface. */
  readonly addresses: readonly string[];
  /** The bridge that shares this interface through us, or undefined. */
  readonly sharedThrough: string | undefined;
  /** The controller (bond, team, bridge) this interface is a port of, if any. */
  readonly controller: string | undefined;
  /** False when the backend does not manage the interface (NM "unmanaged"). */
  readonly managed: boolean;
  /** One end of a veth pair (reported as an ethernet): usually a container's or a guest's plumbing. */
  readonly veth?: boolean;
  /** A veth whose other end is in this namespace too (not a container's or a guest's): plumbing between two things here. */
  readonly vethPeerHere?: boolean;
  /** For Wi-Fi: the mode; station mode cannot be bridged. */
  readonly wifiMode?: 'station' | 'ap' | 'adhoc' | 'mesh' | 'unknown';
  /** What sharing would change that the user may not expect (e.g. IPv6 addresses). */
  readonly shareNotes?: readonly string[];
  /** Why the backend will not share it, on grounds of its own (NM: its active profile is a user's). */
  readonly refusal?: { readonly reason: string; readonly hint?: string };
}

/** The host as one backend sees it at one moment. */
export interface HostSnapshot {
  readonly interfaces: readonly HostInterface[];
  /** NIC name → bridge name, for every NIC shared through us. */
  readonly shared: ReadonlyMap<string, string>;
  /** The NICs of `shared` shared routed (their bridge has no port to the LAN); the rest are bridged. */
  readonly routed?: ReadonlySet<string>;
}

export interface Shareability {
  readonly shareable: boolean;
  /** Why not, in words a user can act on; '' when shareable. */
  readonly reason: string;
  readonly hint?: string;
  /**
   * Set when bridging cannot work but routed sharing can (a Wi-Fi station): how it would be
   * shared, for the listing's notes. Share with mode `auto` then shares it routed.
   */
  readonly routedOnly?: string;
}

/** Why a Wi-Fi station is shared routed, said once: the listing's note and auto's Progress line. */
export const WIFI_STATION_ROUTED = 'Wi-Fi in station mode cannot be a bridge port (the access point accepts only its own MAC address), so it is shared routed: guests get addresses from the LAN\'s DHCP server through the host, which answers ARP for them and routes to each';

/** The domain's rules for what may be shared; backends don't decide this. */
export function shareability(iface: HostInterface, backend: BackendDescription): Shareability {
  const no = (reason: string, hint?: string | undefined): Shareability => (hint === undefined ? { shareable: false, reason } : { shareable: false, reason, hint });
  if (iface.sharedThrough !== undefined) return no(`already shared through bridge ${iface.sharedThrough}`);
  let routedOnly: string | undefined;
  switch (iface.type) {
    case 'loopback': return no('the loopback interface carries no traffic to other machines');
    case 'bridge': return no('it is a bridge itself; guests can attach to it directly');
    case 'wifi':
      if (iface.wifiMode === 'ap') break;
      if (backend.routed !== true) {
        return no(`a Wi-Fi interface in station mode cannot be a bridge port (the access point accepts only its own MAC address), and the ${backend.name} backend cannot share routed`, 'use a NATed virtual network or a wired interface, or start NetworkManager');
      }
      routedOnly = WIFI_STATION_ROUTED;
      break;
    case 'tun': return no('it is a tunnel or tap device, not a link to the LAN');
    case 'other': return no('it is not a kind of interface that can be a bridge port (ethernet, bond, team or VLAN)');
    default: break;
  }
  if (iface.controller !== undefined) return no(`it is already a port of ${iface.controller}`, `share ${iface.controller} instead, or remove ${iface.name} from it first`);
  if (!iface.managed) {
    return no(`${backend.name} does not manage it`, backend.manageHint?.(iface.name));
  }
  if (iface.refusal !== undefined) return no(iface.refusal.reason, iface.refusal.hint);
  return routedOnly === undefined ? { shareable: true, reason: '' } : { shareable: true, reason: '', routedOnly };
}

/**
 * Whether a listing for a person shows the interface (ListInterfaces; ListInterfacesFiltered with
 * `all` shows every one). A container host has a veth per container and a hypervisor a tap per
 * guest NIC: thousands, none of them a link to the LAN. Left out: the loopback, taps and tunnels,
 * veths nobody asked the backend to manage (NetworkManager leaves veths alone by default: the
 * other end is a container's), veths whose other end is on this host too (plumbing between two
 * things here, not a way out; a host's kernel says so at once, which lets the daemon's first
 * listing come before it has read every device), and ports of a bridge, bond or team (the controller is what could
 * be shared). An interface shared through us is always shown.
 */
export function listedByDefault(iface: HostInterface): boolean {
  if (iface.sharedThrough !== undefined) return true;
  if (iface.type === 'loopback' || iface.type === 'tun') return false;
  if (iface.veth === true && (!iface.managed || iface.vethPeerHere === true)) return false;
  return iface.controller === undefined;
}
