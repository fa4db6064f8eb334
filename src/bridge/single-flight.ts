// SPDX-License-Identifier: GPL-2.0-or-later
// Concurrent askers of the same reading share one: while a reading for a key is in flight, a
// second asker gets its promise instead of starting another (Go's singleflight). Only for
// readings whose askers are content with one that began before they asked (a view served to a
// caller), never for one that must start after a change (verification reads afresh).

export class SingleFlight<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  /** The reading in flight for `key`, or a new one by `work`; forgotten once it settles. */
  run(key: K, work: () => Promise<V>): Promise<V> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const started = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  get size(): number {
    return this.inFlight.size;
  }
}
