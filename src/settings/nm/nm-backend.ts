// The NetworkManager backend: NetworkManager owns the bridge; we speak to it over D-Bus only.
import type { BusConnection } from '../../bus/bus-connection';
import type { HostSnapshot, SettingsBackend } from '../../bridge/settings-backend';
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

  async close(): Promise<void> {
    await this.cache.stop();
  }
}
