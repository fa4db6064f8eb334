// SPDX-License-Identifier: GPL-2.0-or-later
// What a caller asks for, after the adapter decoded it from the bus. Defaults live here, in the
// domain, so every client (D-Bus, CLI, tests) gets the same behaviour.

/**
 * How the guests reach the LAN: `bridge`, the NIC is a port of the guests' bridge; `routed`, the
 * NIC stays as it is and the host routes and answers ARP for the guests (for an uplink that accepts
 * only the host's MAC); `auto`, routed where bridging cannot work (a Wi-Fi station), else bridge.
 */
export const SHARE_MODES = ['bridge', 'routed', 'auto'] as const;
export type ShareModeRequest = (typeof SHARE_MODES)[number];
/** The mode a plan settles on. */
export type ShareMode = Exclude<ShareModeRequest, 'auto'>;

export interface ShareOptions {
  /** The bridge's name; undefined: derived from the NIC's name. */
  readonly bridge?: string;
  readonly mode: ShareModeRequest;
  readonly stp: boolean;
  /** Seconds. */
  readonly forwardDelay: number;
  /** Seconds before an unverified change is rolled back by the backend by itself. */
  readonly rollbackTimeout: number;
  /** False: the profiles live in memory only and vanish when NetworkManager restarts. */
  readonly persist: boolean;
  /** True: add firewall rules accepting traffic within the bridge where the firewall would drop it. */
  readonly firewall: boolean;
  /** Seconds a verified change waits for Confirm before it is rolled back; 0: committed at once. */
  readonly confirmTimeout: number;
}

export interface UnshareOptions {
  readonly force: boolean;
  readonly rollbackTimeout: number;
  readonly confirmTimeout: number;
}

export const DEFAULT_ROLLBACK_TIMEOUT_SECONDS = 60;
/** With STP on and no forward delay given: the kernel's and NetworkManager's usual 15 s. */
export const STP_DEFAULT_FORWARD_DELAY_SECONDS = 15;
// The kernel accepts forward delays of 2..30 s with STP on (0 with it off); NM the same range.
export const MAX_FORWARD_DELAY_SECONDS = 30;
/** What forward-delay means, said once: the D-Bus spec (so the API's man page and introspection)
 *  and the CLI's help take it; the Cockpit page and the Ansible module are checked against it. */
export const FORWARD_DELAY_DOC = `With STP on, the seconds a new port listens and then learns before it forwards (2 to ${MAX_FORWARD_DELAY_SECONDS}; 0, the default, means the usual ${STP_DEFAULT_FORWARD_DELAY_SECONDS}). With STP off the bridge forwards at once and the delay is not used.`;
export const MAX_ROLLBACK_TIMEOUT_SECONDS = 3600;
export const MAX_CONFIRM_TIMEOUT_SECONDS = 3600;

// How long a call may take. busctl and gdbus give up after 25 s: with default options every Share
// and Unshare replies within 20 s. Verification waits at most VERIFY_SECONDS for the result to
// hold (a DHCP lease on the bridge, the gateway's answer), plus what STP needs: a port listens,
// then learns, for one forward delay each before it forwards. CALL_OVERHEAD_SECONDS covers
// the rest (the checkpoint, activation, a rollback, the reply).
export const VERIFY_SECONDS = 12;
export const CALL_OVERHEAD_SECONDS = 6;
// The backend's own rollback timer must not fire while we still verify or commit.
export const ROLLBACK_MARGIN_SECONDS = 10;

/** The forward delay the bridge gets: 0 without STP (the kernel forwards at once). */
export function effectiveForwardDelay(options: Pick<ShareOptions, 'stp' | 'forwardDelay'>): number {
  return options.stp ? options.forwardDelay || STP_DEFAULT_FORWARD_DELAY_SECONDS : 0;
}

/** Seconds verification may wait for a change to hold. */
export function verifySeconds(options: Partial<Pick<ShareOptions, 'stp' | 'forwardDelay'>>): number {
  return VERIFY_SECONDS + 2 * effectiveForwardDelay({ stp: options.stp ?? false, forwardDelay: options.forwardDelay ?? 0 });
}

/**
 * Seconds a Share or Unshare with these options may take before it replies (committed or rolled
 * back): what a client's timeout must allow. 18 with default options; Unshare has no STP.
 */
export function callSeconds(options: Partial<Pick<ShareOptions, 'stp' | 'forwardDelay'>> = {}): number {
  return verifySeconds(options) + CALL_OVERHEAD_SECONDS;
}

/** The shortest rollback-timeout that leaves verification its time. */
export function minRollbackTimeout(options: Partial<Pick<ShareOptions, 'stp' | 'forwardDelay'>> = {}): number {
  return verifySeconds(options) + ROLLBACK_MARGIN_SECONDS;
}
