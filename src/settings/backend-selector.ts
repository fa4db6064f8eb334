// SPDX-License-Identifier: GPL-2.0-or-later
// Chooses the settings backend: the first of an ordered list of candidates that applies on this
// host. Each candidate says when that may have changed (NetworkManager appearing on the bus or
// leaving it), and the choice is made again; a request in flight keeps the backend object it
// started with.
import type { Clock } from '../clock';
import type { BusConnection } from '../dbus-wire/bus-connection';
import { type Log, errorDetail } from '../log';
import type { GuestRouting } from '../bridge/guest-routing';
import type { ServingBackend, SettingsBackend } from '../bridge/settings-backend';
import type { BackendCandidate, StopFollowing } from './backend-candidate';
import { ifcfgCandidate } from './ifcfg/ifcfg-candidate';
import type { IfcfgConfig } from './ifcfg/ifcfg-state';
import type { NmChangeRecords } from './nm/nm-change-record';
import { networkManagerCandidate } from './nm/nm-candidate';

/** What the backends need from the composition root. */
export interface BackendDependencies {
  readonly bus: BusConnection;
  readonly log: Log;
  readonly clock: Clock;
  /** NetworkManager's change records, kept across its restarts (each NmBackend finishes what it finds). */
  readonly nmRecords: NmChangeRecords;
  readonly ifcfg: IfcfgConfig;
  /** Routed sharing's data plane: a routed change left unfinished is finished with it too. */
  readonly routing?: GuestRouting;
}

/** The settings backends, in order of preference: the first that applies on this host serves. */
export function settingsBackendCandidates(deps: BackendDependencies): BackendCandidate[] {
  return [
    networkManagerCandidate(deps.bus, deps.log, deps.nmRecords, deps.clock, deps.routing),
    ifcfgCandidate(deps.ifcfg, deps.log, deps.clock),
  ];
}

export class BackendSelector implements ServingBackend {
  private backend: SettingsBackend | undefined;
  /** Why each candidate did not apply at the last choice; undefined while a choice is being made. */
  private passedOver: string[] | undefined;
  private readonly listeners: Array<() => void> = [];
  private switching: Promise<void> = Promise.resolve();
  private readonly stops: StopFollowing[] = [];

  constructor(
    private readonly candidates: readonly BackendCandidate[],
    private readonly log: Log,
  ) {}

  get current(): SettingsBackend | undefined {
    return this.backend;
  }

  whyNone(): { reason: string; hint: string } {
    if (this.passedOver === undefined) return { reason: 'the settings backend is starting', hint: 'try again in a moment' };
    return {
      reason: `no settings backend applies on this host (${this.passedOver.join('; ')})`,
      hint: this.candidates.map((candidate) => candidate.remedy).join(', or '),
    };
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once the backend chosen now has read the whole host (SettingsBackend.complete). */
  get complete(): Promise<void> {
    return this.backend?.complete ?? Promise.resolve();
  }

  /** Resolves once the first backend is chosen and can list what a person's listing shows. */
  async start(): Promise<void> {
    for (const candidate of this.candidates) {
      if (candidate.follow !== undefined) this.stops.push(await candidate.follow(() => this.queueSwitch()));
    }
    this.queueSwitch();
    await this.switching;
  }

  async close(): Promise<void> {
    await Promise.all(this.stops.map((stop) => stop()));
    await this.switching;
    await this.backend?.close();
  }

  private queueSwitch(): void {
    this.switching = this.switching.then(() => this.switchBackend()).catch((err: unknown) => {
      this.log.error(`cannot switch settings backend: ${errorDetail(err)}`);
    });
  }

  private async switchBackend(): Promise<void> {
    const previous = this.backend;
    this.backend = undefined;
    this.passedOver = undefined;
    await previous?.close();
    const reasons: string[] = [];
    const chosen = this.candidates.find((candidate) => {
      const why = candidate.notApplicable();
      if (why !== undefined) reasons.push(`${candidate.name}: ${why}`);
      return why === undefined;
    });
    let next: SettingsBackend | undefined;
    try {
      next = await chosen?.start();
    } catch (err) {
      if (chosen !== undefined) reasons.push(`${chosen.name}: failed to start (the daemon's log says why)`);
      throw err;
    } finally {
      this.passedOver = reasons;
    }
    this.backend = next;
    next?.onChange(() => this.notify());
    this.log.info(`settings backend: ${next?.description.name ?? `none (${reasons.join('; ')})`}`);
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
