// SPDX-License-Identifier: GPL-2.0-or-later
// The firewall's part in a change, and the one owner of our rules' removal: rules for a bridge
// live as long as the bridge. A Share lets its bridge through before the NIC moves (iptables and
// nft match names, not devices, so a guest's first DHCP request already passes); whichever way a
// change ends, changeEnded() takes the rules out when it left no bridge behind.
import type { FirewallKeeper } from './firewall-keeper';
import { type Log, errorMessage } from '../log';
import { ShareError } from './share-error';

export class ChangeFirewall {
  constructor(
    /** undefined: the firewall is left alone. */
    private readonly keeper: FirewallKeeper | undefined,
    private readonly log: Log,
  ) {}

  /**
   * Adds the rules `bridge` needs (`uplink`: a routed share's NIC, for the traffic forwarded between
   * the two); a failure takes out what went in and is the caller's answer (ShareError).
   */
  async letThrough(bridge: string, uplink?: string): Promise<void> {
    if (this.keeper === undefined) return;
    try {
      const added = await this.keeper.allow(bridge, uplink);
      if (added.length > 0) this.log.info(`firewall: accepting traffic ${uplink === undefined ? `within ${bridge}` : `between ${bridge} and ${uplink}`} in ${added.join(', ')}`);
    } catch (err) {
      await this.forget(bridge);
      throw new ShareError('Failed', `could not add firewall rules for ${bridge}: ${errorMessage(err)}`, "share with the option 'firewall' false to leave the firewall alone");
    }
  }

  /**
   * A change is over: committed, or rolled back (also one that never began). A Share not made
   * and an Unshare made leave no bridge, so no rules of ours for it either.
   */
  async changeEnded(change: { readonly operation: 'share' | 'unshare'; readonly bridge: string }, committed: boolean): Promise<void> {
    const bridgeGone = change.operation === 'share' ? !committed : committed;
    if (bridgeGone) await this.forget(change.bridge);
  }

  /** Our rules for a bridge that is gone (or never came): a failure to remove them is logged, not the caller's. */
  private async forget(bridge: string): Promise<void> {
    if (this.keeper === undefined) return;
    try {
      const removed = await this.keeper.forget(bridge);
      if (removed > 0) this.log.info(`firewall: removed ${removed} rule(s) of ours for ${bridge}`);
    } catch (err) {
      this.log.warn(`firewall: could not remove our rules for ${bridge}: ${errorMessage(err)}`);
    }
  }
}
