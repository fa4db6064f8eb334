// SPDX-License-Identifier: GPL-2.0-or-later
// Which of the listed interfaces the page shows: those matching the filter box, a page of rows at a
// time. A host with thousands of links (all of them with "Show all interfaces") stays a table a
// person can read and a browser can render. No DOM here: the unit tests check it directly.
import type { ListedInterface } from './api';

/** Rows rendered at first, and added by each "Show more". */
export const ROWS_PER_PAGE = 100;

/**
 * Whether an interface matches what was typed: a case-insensitive part of its name, type, MAC,
 * bridge or one of its addresses. Every word typed must match (as in Cockpit's own lists).
 */
export function matchesFilter(nic: ListedInterface, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return true;
  const fields = [nic.name, nic.type, nic.mac, nic.bridge, ...nic.addresses].map((f) => f.toLowerCase());
  return words.every((word) => fields.some((field) => field.includes(word)));
}

export interface ListingView {
  /** The rows to render, in the service's order. */
  readonly rows: readonly ListedInterface[];
  /** How many match the filter (rows is at most `limit` of them). */
  readonly matching: number;
  readonly total: number;
}

export function listingView(interfaces: readonly ListedInterface[], filter: string, limit: number): ListingView {
  const matching = interfaces.filter((nic) => matchesFilter(nic, filter));
  return { rows: matching.slice(0, Math.max(0, limit)), matching: matching.length, total: interfaces.length };
}
