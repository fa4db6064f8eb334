// SPDX-License-Identifier: GPL-2.0-or-later
// A fleet of sealed labs on ONE LAN with ONE DHCP server: many hosts, as an administrator's rack.
// The controller is an ordinary lab without NetworkManager: its `lan` namespace (lab-init.sh) is
// the fleet's LAN, with the bridge `lanbr`, dnsmasq and the router at 192.0.2.1; its own namespace
// is a machine on that LAN at CONTROLLER_ADDRESS (e.g. where Ansible runs). Each host is a lab
// started with `lan: 'external'`: its eth0's peer waits as `lan0` inside the host, and is moved
// from there straight into the controller's LAN namespace and onto `lanbr`; NetworkManager on the
// host then connects "Wired eth0" by DHCP. Devices are only ever created inside labs and moved
// between their namespaces: the host machine's network is never touched.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { Lab, waitFor, type LabOptions } from './lab';
import { ipv4, links } from './nm-state';

const execFileAsync = promisify(execFile);

export const CONTROLLER_ADDRESS = '192.0.2.2';

export interface FleetHost {
  /** The host's name: its hostname, and its port on the LAN's bridge. */
  readonly name: string;
  readonly lab: Lab;
  /** eth0's MAC. */
  readonly mac: string;
  /** The IPv4 address the LAN's DHCP server leased to eth0. */
  readonly address: string;
}

export interface LabFleetOptions {
  /** How many hosts (named host1, host2, …). */
  readonly hosts: number;
  /** Options for every host's lab (its LAN, MAC and hostname are the fleet's to choose). */
  readonly hostOptions?: Omit<LabOptions, 'lan' | 'mac' | 'hostname' | 'nicProfile'>;
}

export class LabFleet {
  private constructor(readonly controller: Lab, readonly hosts: readonly FleetHost[]) {}

  static async start(options: LabFleetOptions): Promise<LabFleet> {
    const names = Array.from({ length: options.hosts }, (_, i) => `host${i + 1}`);
    const macs = names.map((_, i) => `52:54:00:0a:00:${(i + 1).toString(16).padStart(2, '0')}`);
    // Started side by side; if any fails, the others are stopped before the error goes up.
    const started = await Promise.allSettled([
      Lab.start({ networkManager: false, hostname: 'controller' }),
      ...names.map((name, i) => Lab.start({ ...options.hostOptions, lan: 'external', mac: macs[i] ?? '', hostname: name })),
    ]);
    const labs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const [controller, ...hostLabs] = labs;
    if (failure !== undefined || controller === undefined) {
      await Promise.all(labs.map((lab) => lab.stop()));
      throw failure?.reason ?? new Error('the fleet did not start');
    }
    try {
      await controller.sh(`ip addr add ${CONTROLLER_ADDRESS}/24 dev eth0`);
      const hosts: FleetHost[] = [];
      for (const [i, lab] of hostLabs.entries()) {
        const name = names[i] ?? `host${i + 1}`;
        await plug(controller, lab, name);
        hosts.push({ name, lab, mac: macs[i] ?? '', address: '' });
      }
      // NetworkManager on each host connects by itself once eth0 has a carrier: wait for the leases.
      const leased = await Promise.all(hosts.map(async (host) => ({
        ...host,
        address: await waitFor(`${host.name}'s DHCP lease on eth0`, async () => ipv4((await links(host.lab)).get('eth0')), 120_000),
      })));
      return new LabFleet(controller, leased);
    } catch (err) {
      await Promise.all(labs.map((lab) => lab.stop()));
      throw err;
    }
  }

  host(name: string): FleetHost {
    const host = this.hosts.find((h) => h.name === name);
    if (host === undefined) throw new Error(`the fleet has no host ${name}`);
    return host;
  }

  /** The LAN's DHCP server's lease file (one line per lease: expiry, MAC, address, name, client id). */
  leases(): string {
    return readFileSync(join(this.controller.dir, 'dnsmasq.leases'), 'utf8');
  }

  async stop(): Promise<void> {
    await Promise.all([this.controller, ...this.hosts.map((h) => h.lab)].map((lab) => lab.stop()));
  }
}

/**
 * Moves `host`'s waiting `lan0` into the controller's LAN namespace as `name`, a port of lanbr.
 * One nsenter (run from outside both labs, like Lab.exec's) holds the host's network namespace and
 * the controller's mount namespace, where /run/netns/lan names the LAN: both are opened before
 * either is entered, so `ip` renames and moves the device without it ever leaving the labs.
 */
async function plug(controller: Lab, host: Lab, name: string): Promise<void> {
  await execFileAsync('nsenter', [`--net=/proc/${host.pid}/ns/net`, `--mount=/proc/${controller.pid}/ns/mnt`, '--',
    'sh', '-euc', `ip link set lan0 name ${name}; ip link set ${name} netns lan`], { timeout: 30_000 });
  await controller.sh(`ip -n lan link set ${name} master lanbr up`);
}
