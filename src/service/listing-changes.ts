// SPDX-License-Identifier: GPL-2.0-or-later
// The InterfacesChanged signal's source: told of every event that may change the listing (the
// backend's, the kernel's), it waits for the burst to end, compares the listing entry by entry
// with the one it announced last, and announces only the entries a ListInterfaces reply would now
// show differently. What it announces is what ListInterfaces shows to anyone: an event that
// changes nothing there (a user's private NetworkManager profile edited, say) announces nothing.
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
  /** Each announced entry's form, by name: what the last announcement (or the start) showed. */
  private announced = new Map<string, string>();
  /** The listing the announced forms are of: the same array again means nothing changed. */
  private announcedListing: readonly ListedInterface[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private burstStart = 0;
  private closed = false;

  constructor(
    private readonly listing: () => readonly ListedInterface[],
    private readonly announce: ListingChangeListener,
    private readonly timing: ListingChangeTiming = LISTING_CHANGE_TIMING,
  ) {}

  /** The listing as it is now is what clients know (they read it with ListInterfaces). */
  start(): void {
    this.announcedListing = this.listing();
    this.announced = new Map(this.announcedListing.map((entry) => [entry.name, JSON.stringify(entry)]));
  }

  /** Something the listing is made of may have changed. */
  changed(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.timer === undefined) this.burstStart = now;
    else clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.timing.quietMs, this.burstStart + this.timing.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.compare();
    }, wait);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private compare(): void {
    const listing = this.listing();
    if (listing === this.announcedListing) return;
    this.announcedListing = listing;
    const next = new Map<string, string>();
    const changed: ListedInterface[] = [];
    for (const entry of listing) {
      const form = JSON.stringify(entry);
      next.set(entry.name, form);
      if (this.announced.get(entry.name) !== form) changed.push(entry);
    }
    const removed = [...this.announced.keys()].filter((name) => !next.has(name));
    this.announced = next;
    if (changed.length > 0 || removed.length > 0) this.announce(changed, removed);
  }
}
