// The verbs a settings backend offers the domain (NetworkManager's settings plugins and nmstate's
// backends are the model): read the host, open a transaction, apply a plan, and commit or roll
// back. The domain never sees a file path or a D-Bus object path.
import type { HostInterface } from './host-network';

export type BackendName = 'NetworkManager' | 'ifcfg';

/** The host as one backend sees it at one moment. */
export interface HostSnapshot {
  readonly interfaces: readonly HostInterface[];
  /** NIC name → bridge name, for every NIC shared through us. */
  readonly shared: ReadonlyMap<string, string>;
}

export interface SettingsBackend {
  readonly name: BackendName;
  /** The current state; cheap (served from a cache the backend keeps current). */
  snapshot(): HostSnapshot;
  /** Called whenever the snapshot may have changed, also by changes made behind our back. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}
