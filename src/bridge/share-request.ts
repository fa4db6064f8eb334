// What a caller asks for, after the adapter decoded it from the bus. Defaults live here, in the
// domain, so every client (D-Bus, CLI, tests) gets the same behaviour.

export interface ShareOptions {
  /** The bridge's name; undefined: derived from the NIC's name. */
  readonly bridge?: string;
  readonly stp: boolean;
  /** Seconds. */
  readonly forwardDelay: number;
  /** Seconds before an unverified change is rolled back by the backend by itself. */
  readonly rollbackTimeout: number;
  /** False: the profiles live in memory only and vanish when NetworkManager restarts. */
  readonly persist: boolean;
  /** True: add firewall rules accepting traffic within the bridge where the firewall would drop it. */
  readonly firewall: boolean;
}

export interface UnshareOptions {
  readonly force: boolean;
  readonly rollbackTimeout: number;
}

export const DEFAULT_ROLLBACK_TIMEOUT_SECONDS = 60;
// The kernel accepts forward delays of 2..30 s with STP on (0 with it off); NM the same range.
export const MAX_FORWARD_DELAY_SECONDS = 30;
export const MAX_ROLLBACK_TIMEOUT_SECONDS = 3600;

export const DEFAULT_SHARE_OPTIONS: ShareOptions = {
  stp: false,
  forwardDelay: 0,
  rollbackTimeout: DEFAULT_ROLLBACK_TIMEOUT_SECONDS,
  persist: true,
  firewall: true,
};

export const DEFAULT_UNSHARE_OPTIONS: UnshareOptions = {
  force: false,
  rollbackTimeout: DEFAULT_ROLLBACK_TIMEOUT_SECONDS,
};
