// SPDX-License-Identifier: GPL-2.0-or-later
// The verbs a settings backend offers the domain (NetworkManager's settings plugins and nmstate's
// backends are the model): read the host, open a transaction, apply a plan, and commit or roll
// back. The domain never sees a file path or a D-Bus object path.
import type { BackendDescription } from './backend-description';
import type { HostSnapshot } from './host-network';
import type { ConfiguredInterface } from './interface-config';
import type { Progress } from './progress';
import { ShareError } from './share-error';
import type { SharePlan, UnsharePlan } from './share-plan';
import type { IpRequirements } from './verify';

/**
 * Everything done between begin() and commit() can be undone by rollback(); if neither is
 * called (our daemon died), the backend undoes it by itself after the timeout given to begin()
 * (an NM checkpoint; the ifcfg backend restores its snapshot when the daemon next starts).
 */
export interface Transaction {
  /**
   * Keeps the change open for `seconds` from now (awaiting a user's confirmation): the backend
   * rolls it back by itself then unless commit() came first (NM: the checkpoint's own timer).
   */
  keep(seconds: number): Promise<void>;
  commit(): Promise<void>;
  /** Undoes the change; resolves with what could not be restored (empty: everything was). */
  rollback(): Promise<readonly string[]>;
  /**
   * Resolves (with why) if the backend lost its own safety net under the change (NetworkManager
   * restarted, its checkpoint gone): a change not yet verified is then rolled back at once.
   */
  readonly interrupted?: Promise<string>;
}

/** What a transaction is for: the backend records it, to finish it after a crash or a restart. */
export interface ChangeSummary {
  readonly operation: 'share' | 'unshare';
  readonly nic: string;
  readonly bridge: string;
  /** A routed share's change: the NIC is no port, the bridge has a data plane of its own. */
  readonly routed: boolean;
}

export type { BackendDescription } from './backend-description';

export interface SettingsBackend {
  readonly description: BackendDescription;
  /** The current state; cheap (served from a cache the backend keeps current). */
  snapshot(): HostSnapshot;
  /**
   * Resolves (never rejects) once the backend has read the whole host. Until then its snapshot
   * holds what a person's listing shows (listedByDefault) and no more: the backend may serve that
   * listing before it has read thousands of devices nobody is shown. Absent: read at its start.
   */
  readonly complete?: Promise<void>;
  /**
   * The interface's configured state (NM: the profile that is active on it, or would be; ifcfg:
   * its file), with a bridge's ports; undefined when nothing is configured for it.
   */
  configuration(name: string): Promise<ConfiguredInterface | undefined>;
  /** Called whenever the snapshot may have changed, also by changes made behind our back. */
  onChange(listener: () => void): void;
  /**
   * Backend-specific refusals, before anything changes (e.g. an ifcfg file that can't be read
   * safely); throws ShareError. Must not change anything. Says what the bridge's profile requires of
   * its addresses, so verification waits for what the backend itself would (a DHCP lease the NIC
   * didn't hold yet; IPv6 only where the profile makes it required).
   */
  checkShare(plan: SharePlan): Promise<IpRequirements>;
  /** Opens a transaction over these interfaces, rolled back by itself after `rollbackTimeoutSeconds`. */
  begin(interfaces: readonly string[], rollbackTimeoutSeconds: number, change: ChangeSummary): Promise<Transaction>;
  /**
   * Makes the bridge with the NIC as its port and moves the NIC's IP configuration onto it.
   * What doesn't touch the NIC may be done at once (NM: adding the profiles); the NIC (and the
   * bridge's addresses) only once `ready` resolves: the domain has read the host as it was and
   * let the bridge through the firewall. If `ready` rejects, so does this, before touching the NIC.
   */
  applyShare(plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void>;
  /** Takes the NIC off the bridge and brings its own configuration back (verified after); `ready` as for applyShare. */
  applyUnshare(plan: UnsharePlan, progress: Progress, ready: Promise<void>): Promise<void>;
  /** After a verified, committed unshare: forget what sharing kept (NM: our two profiles). */
  finishUnshare(plan: UnsharePlan): Promise<void>;
  close(): Promise<void>;
}

/** Which backend serves now: the selector's answer, asked again at each request. */
export interface ServingBackend {
  /** Undefined while none applies on this host, or while the chosen one starts. */
  readonly current: SettingsBackend | undefined;
  /** Why none serves now, and what would make one serve: BackendUnavailable's message and hint. */
  whyNone(): { readonly reason: string; readonly hint: string };
}

/** The backend serving now, or BackendUnavailable saying why none does. */
export function requireBackend(serving: ServingBackend): SettingsBackend {
  const current = serving.current;
  if (current !== undefined) return current;
  const { reason, hint } = serving.whyNone();
  throw new ShareError('BackendUnavailable', reason, hint);
}

/** Always the same backend (a host with one way to configure it, or a test's stand-in). */
export function servedBy(backend: SettingsBackend): ServingBackend {
  return { current: backend, whyNone: () => ({ reason: `${backend.description.name} serves`, hint: '' }) };
}
