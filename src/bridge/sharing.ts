// The domain's entry point: what sharing means, independent of the bus and of the backend.
// Each change is split into validation (which changes nothing and may fail with a typed error)
// and application (which the adapter runs only after authorization).
import { shareability, type HostInterface, type Shareability } from './host-network';
import { validateInterfaceName } from './interface-name';
import { ShareError } from './share-error';
import type { ShareOptions, UnshareOptions } from './share-request';
import type { HostSnapshot, SettingsBackend } from './settings-backend';

export interface InterfaceListing {
  readonly iface: HostInterface;
  readonly shareability: Shareability;
}

/** A validated change: either its answer is already known (a no-op), or here is how to make it. */
export type ChangeStep<T> = { readonly noOp: T } | { readonly apply: () => Promise<T> };

export class Sharing {
  constructor(private readonly currentBackend: () => SettingsBackend | undefined) {}

  backendName(): string {
    return this.currentBackend()?.name ?? '';
  }

  list(): InterfaceListing[] {
    const backend = this.currentBackend();
    if (backend === undefined) return [];
    return backend.snapshot().interfaces.map((iface) => ({ iface, shareability: shareability(iface, backend.name) }));
  }

  shared(): ReadonlyMap<string, string> {
    return this.currentBackend()?.snapshot().shared ?? new Map();
  }

  prepareShare(nic: string, options: ShareOptions): ChangeStep<string> {
    validateInterfaceName(nic);
    if (options.bridge !== undefined) validateInterfaceName(options.bridge, 'bridge');
    const { backend } = this.target(nic);
    throw new ShareError('NotSupported', `sharing through ${backend.name} is not implemented yet`);
  }

  prepareUnshare(nic: string, _options: UnshareOptions): ChangeStep<void> {
    validateInterfaceName(nic);
    const { backend, snapshot } = this.target(nic);
    if (!snapshot.shared.has(nic)) throw new ShareError('NotShared', `${nic} is not shared`);
    throw new ShareError('NotSupported', `unsharing through ${backend.name} is not implemented yet`);
  }

  private target(nic: string): { backend: SettingsBackend; snapshot: HostSnapshot; iface: HostInterface } {
    const backend = this.currentBackend();
    if (backend === undefined) throw new ShareError('BackendUnavailable', 'neither NetworkManager nor the ifcfg fallback is available', 'start NetworkManager');
    const snapshot = backend.snapshot();
    const iface = snapshot.interfaces.find((i) => i.name === nic);
    if (iface === undefined) throw new ShareError('NoSuchInterface', `there is no network interface named ${nic}`);
    return { backend, snapshot, iface };
  }
}
