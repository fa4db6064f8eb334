// SPDX-License-Identifier: GPL-2.0-or-later
// virsh's iface-bridge as a pure function (libvirt-commands.ts loads it when that command runs):
// the NIC's inactive XML, renamed to the bridge, with the NIC (type, name, MAC, bond or VLAN)
// moved down as its port.
import { formatInterfaceXml, parseInterfaceXml, type LibvirtInterface } from '../bridge/libvirt-interface-xml';
import { UsageError } from './command';

export interface IfaceBridgeOptions {
  readonly stp: boolean;
  /** Seconds; undefined: the default (virsh writes 0, which the kernel refuses with STP on). */
  readonly delay?: number;
}

/**
 * virsh's iface-bridge, as a pure function: the NIC's inactive XML → the bridge definition. The
 * top-level element becomes the bridge (keeping <start>, <mtu> and <protocol>), and a port
 * element of the NIC's type and name takes its <mac>, <bond> or <vlan>.
 */
export function ifaceBridgeDefinition(nicXml: string, bridge: string, options: IfaceBridgeOptions): string {
  const nic = parseInterfaceXml(nicXml);
  if (nic.type === 'bridge') throw new UsageError(`${nic.name ?? 'the interface'} is already a bridge`, 'iface-bridge');
  const port: LibvirtInterface = {
    type: nic.type,
    ...(nic.name === undefined ? {} : { name: nic.name }),
    ...(nic.mac === undefined ? {} : { mac: nic.mac }),
    ...(nic.bond === undefined ? {} : { bond: nic.bond }),
    ...(nic.vlan === undefined ? {} : { vlan: nic.vlan }),
  };
  return formatInterfaceXml({
    type: 'bridge',
    name: bridge,
    ...(nic.start === undefined ? {} : { start: nic.start }),
    ...(nic.mtu === undefined ? {} : { mtu: nic.mtu }),
    ...(nic.protocols === undefined ? {} : { protocols: nic.protocols }),
    bridge: { stp: options.stp, ...(options.stp && options.delay !== undefined ? { delay: options.delay } : {}), ports: [port] },
  });
}
