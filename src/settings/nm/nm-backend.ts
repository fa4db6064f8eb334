// The NetworkManager backend: NetworkManager owns the bridge; we speak to it over D-Bus only.
import type { BusConnection } from '../../bus/bus-connection';
import type { HostSnapshot, SettingsBackend, Transaction } from '../../bridge/settings-backend';
import { ShareError } from '../../bridge/share-error';
import type { SharePlan, UnsharePlan } from '../../bridge/share-plan';
import { hostInterfaces } from './nm-devices';
import { NmObjectCache } from './nm-object-cache';

export class NmBackend implements SettingsBackend {
  readonly name = 'NetworkManager' as const;
  private readonly listeners: Array<() => void> = [];
  private cached: HostSnapshot | undefined;

  private constructor(private readonly cache: NmObjectCache) {
    cache.onChange(() => {
      this.cached = undefined;
      for (const listener of this.listeners) listener();
    });
  }

  static async start(bus: BusConnection): Promise<NmBackend> {
    const cache = new NmObjectCache(bus);
    const backend = new NmBackend(cache);
    await cache.start();
    return backend;
  }

  snapshot(): HostSnapshot {
    if (this.cached === undefined) {
      const shared = new Map<string, string>();
      this.cached = { interfaces: hostInterfaces(this.cache, shared), shared };
    }
    return this.cached;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async checkShare(_plan: SharePlan): Promise<void> {
    throw new ShareError('NotSupported', 'not implemented yet');
  }

  async begin(_interfaces: readonly string[], _rollbackTimeoutSeconds: number): Promise<Transaction> {
    throw new ShareError('NotSupported', 'not implemented yet');
  }

  async applyShare(_plan: SharePlan): Promise<void> {
    throw new ShareError('NotSupported', 'not implemented yet');
  }

  async applyUnshare(_plan: UnsharePlan): Promise<void> {
    throw new ShareError('NotSupported', 'not implemented yet');
  }

  async close(): Promise<void> {
    await this.cache.stop();
  }
}
