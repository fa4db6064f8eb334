// SPDX-License-Identifier: GPL-2.0-or-later
// The InterfacesChanged signal's source: told of every event that may change the listing (the
// backend's, the kernel's), it waits for the burst to end, compares the listing entry by entry
// with the one it announced last, and announces only the entries a ListInterfaces reply would now
// show differently. What it announces is what ListInterfaces shows to anyone: an event that
// changes nothing there (a user's private NetworkManager profile edited, say) announces nothing.
import { type Cancel, type Clock, systemClock } from '../clock';
import type { ListedInterface } from './listed-interface';

export interface ListingChangeTiming {
  /** A burst ends when no event came for this long. */
  readonly quietMs: number;
  /** An announcement is never later than this after the burst's first event (a steady stream). */
  readonly maxDelayMs: number;
}

// A Share moves a dozen NetworkManager properties within ~100 ms; a flapping link would never be
// quiet, so a second's worth of it is one announcement.
export const LISTING_CHANGE_TIMING: ListingChangeTiming = { quietMs: 150, maxDelayMs: 1000 };

export type ListingChangeListener = (changed: readonly ListedInterface[], removed: readonly string[]) => void;

export class ListingChanges {
  /** Each announced entry, by name: what the last announcement (or the start) showed. */
  private announced = new Map<string, ListedInterface>();
  /** The listing the announced forms are of: the same array again means nothing changed. */
  private announcedListing: readonly ListedInterface[] | undefined;
  private cancelTimer: Cancel | undefined;
  private burstStart = 0;
  private closed = false;

  constructor(
    private readonly listing: () => readonly ListedInterface[],
    private readonly announce: ListingChangeListener,
    private readonly timing: ListingChangeTiming = LISTING_CHANGE_TIMING,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The listing as it is now is what clients know (they read it with ListInterfaces). */
  start(): void {
    this.announcedListing = this.listing();
    this.announced = new Map(this.announcedListing.map((entry) => [entry.name, entry]));
  }

  /** Something the listing is made of may have changed. */
  changed(): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (this.cancelTimer === undefined) this.burstStart = now;
    else this.cancelTimer();
    const wait = Math.max(0, Math.min(this.timing.quietMs, this.burstStart + this.timing.maxDelayMs - now));
    this.cancelTimer = this.clock.schedule(wait, () => {
      this.cancelTimer = undefined;
      this.compare();
    });
  }

  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private compare(): void {
    const listing = this.listing();
    if (listing === this.announcedListing) return;
    this.announcedListing = listing;
    const next = new Map<string, ListedInterface>();
    const changed: ListedInterface[] = [];
    for (const entry of listing) {
      next.set(entry.name, entry);
      const before = this.announced.get(entry.name);
      if (before === undefined || !sameEntry(before, entry)) changed.push(entry);
    }
    const removed = [...this.announced.keys()].filter((name) => !next.has(name));
    this.announced = next;
    if (changed.length > 0 || removed.length > 0) this.announce(changed, removed);
  }
}

/**
 * Whether two entries show the same: every field equal, lists element by element. No text is made
 * of either (a listing of thousands of links is compared on every burst).
 */
function sameEntry(a: ListedInterface, b: ListedInterface): boolean {
  const keys = Object.keys(a) as Array<keyof ListedInterface>;
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const x: unknown = a[key];
    const y: unknown = b[key];
    if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((item, i) => item === y[i]);
    return x === y;
  });
}
