// SPDX-License-Identifier: GPL-2.0-or-later
// One settings backend as the selector sees it: whether it applies on this host now, how to start
// it, and what to follow to learn when that changes. A backend's folder offers one of these.
import type { SettingsBackend } from '../bridge/settings-backend';

/** Stops following; resolves once nothing more will be heard. */
export type StopFollowing = () => Promise<void>;

export interface BackendCandidate {
  /** How users and the log know it (as BackendDescription.name). */
  readonly name: string;
  /**
   * Why it does not apply on this host now (NetworkManager: not on the bus; ifcfg: no ifcfg
   * directory); undefined when it does. Cheap: no process, no bus call.
   */
  notApplicable(): string | undefined;
  /** What an administrator does to make it apply (BackendUnavailable's hint), e.g. "start NetworkManager". */
  readonly remedy: string;
  /** Starts the backend; called only while it applies. */
  start(): Promise<SettingsBackend>;
  /**
   * Follows what decides whether it applies (NetworkManager: its bus name's owner), calling
   * `changed` whenever that changed; resolves once notApplicable() tells the truth. Absent: it
   * never changes while the daemon runs.
   */
  follow?(changed: () => void): Promise<StopFollowing>;
}
