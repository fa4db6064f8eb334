// SPDX-License-Identifier: GPL-2.0-or-later
// What routed sharing needs besides the backend's bridge: the data plane that puts the guests on
// the NIC's LAN (DHCP relayed to the LAN's server, ARP answered for them on the NIC, a route to
// each), and a probe that proves it works before a Share returns. Implemented in
// src/settings/routed/ (an agent process, as a systemd unit instance or directly); the domain only
// says when each runs.

export interface GuestRouting {
  /** What the host lacks for it (programs), or undefined: asked before anything is changed. */
  lacking(): string | undefined;
  /**
   * Starts (or restarts) the data plane of `nic` for the guests on `bridge`, which exists; resolves
   * once it runs, with a line saying what it does. After a reboot or a restart of NetworkManager it
   * comes back with the bridge by itself (NetworkManager's dispatcher), not through this.
   */
  start(nic: string, bridge: string): Promise<string>;
  /** Stops it; resolves once the host is as before start() (sysctls, routes, proxy entries, processes). */
  stop(nic: string): Promise<void>;
  /**
   * A probe guest's port on `bridge` asks for a DHCP lease as a guest would, and lets it go:
   * resolves with the leased address (and why it could not be let go, if so), rejects (saying
   * why) when none came within `timeoutMs`.
   */
  probeLease(bridge: string, timeoutMs: number): Promise<{ readonly address: string; readonly releaseProblem?: string }>;
}
