// SPDX-License-Identifier: GPL-2.0-or-later
// Whose a NetworkManager profile is: the one rule every reader of profiles here applies.
// NetworkManager is multi-user: a profile whose `connection.permissions` names users belongs to
// them (NM shows it to them only, and its settings.modify.own lets any active local user make one
// with whatever content). Our daemon runs as root and sees them all, so it must not lend them its
// authority: a private profile is never copied into ours, never shown to a caller, never trusted
// for a tag, and never a reason to refuse. Pure: no bus calls here.
import * as t from '../../dbus-wire/bus-value';
import { TAG_BRIDGE, TAG_FIREWALL, TAG_NIC, TAG_ORIGINAL, TAG_ROLE, getSetting, userData, type NmSettings } from './nm-settings';

/** A profile visible to some users only (`connection.permissions` not empty): theirs, not the host's. */
export function isPrivateProfile(settings: NmSettings): boolean {
  return (getSetting(settings, 'connection', 'permissions', t.array(t.string)) ?? []).length > 0;
}

/** A profile the administrator made (or allowed): the only kind whose settings the daemon vouches for. */
export function isSystemProfile(settings: NmSettings): boolean {
  return !isPrivateProfile(settings);
}

export interface OurTag {
  /** bridge and port: a bridged share's two profiles; routed: a routed share's one, the guests' bridge. */
  readonly role: 'bridge' | 'port' | 'routed';
  readonly nic: string;
  readonly bridge: string;
  /** UUID of the profile the NIC had before sharing; '' when it had none. */
  readonly originalUuid: string;
  /** False on a bridge shared with firewall=false: its firewall rules are left alone. */
  readonly firewall: boolean;
}

/**
 * Our tag, on a profile we can trust to be ours: only system-wide ones. A user may tag a private
 * profile of theirs like ours: believing it would make a NIC look shared, an admin's Unshare
 * activate whatever profile it names, and the dispatcher script open the firewall for it.
 */
export function ourTag(settings: NmSettings): OurTag | undefined {
  if (isPrivateProfile(settings)) return undefined;
  const data = userData(settings);
  const role = data.get(TAG_ROLE);
  const nic = data.get(TAG_NIC);
  const bridge = data.get(TAG_BRIDGE);
  if ((role !== 'bridge' && role !== 'port' && role !== 'routed') || nic === undefined || bridge === undefined) return undefined;
  return { role, nic, bridge, originalUuid: data.get(TAG_ORIGINAL) ?? '', firewall: data.get(TAG_FIREWALL) !== 'no' };
}

/**
 * Why a NIC whose active profile is private is not shared. Its settings (addresses, routes, DNS,
 * zone, proxy, 802.1X, secondaries) are one user's choice, brought up only while that user is
 * logged in; our profiles are system-wide and persistent. No part of it can be vouched for (its
 * IP configuration included: a route or DNS server of the user's), and replacing it with DHCP
 * would change the host's address behind the admin's back: so the admin decides, in one command.
 * Neither the profile's name nor its user is said: the listing goes to every caller.
 */
export function privateProfileRefusal(nic: string): { readonly reason: string; readonly hint: string } {
  return {
    reason: "its active NetworkManager profile is a user's private profile (connection.permissions), and the service does not make a user's settings system-wide",
    hint: `as root, make that profile system-wide (nmcli -f NAME,DEVICE connection show --active names it; then nmcli connection modify NAME connection.permissions ''), or bring up a system-wide profile on ${nic}; then share again`,
  };
}
