// SPDX-License-Identifier: GPL-2.0-or-later
// The listing of interfaces with whether each could be shared, corrected by the kernel (a port
// the backend doesn't know of is a port all the same). Memoised: ListInterfaces is called on every
// client's refresh, and the same array while nothing it is made of changed (the backend's
// snapshot, the kernel's controllers, the firewall's reading) lets the dispatcher marshal its
// reply only once (its replyKey).
import type { FirewallKeeper } from './firewall-keeper';
import { listedByDefault, shareability, type HostInterface, type HostSnapshot, type Shareability } from './host-network';
import type { SettingsBackend } from './settings-backend';
import { defaultBridgeName } from './share-plan';
import type { HostObserver } from './verify';

export interface InterfaceListing {
  readonly iface: HostInterface;
  readonly shareability: Shareability;
}

interface Listed {
  readonly snapshot: HostSnapshot;
  readonly notesVersion: number;
  readonly checked: readonly HostInterface[];
  readonly listing: readonly InterfaceListing[];
}

export class ShareableInterfaces {
  /** What list() made last, and of what: for a person's listing, and for the whole one (`all`). */
  private readonly last = new Map<boolean, Listed>();

  constructor(
    private readonly observer: HostObserver,
    private readonly firewall: FirewallKeeper | undefined,
  ) {}

  list(backend: SettingsBackend, all: boolean): readonly InterfaceListing[] {
    const snapshot = backend.snapshot();
    // A port's controller says more than "unmanaged": NM leaves ports of kernel bridges alone.
    // Only for interfaces the listing may show: a host's thousands of veths cost no sysfs reading.
    const candidates = all ? snapshot.interfaces : snapshot.interfaces.filter(listedByDefault);
    const controlled = candidates.map((iface) => this.withKernelController(iface));
    const checked = all ? controlled : controlled.filter(listedByDefault);
    this.firewall?.refreshIfStale();
    const notesVersion = this.firewall?.notesVersion() ?? 0;
    const last = this.last.get(all);
    if (last !== undefined && last.snapshot === snapshot && last.notesVersion === notesVersion
      && last.checked.length === checked.length && last.checked.every((iface, i) => iface.name === checked[i]?.name && iface.controller === checked[i]?.controller)) {
      return last.listing;
    }
    const listing = this.build(backend, checked, new Set(snapshot.interfaces.map((i) => i.name)));
    this.last.set(all, { snapshot, notesVersion, checked, listing });
    return listing;
  }

  /** The backend's view of one NIC, corrected by the kernel's (made a port with ip or brctl). */
  kernelTruth(snapshot: HostSnapshot, nic: string): HostSnapshot {
    const index = snapshot.interfaces.findIndex((i) => i.name === nic);
    const iface = snapshot.interfaces[index];
    if (iface === undefined) return snapshot;
    const checked = this.withKernelController(iface);
    if (checked === iface) return snapshot;
    const interfaces = [...snapshot.interfaces];
    interfaces[index] = checked;
    return { ...snapshot, interfaces };
  }

  private build(backend: SettingsBackend, interfaces: readonly HostInterface[], taken: ReadonlySet<string>): InterfaceListing[] {
    return interfaces.map((checked) => {
      const verdict = shareability(checked, backend.description);
      // The bridge it is shared through, or the one Share would make by default.
      const bridge = checked.sharedThrough ?? (verdict.shareable ? defaultBridgeName(checked.name, taken) : undefined);
      const note = bridge === undefined ? undefined : this.firewall?.note(bridge);
      const listed = note === undefined ? checked : { ...checked, shareNotes: [...(checked.shareNotes ?? []), note] };
      return { iface: listed, shareability: verdict };
    });
  }

  /** One readlink in sysfs, for what could be a port; no process. */
  private withKernelController(iface: HostInterface): HostInterface {
    if (iface.controller !== undefined || iface.sharedThrough !== undefined || iface.type === 'loopback') return iface;
    const controller = this.observer.controllerOf(iface.name);
    return controller === undefined ? iface : { ...iface, controller };
  }
}
