// SPDX-License-Identifier: GPL-2.0-or-later
// Applying a Share through NetworkManager: a bridged share's bridge and port profiles (the NIC
// moves onto the bridge), or a routed share's bridge alone (the NIC keeps its profile).
import * as t from '../../dbus-wire/bus-value';
import type { Log } from '../../log';
import type { HostSnapshot } from '../../bridge/host-network';
import type { Progress } from '../../bridge/progress';
import type { SharePlan } from '../../bridge/share-plan';
import type { NmChangeTransactions } from './nm-change-transaction';
import type { NmChangeWaiters } from './nm-change-waiters';
import type { NmClient } from './nm-client';
import { deviceAddresses, deviceNamed, NM_DEVICE, requiredDevice } from './nm-devices';
import { translateNmError } from './nm-errors';
import type { NmObjectCache } from './nm-object-cache';
import type { NmProfileStore } from './nm-profile-store';
import { isSystemProfile } from './nm-profile-owner';
import { routedBridgeProfile } from './nm-routed-profile';
import { getSetting, type NmSettings } from './nm-settings';
import { IPV6_STABLE_PRIVACY_NOTE, ipv6AddressesWillChange, shareProfiles } from './nm-translate';

// How long a static NIC's bridge may take to carry its addresses before the NIC becomes its port.
const BRIDGE_ADDRESS_WAIT_MS = 2000;
const BRIDGE_DEVICE_WAIT_MS = 2000;

/** What applying a Share or an Unshare works with: the backend's parts. */
export interface NmApplyContext {
  readonly cache: NmObjectCache;
  readonly client: NmClient;
  readonly log: Log;
  readonly profiles: NmProfileStore;
  readonly transactions: NmChangeTransactions;
  readonly waiters: NmChangeWaiters;
  /** The host as the backend shows it now. */
  snapshot(): HostSnapshot;
  /** Says the backend's state changed. */
  invalidate(): void;
}

/** A profile's static IPv4 addresses (ipv4.address-data), as address/prefix. */
function staticAddresses(settings: NmSettings): string[] {
  return (getSetting(settings, 'ipv4', 'address-data', t.array(t.vardict)) ?? []).flatMap((entry) => {
    const address = entry.get('address');
    const prefix = entry.get('prefix');
    return address?.signature === 's' && prefix?.signature === 'u' ? [`${String(address.value)}/${String(prefix.value)}`] : [];
  });
}

export async function applyShare(nm: NmApplyContext, plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
  if (plan.mode === 'routed') return applyRoutedShare(nm, plan, progress, ready);
  const device = requiredDevice(nm.cache, plan.nic);
  const original = nm.profiles.activeOn(device);
  const profiles = shareProfiles(plan, original?.settings);
  // In memory until the commit saves them: a reboot before it (a change awaiting Confirm) finds
  // them gone and the NIC's own profile back.
  const add = async (settings: NmSettings): Promise<string> => {
    const path = await nm.client.addConnection(settings, false);
    nm.profiles.set(path, settings);
    return path;
  };
  // A static NIC's bridge comes up with its address before the port exists (see bridgeFirst).
  const staticBridge = getSetting(profiles.bridge, 'ipv4', 'method', t.string) === 'manual' ? staticAddresses(profiles.bridge) : [];
  try {
    await nm.transactions.noteAdded(plan.nic, [profiles.bridge, profiles.port], plan.persist);
    let portPath: string;
    if (staticBridge.length > 0) {
      const bridgePath = await add(profiles.bridge);
      nm.invalidate();
      // The bridge comes up with the NIC's addresses: that is the change itself.
      await ready;
      await bridgeFirst(nm, plan, bridgePath, staticBridge);
      portPath = await add(profiles.port);
    } else {
      // The port names its bridge by UUID, resolved at activation: both can be added at once.
      let bridgePath: string;
      [bridgePath, portPath] = await Promise.all([add(profiles.bridge), add(profiles.port)]);
      // The port's activation brings its bridge up on the device NM keeps for the bridge's
      // profile. Before NM lists that profile on a device of the bridge's name, it refused with
      // "Master connection … can't be activated: No device available" (seen under load, when a
      // device of that name from an earlier bridge was still going away).
      if (!(await nm.waiters.until(() => deviceOffers(nm.cache, plan.bridge, bridgePath), BRIDGE_DEVICE_WAIT_MS))) {
        nm.log.info(`NetworkManager offers no device for ${plan.bridge}'s profile within ${BRIDGE_DEVICE_WAIT_MS} ms; activating ${plan.nic}'s port anyway`);
      }
      await ready;
    }
    nm.invalidate();
    progress('profiles-added', `added the profiles '${getSetting(profiles.bridge, 'connection', 'id', t.string) ?? plan.bridge}' and '${getSetting(profiles.port, 'connection', 'id', t.string) ?? plan.nic}'`);
    if (ipv6AddressesWillChange(original?.settings)) nm.log.info(`${plan.nic}: ${IPV6_STABLE_PRIVACY_NOTE}`);
    // Activating the port brings its bridge up with it (if it isn't yet), and takes the NIC off its old profile.
    await nm.client.activateConnection(portPath, device.path);
  } catch (err) {
    throw translateNmError(err, `sharing ${plan.nic}`);
  }
}

/**
 * Routed: the guests' bridge alone, in memory until the commit like a bridged share's profiles;
 * the NIC and its profile are not touched. The data plane comes after, from the domain.
 */
async function applyRoutedShare(nm: NmApplyContext, plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
  const nicDevice = deviceNamed(nm.cache, plan.nic);
  const own = nicDevice === undefined ? undefined : nm.profiles.activeOn(nicDevice)?.settings;
  // A user's private profile lends ours nothing, not even its zone.
  const zone = own !== undefined && isSystemProfile(own) ? getSetting(own, 'connection', 'zone', t.string) : undefined;
  const profile = routedBridgeProfile(plan, undefined, zone);
  try {
    await nm.transactions.noteAdded(plan.nic, [profile], plan.persist);
    const path = await nm.client.addConnection(profile, false);
    nm.profiles.set(path, profile);
    nm.invalidate();
    progress('profiles-added', `added the profile '${getSetting(profile, 'connection', 'id', t.string) ?? plan.bridge}'; ${plan.nic} keeps its own`);
    await ready;
    await nm.client.activateConnection(path, '/');
  } catch (err) {
    throw translateNmError(err, `sharing ${plan.nic} routed`);
  }
}

/**
 * A static address can be on the bridge before the NIC leaves its profile. Activating the port
 * at once takes the address off the NIC some 20–40 ms before NetworkManager puts it on the
 * bridge, and a LAN host's packets in that gap find no one owning the address (a ping lost at
 * 16 ms intervals). So the bridge comes up first, before its port profile exists (else its
 * autoconnect-slaves would start the port at once), and once NetworkManager shows the static
 * IPv4 addresses on it (it mirrors the kernel's), the port follows; in between both carry them,
 * which is harmless (the NIC's routes have the lower metric). DHCP has no such way: the bridge
 * can only ask for the lease once the NIC is its port.
 */
async function bridgeFirst(nm: NmApplyContext, plan: SharePlan, bridgePath: string, wanted: readonly string[]): Promise<void> {
  if (wanted.length === 0) return;
  await nm.client.activateConnection(bridgePath, '/');
  const carried = () => {
    const bridge = deviceNamed(nm.cache, plan.bridge);
    const has = new Set(bridge === undefined ? [] : deviceAddresses(nm.cache, bridge.path));
    return wanted.every((a) => has.has(a));
  };
  if (!(await nm.waiters.until(carried, BRIDGE_ADDRESS_WAIT_MS))) {
    nm.log.info(`${plan.bridge} did not carry ${wanted.join(', ')} within ${BRIDGE_ADDRESS_WAIT_MS} ms of its activation; adding ${plan.nic} as its port anyway`);
  }
}

/** Whether NM has a device named `name` on which the profile at `profilePath` can be activated. */
function deviceOffers(cache: NmObjectCache, name: string, profilePath: string): boolean {
  const path = cache.devicePath(name);
  return path !== undefined && (cache.property(path, NM_DEVICE, 'AvailableConnections', t.array(t.objectPath)) ?? []).includes(profilePath);
}
