// SPDX-License-Identifier: GPL-2.0-or-later
// The live applier without initscripts (Debian, containers): iproute2 and the DHCP client the
// system has (dhclient, or busybox udhcpc with our event script).
import { isMacAddress } from '../../bridge/mac-address';
import { readIpState } from '../kernel-observer';
import { DhcpClients } from './dhcp-client';
import { linkInfo } from './kernel-interfaces';
import { routeArgs, type IpConfig } from './ip-config';
import { checkNames, runIp as ip, type LiveApplier, type SharedShape, type UnsharedShape } from './live-applier';

export class Iproute2Live implements LiveApplier {
  readonly name = 'iproute2';

  constructor(private readonly dhcp: DhcpClients) {}

  canDhcp(): boolean {
    return DhcpClients.available() !== undefined;
  }

  async toShared(s: SharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    if (!isMacAddress(s.mac)) throw new Error(`not a MAC address: ${s.mac}`);
    // The kernel counts forward_delay in centiseconds (USER_HZ).
    const bridgeArgs = ['type', 'bridge', 'stp_state', s.stp ? '1' : '0', 'forward_delay', String(s.forwardDelay * 100)];
    const state = await readIpState();
    const existing = linkInfo(state, s.bridge);
    if (existing === undefined) await ip(['link', 'add', 'name', s.bridge, 'address', s.mac, ...bridgeArgs]);
    else if (existing.kind === 'bridge') await ip(['link', 'set', 'dev', s.bridge, 'address', s.mac, ...bridgeArgs]);
    else throw new Error(`${s.bridge} exists and is not a bridge`);
    await ip(['link', 'set', 'dev', s.bridge, 'up']);
    await this.dhcp.stop(s.nic);
    await ip(['addr', 'flush', 'dev', s.nic, 'scope', 'global']);
    await ip(['link', 'set', 'dev', s.nic, 'master', s.bridge]);
    await ip(['link', 'set', 'dev', s.nic, 'up']);
    await this.configure(s.bridge, s.config);
  }

  async toUnshared(s: UnsharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    await this.dhcp.stop(s.bridge);
    const state = await readIpState();
    const bridge = linkInfo(state, s.bridge);
    if (bridge?.kind === 'bridge') await ip(['link', 'del', 'dev', s.bridge]);
    const nic = linkInfo(state, s.nic);
    if (nic === undefined) throw new Error(`${s.nic} does not exist`);
    if (nic.master !== undefined && nic.master !== s.bridge) throw new Error(`${s.nic} is a port of ${nic.master}, not of ${s.bridge}`);
    if (nic.master !== undefined && bridge?.kind !== 'bridge') await ip(['link', 'set', 'dev', s.nic, 'nomaster']);
    // Down and up: the kernel drops the port's IPv6 state and solicits a router at once, so an
    // autoconfigured address comes back without waiting for the next unsolicited advertisement.
    await ip(['link', 'set', 'dev', s.nic, 'down']);
    await ip(['link', 'set', 'dev', s.nic, 'up']);
    await this.configure(s.nic, s.config);
  }

  private async configure(device: string, config: IpConfig): Promise<void> {
    for (const address of config.addresses) await ip(['addr', 'replace', address, 'dev', device]);
    // Routes without a gateway first: a gateway must be reachable when its route is added.
    const ordered = [...config.routes].sort((a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined));
    for (const route of ordered) await ip(routeArgs(route, device));
    if (config.dhcp) await this.dhcp.start(device);
  }
}

