// SPDX-License-Identifier: GPL-2.0-or-later
// The guests' /32 routes on the bridge and proxy ARP entries on the uplink: the kernel's tables read
// for routed-plan.ts's planGuests(), its answer applied (marked proto 212), what changed for whom
// logged, and a silent guest pinged so that the kernel asks it.
import type { Log } from '../../log';
import {
  hostRouteDestinations, parseNeighbours, planGuests, routeGateways, ROUTED_PROTOCOL, UNANSWERED_GRACE_MS,
  type Guest, type GuestPlan, type Ipv4Prefix, type RefusedGuest, type RoutedLinks,
} from './routed-plan';
import { bridgeMacs, COMMAND_TIMEOUT_MS, ip, ipIfPresent, ipJson, ourProxies, runCommand } from './routed-kernel-io';

/** Reads the routes, neighbours and proxy entries now and plans the guests from them and `known`. */
export async function readGuestPlan(links: RoutedLinks, uplink: Ipv4Prefix | undefined, known: readonly Guest[], nowMs: number): Promise<GuestPlan> {
  return planGuests({
    uplink,
    gateways: routeGateways(await ipJson(['-4', 'route', 'show', 'dev', links.uplink])),
    bridgeNeighbours: parseNeighbours(await ipJson(['-4', 'neigh', 'show', 'dev', links.bridge])),
    uplinkNeighbours: parseNeighbours(await ipJson(['-4', 'neigh', 'show', 'dev', links.uplink])),
    routes: hostRouteDestinations(await ipJson(['-4', 'route', 'show', 'dev', links.bridge, 'proto', String(ROUTED_PROTOCOL)])),
    proxies: await ourProxies(links.uplink),
    known,
    bridgeMacs: await bridgeMacs(links.bridge),
    nowMs,
  });
}

export async function applyGuestPlan(links: RoutedLinks, plan: GuestPlan): Promise<void> {
  // Routes first, then the proxy entry: the kernel answers ARP for an address only while it is routed elsewhere.
  for (const address of plan.addRoutes) await ip(['-4', 'route', 'replace', `${address}/32`, 'dev', links.bridge, 'proto', String(ROUTED_PROTOCOL), 'scope', 'link']);
  for (const address of plan.addProxies) await ip(['-4', 'neigh', 'replace', 'proxy', address, 'dev', links.uplink, 'protocol', String(ROUTED_PROTOCOL)]);
  for (const address of plan.removeProxies) await ipIfPresent(['-4', 'neigh', 'del', 'proxy', address, 'dev', links.uplink]);
  for (const address of plan.removeRoutes) await ipIfPresent(['-4', 'route', 'del', `${address}/32`, 'dev', links.bridge, 'proto', String(ROUTED_PROTOCOL)]);
}

/** The guests and refused claims of the last reading. */
export interface GuestsBefore {
  readonly guests: readonly Guest[];
  readonly refused: readonly RefusedGuest[];
}

/** Logs each guest that came, went quiet or went, and each claim newly refused. */
export function logGuestChanges(links: RoutedLinks, log: Log, before: GuestsBefore, plan: GuestPlan): void {
  for (const guest of plan.guests.filter((g) => !before.guests.some((k) => k.address === g.address && k.mac === g.mac))) {
    log.info(`routed sharing of ${links.uplink}: guest ${guest.address} (${guest.mac}) on ${links.bridge} is on the LAN`);
  }
  for (const quiet of plan.guests.filter((g) => g.unansweredSince !== undefined && before.guests.some((k) => k.address === g.address && k.unansweredSince === undefined))) {
    log.info(`routed sharing of ${links.uplink}: guest ${quiet.address} (${quiet.mac}) does not answer ARP; its route stays while its MAC is on ${links.bridge}, for ${String(UNANSWERED_GRACE_MS / 1000)} s at most`);
  }
  for (const gone of before.guests.filter((k) => !plan.guests.some((g) => g.address === k.address))) {
    log.info(`routed sharing of ${links.uplink}: guest ${gone.address} (${gone.mac}) is gone from ${links.bridge}`);
  }
  for (const refused of plan.refused.filter((r) => !before.refused.some((k) => k.address === r.address && k.mac === r.mac))) {
    log.warn(`routed sharing of ${links.uplink}: not routing ${refused.address} (claimed by ${refused.mac} on ${links.bridge}): ${refused.reason}`);
  }
}

/** The guests that stopped answering since the last reading. */
export function newlyUnanswered(before: readonly Guest[], plan: GuestPlan): Guest[] {
  return plan.guests.filter((g) => g.unansweredSince !== undefined && !before.some((k) => k.address === g.address && k.unansweredSince !== undefined));
}

/**
 * A guest whose MAC the bridge no longer knows (its tap is gone, or it was silent for the
 * bridge's ageing time) gets one ping: the kernel then asks it on the bridge, and an entry
 * that fails is a guest gone, whose route the next reading removes.
 */
export async function probeSilentGuests(bridge: string, guests: readonly Guest[]): Promise<void> {
  if (guests.length === 0) return;
  const known = new Set(await bridgeMacs(bridge));
  await Promise.all(guests.filter((g) => !known.has(g.mac) || g.unansweredSince !== undefined).map((guest) =>
    // Its answer, or its silence, is the neighbour event the next reading acts on.
    runCommand('ping', ['-n', '-q', '-c', '1', '-W', '1', '-I', bridge, guest.address], { timeout: COMMAND_TIMEOUT_MS }).catch(() => undefined)));
}
