// SPDX-License-Identifier: GPL-2.0-or-later
// A routed Share or Unshare as the transaction runs it (sharing-change.ts has the bridged ones).
// The NIC is never touched: what must hold after the change is that it still carries the host's
// addresses and reaches its gateways, and that the guests' bridge is there (Share) or gone
// (Unshare). A Share is verified by a probe guest that gets a lease from the LAN's DHCP server
// through the relay, before the call returns; the data plane is stopped again whenever the
// change ends without the bridge, and started again when an Unshare is rolled back.
import { errorMessage } from '../log';
import type { GuestRouting } from './guest-routing';
import type { SettingsBackend } from './settings-backend';
import { ShareError } from './share-error';
import type { SharePlan, UnsharePlan } from './share-plan';
import { callSeconds } from './share-request';
import type { ChangeContext, SharingChange } from './sharing-change';
import { NO_IP_REQUIREMENTS, type LiveHost } from './verify';

// Of a call's time (callSeconds), what a rollback and the reply may need after verification gave up.
const ROLLBACK_RESERVE_MS = 3000;
// The probe's share of the call: a relayed lease takes a second or two; the rest is verification's.
const PROBE_TIMEOUT_MS = 8000;

/** Problems of a routed share: the guests' bridge is up and the NIC is not its port (nor anyone's). */
export function routedProblems(after: LiveHost, nic: string, bridge: string): string[] {
  const br = after.links.get(bridge);
  if (br === undefined) return [`the guests' bridge ${bridge} does not exist`];
  const problems: string[] = [];
  if (br.kind !== 'bridge') problems.push(`${bridge} is not a bridge`);
  if (!br.up) problems.push(`${bridge} is down`);
  const link = after.links.get(nic);
  if (link === undefined) problems.push(`${nic} is gone`);
  else if (link.controller !== undefined) problems.push(`${nic} is a port of ${link.controller}; routed sharing leaves it on its own`);
  return problems;
}

/** Problems after a routed unshare: the guests' bridge is gone, the NIC still on its own. */
export function routedGoneProblems(after: LiveHost, nic: string, bridge: string): string[] {
  const problems: string[] = [];
  if (after.links.has(bridge)) problems.push(`the guests' bridge ${bridge} still exists`);
  const link = after.links.get(nic);
  if (link?.controller !== undefined) problems.push(`${nic} is a port of ${link.controller}`);
  return problems;
}

export function routedShareChange(context: ChangeContext, backend: SettingsBackend, plane: GuestRouting, plan: SharePlan, confirmTimeout: number): SharingChange {
  let started = false;
  return {
    nic: plan.nic, operation: 'share', bridge: plan.bridge, routed: true, interfaces: [plan.nic], watched: [plan.nic, plan.bridge],
    rollbackTimeout: plan.rollbackTimeout, confirmTimeout, what: `share ${plan.nic} routed`,
    deadline: context.clock.now() + callSeconds() * 1000 - ROLLBACK_RESERVE_MS,
    apply: async (progress, ready) => {
      if (plan.modeChoice !== '') progress('mode-chosen', plan.modeChoice);
      await backend.applyShare(plan, progress, ready);
      started = true;
      const doing = await plane.start(plan.nic, plan.bridge);
      progress('routing', doing);
      let lease: { readonly address: string; readonly releaseProblem?: string };
      try {
        lease = await plane.probeLease(plan.bridge, PROBE_TIMEOUT_MS);
      } catch (err) {
        // The relay is a local process: a host firewall's input rules (firewalld's zones) must let DHCP in.
        throw new ShareError('RolledBack', `a probe guest on ${plan.bridge} got no DHCP lease through ${plan.nic}: ${errorMessage(err)}; `
          + `a firewall on this host must accept DHCP to the relay (UDP port 67) on ${plan.nic} and ${plan.bridge} (firewalld: the service dhcp in ${plan.nic}'s zone)`);
      }
      const letGo = lease.releaseProblem === undefined ? 'and let it go' : `but could not let it go (${lease.releaseProblem}): the server keeps it until it expires`;
      if (lease.releaseProblem !== undefined) context.log.warn(`the probe on ${plan.bridge}: ${lease.releaseProblem}`);
      progress('probe-leased', `a probe guest on ${plan.bridge} got ${lease.address} from the LAN's DHCP server through ${plan.nic}, ${letGo}`);
    },
    placement: (after) => routedProblems(after, plan.nic, plan.bridge),
    placed: { step: 'bridge-up', message: `${plan.bridge} is up for the guests; ${plan.nic} keeps its own configuration` },
    // The host's identity stays on the NIC: its addresses, routes and gateways must hold there.
    readBefore: () => context.verification.expectIdentity(plan.nic, plan.nic, NO_IP_REQUIREMENTS),
    // Routed guests' traffic is forwarded between the bridge and the NIC: let it through first.
    prerequisite: () => (plan.firewall ? context.firewall.letThrough(plan.bridge, plan.nic) : Promise.resolve()),
    afterCommit: async () => context.log.info(`${plan.nic} is shared routed through ${plan.bridge}`),
    ended: async (committed) => {
      if (committed || !started) return;
      await stopQuietly(context, plane, plan.nic);
    },
  };
}

export function routedUnshareChange(context: ChangeContext, backend: SettingsBackend, plane: GuestRouting, plan: UnsharePlan, confirmTimeout: number): SharingChange {
  let stopped = false;
  return {
    nic: plan.nic, operation: 'unshare', bridge: plan.bridge, routed: true, interfaces: [plan.nic, plan.bridge], watched: [plan.nic, plan.bridge],
    rollbackTimeout: plan.rollbackTimeout, confirmTimeout, what: `unshare ${plan.nic} (routed)`,
    deadline: context.clock.now() + callSeconds() * 1000 - ROLLBACK_RESERVE_MS,
    apply: async (progress, ready) => {
      await ready;
      // The data plane first: it puts the host back while the bridge it lent an address to is there.
      stopped = true;
      await plane.stop(plan.nic);
      progress('routing', `stopped routing for the guests of ${plan.nic}; its sysctls, routes and proxy entries are as before`);
      await backend.applyUnshare(plan, progress, Promise.resolve());
    },
    placement: (after) => routedGoneProblems(after, plan.nic, plan.bridge),
    placed: { step: 'nic-restored', message: `${plan.bridge} is gone; ${plan.nic} kept its own configuration throughout` },
    readBefore: () => context.verification.expectIdentity(plan.nic, plan.nic, NO_IP_REQUIREMENTS),
    prerequisite: () => Promise.resolve(),
    afterCommit: async () => {
      await backend.finishUnshare(plan);
      context.log.info(`${plan.nic} is no longer shared`);
    },
    // Rolled back: the bridge is back, and so must its data plane be.
    ended: async (committed) => {
      if (committed || !stopped) return;
      await plane.start(plan.nic, plan.bridge).then(
        (doing) => context.log.info(`unshare ${plan.nic} rolled back: ${doing}`),
        (err: unknown) => context.log.error(`unshare ${plan.nic} rolled back, but its routing did not start again: ${errorMessage(err)}`),
      );
    },
  };
}

async function stopQuietly(context: ChangeContext, plane: GuestRouting, nic: string): Promise<void> {
  try {
    await plane.stop(nic);
  } catch (err) {
    context.log.error(`stopping the routing for the guests of ${nic}: ${errorMessage(err)}`);
  }
}
