// SPDX-License-Identifier: GPL-2.0-or-later
// Applying an Unshare through NetworkManager: the NIC back on its own profile (or a DHCP one),
// the bridge down; our profiles deleted once the change is committed.
import { errorMessage } from '../../log';
import type { Progress } from '../../bridge/progress';
import type { UnsharePlan } from '../../bridge/share-plan';
import type { NmApplyContext } from './nm-apply-share';
import { deviceNamed, requiredDevice } from './nm-devices';
import { isSystemProfile } from './nm-profile-owner';
import { connectionUuid, profileFitsInterface } from './nm-settings';
import { dhcpProfile } from './nm-translate';

export async function applyUnshare(nm: NmApplyContext, plan: UnsharePlan, _progress: Progress, ready: Promise<void>): Promise<void> {
  await ready;
  if (plan.mode === 'routed') {
    // The NIC was never touched: only the guests' bridge goes (its profile after the commit).
    const bridgeDevice = deviceNamed(nm.cache, plan.bridge);
    if (bridgeDevice !== undefined && bridgeDevice.activeConnection !== '/') await nm.client.deactivateConnection(bridgeDevice.activeConnection);
    return;
  }
  const device = requiredDevice(nm.cache, plan.nic);
  const port = nm.profiles.ours(plan.nic).find((p) => p.tag.role === 'port');
  const originalUuid = port?.tag.originalUuid ?? '';
  // The original must be a system-wide profile for this NIC: never bring up a profile of another
  // interface, nor a user's profile that took the UUID of one deleted meanwhile.
  let originalPath = [...nm.profiles.entries()].find(([, s]) => originalUuid !== '' && connectionUuid(s) === originalUuid && isSystemProfile(s) && profileFitsInterface(s, plan.nic))?.[0];
  if (originalPath === undefined) {
    // The NIC had no profile before (or it was deleted meanwhile): give it DHCP.
    nm.log.info(`${plan.nic}: its original profile is gone or not for ${plan.nic}; activating a DHCP profile`);
    const nicType = nm.snapshot().interfaces.find((i) => i.name === plan.nic)?.type ?? 'ethernet';
    const dhcp = dhcpProfile(plan.nic, nicType);
    await nm.transactions.noteAdded(plan.nic, [dhcp]);
    originalPath = await nm.client.addConnection(dhcp, false);
  }
  await nm.client.activateConnection(originalPath, device.path);
  const bridgeDevice = deviceNamed(nm.cache, plan.bridge);
  if (bridgeDevice !== undefined && bridgeDevice.activeConnection !== '/') {
    await nm.client.deactivateConnection(bridgeDevice.activeConnection).catch((err: unknown) => {
      // Already gone with its last port: nothing left to deactivate.
      nm.log.warn(`deactivating ${plan.bridge}: ${errorMessage(err)}`);
    });
  }
}

/** After the commit: our profiles for the NIC go. */
export async function finishUnshare(nm: NmApplyContext, plan: UnsharePlan): Promise<void> {
  for (const { path } of nm.profiles.ours(plan.nic)) {
    await nm.client.deleteConnection(path);
    nm.profiles.delete(path);
  }
  nm.invalidate();
}
