// SPDX-License-Identifier: GPL-2.0-or-later
// Keeps a shared bridge's traffic out of the firewall's way: reads the firewall through its
// component, lets a bridge through (rulesToAdd) or takes our rules away (ourRules), and keeps the
// last reading for ListInterfaces' notes. Reading runs a handful of processes, so a listing
// never waits for one: it uses the last reading and, when that is older than REFRESH_MS, starts
// one new reading in the background (at most one at a time, whoever and however often asks).
// Every change (Share, Unshare, the hook) reads afresh, and the next listing reads again.
import { type FirewallFacts, type FirewallHost, firewallNote, ourRules, rulesToAdd } from './firewall';
import { type Log, errorMessage } from '../log';

export const FIREWALL_REFRESH_MS = 10_000;

export class FirewallKeeper {
  private facts: FirewallFacts | undefined;
  /** Counts the readings taken in: notes can differ only when it changed. */
  private readings = 0;
  /** Notes from the current reading, by bridge: a listing of many interfaces walks the rules once each. */
  private notes = new Map<string, string | undefined>();
  private readAt = 0;
  private reading: Promise<FirewallFacts> | undefined;

  constructor(
    private readonly host: FirewallHost,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  /** The note on interface whose (future) bridge is `bridge`, from the last reading; refreshes it when stale. */
  note(bridge: string): string | undefined {
    this.refreshIfStale();
    if (this.facts === undefined) return undefined;
    if (!this.notes.has(bridge)) this.notes.set(bridge, firewallNote(this.facts, bridge));
    return this.notes.get(bridge);
  }

  /** Changes whenever the notes may have (a new reading came in). */
  notesVersion(): number {
    return this.readings;
  }

  refreshIfStale(): void {
    if (this.reading !== undefined || this.now() - this.readAt < FIREWALL_REFRESH_MS) return;
    this.refresh();
  }

  /**
   * Adds the rules `bridge` needs now (`uplink`: a routed share's NIC, the rules accept what is
   * forwarded between the two); says what it added (for the log).
   */
  async allow(bridge: string, uplink?: string): Promise<string[]> {
    const added: string[] = [];
    const rules = rulesToAdd(await this.read(), bridge, uplink);
    // iptables takes a trailing '+' for a wildcard, with no way to escape it.
    const wildcard = [bridge, uplink ?? ''].find((name) => name.endsWith('+'));
    if (rules.length > 0 && wildcard !== undefined) throw new Error(`a rule for ${wildcard} would match every interface whose name starts with ${wildcard.slice(0, -1)}`);
    try {
      for (const rule of rules) {
        await this.host.insert(rule);
        const way = rule.iif === rule.oif ? '' : ` ${rule.iif} to ${rule.oif}`;
        added.push(`${rule.tool} ${rule.table} ${rule.chain}${rule.ipFamily === 'both' ? '' : ` (IPv${rule.ipFamily})`}${way}`);
      }
    } finally {
      // Even after a failed insert: the next listing reads what did go in.
      if (added.length > 0) this.readAt = 0;
    }
    return added;
  }

  /** Removes every rule of ours for `bridge`, and nothing else; says how many. */
  async forget(bridge: string): Promise<number> {
    const ours = ourRules(await this.read(), bridge);
    try {
      for (const rule of ours) await this.host.remove(rule);
    } finally {
      if (ours.length > 0) this.readAt = 0;
    }
    return ours.length;
  }

  private refresh(): void {
    this.read().catch((err: unknown) => this.log.warn(`reading the firewall failed: ${errorMessage(err)}`));
  }

  private read(): Promise<FirewallFacts> {
    // One reading at a time: a change waits for the one in flight, then reads its own.
    // A failed reading counts too: a broken tool is not retried for every listing.
    const previous = this.reading ?? Promise.resolve(undefined);
    const reading = previous.catch(() => undefined).then(() => {
      this.readAt = this.now();
      return this.host.read();
    }).then((facts) => {
      this.facts = facts;
      this.readings++;
      this.notes = new Map();
      return facts;
    }).finally(() => {
      if (this.reading === reading) this.reading = undefined;
    });
    this.reading = reading;
    return reading;
  }
}
