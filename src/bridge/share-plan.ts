// SPDX-License-Identifier: GPL-2.0-or-later
// A plan: the request, checked against the host, with every name decided. Pure: built from a
// snapshot and the options, so it can be tested without any daemon.
import type { BackendDescription } from './backend-description';
import { shareability, type HostInterface, type HostSnapshot } from './host-network';
import { validateInterfaceName } from './interface-name';
import { ShareError } from './share-error';
import { effectiveForwardDelay, minRollbackTimeout, ROLLBACK_MARGIN_SECONDS, type ShareOptions, type UnshareOptions } from './share-request';

export interface SharePlan {
  readonly nic: string;
  /** The NIC's MAC: the bridge keeps it, so the host's identity on the LAN doesn't change. */
  readonly nicMac: string;
  readonly nicType: HostInterface['type'];
  readonly bridge: string;
  readonly stp: boolean;
  readonly forwardDelay: number;
  readonly rollbackTimeout: number;
  readonly persist: boolean;
  readonly firewall: boolean;
}

export interface UnsharePlan {
  readonly nic: string;
  readonly bridge: string;
  readonly rollbackTimeout: number;
  /** Ports of the bridge other than the NIC (guests' taps) that a forced unshare cuts off. */
  readonly guests: readonly string[];
}

/** br-<nic> when it fits the kernel's 15 bytes, else br<n>: deterministic and free. */
export function defaultBridgeName(nic: string, taken: ReadonlySet<string>): string {
  const preferred = `br-${nic}`;
  if (Buffer.byteLength(preferred) <= 15 && !taken.has(preferred)) return preferred;
  for (let n = 0; ; n++) if (!taken.has(`br${n}`)) return `br${n}`;
}

export function planShare(snapshot: HostSnapshot, nic: string, options: ShareOptions, backend: BackendDescription): SharePlan {
  validateInterfaceName(nic);
  if (options.bridge !== undefined) validateInterfaceName(options.bridge, 'bridge');
  const iface = snapshot.interfaces.find((i) => i.name === nic);
  if (iface === undefined) throw new ShareError('NoSuchInterface', `there is no network interface named ${nic}`);
  const sharedThrough = snapshot.shared.get(nic) ?? iface.sharedThrough;
  if (sharedThrough !== undefined) throw new ShareError('AlreadyShared', `${nic} is already shared through bridge ${sharedThrough}`);
  const verdict = shareability(iface, backend);
  if (!verdict.shareable) throw new ShareError('NotShareable', `${nic} cannot be shared: ${verdict.reason}`, verdict.hint);
  if (options.stp && options.forwardDelay === 1) {
    throw new ShareError('InvalidArgs', "with STP on, 'forward-delay' must be between 2 and 30 seconds (the kernel's range)");
  }
  checkRollbackTimeout(options.rollbackTimeout, minRollbackTimeout(options), options.stp ? ' with STP and this forward delay' : '');
  const forwardDelay = effectiveForwardDelay(options);
  const taken = new Set(snapshot.interfaces.map((i) => i.name));
  let bridge: string;
  if (options.bridge !== undefined) {
    if (taken.has(options.bridge)) throw new ShareError('InvalidArgs', `an interface or profile named ${options.bridge} already exists`, 'choose another bridge name');
    bridge = options.bridge;
  } else {
    bridge = defaultBridgeName(nic, taken);
  }
  return {
    nic, nicMac: iface.mac, nicType: iface.type, bridge,
    stp: options.stp, forwardDelay, rollbackTimeout: options.rollbackTimeout, persist: options.persist,
    firewall: options.firewall,
  };
}

export function planUnshare(snapshot: HostSnapshot, nic: string, options: UnshareOptions, bridgePorts: readonly string[]): UnsharePlan {
  validateInterfaceName(nic);
  checkRollbackTimeout(options.rollbackTimeout, minRollbackTimeout(), '');
  const bridge = snapshot.shared.get(nic);
  if (bridge === undefined) {
    if (!snapshot.interfaces.some((i) => i.name === nic)) throw new ShareError('NoSuchInterface', `there is no network interface named ${nic}`);
    throw new ShareError('NotShared', `${nic} is not shared by this service`);
  }
  const guests = bridgePorts.filter((p) => p !== nic);
  if (guests.length > 0 && !options.force) {
    throw new ShareError('Busy', `guests are still attached to ${bridge}: ${guests.join(', ')}`, "stop them first, or unshare with the option 'force' to cut them off");
  }
  return { nic, bridge, rollbackTimeout: options.rollbackTimeout, guests };
}

/** A rollback timer that would fire while verification still waits undoes a good change: refused. */
export function checkRollbackTimeout(seconds: number, minimum: number, why: string): void {
  if (seconds < minimum) {
    throw new ShareError('InvalidArgs', `option 'rollback-timeout' must be at least ${minimum} seconds${why}: verification may take ${minimum - ROLLBACK_MARGIN_SECONDS} s, and the rollback must not come first`);
  }
}
