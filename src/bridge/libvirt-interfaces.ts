// SPDX-License-Identifier: GPL-2.0-or-later
// libvirt's interface API (virInterfaceGetXMLDesc, virInterfaceDefineXML for a bridge) over the
// domain: reading the host for the XML views, and turning a defined bridge into a Share, which
// then goes the way every Share goes (validation, polkit, checkpoint, verification, errors).
import {
  configuredInterfaceDefinition, definedPort, definedShare, linksToDescribe, liveInterfaceDefinition, unconfiguredInterfaceDefinition,
} from './libvirt-interface-view';
import { formatInterfaceXml, parseInterfaceXml, type LibvirtInterface } from './libvirt-interface-xml';
import { validateInterfaceName } from './interface-name';
import { ShareError } from './share-error';
import type { ShareOptions } from './share-request';
import { requireBackend, type ServingBackend, type SettingsBackend } from './settings-backend';
import type { ChangeStep, Sharing } from './sharing';
import { SingleFlight } from './single-flight';
import type { HostObserver, LiveHost } from './verify';

/** DefineInterfaceXML's options: what Share has besides what the XML says. */
export type DefineOptions = Pick<ShareOptions, 'rollbackTimeout' | 'persist' | 'firewall' | 'confirmTimeout'>;

export class LibvirtInterfaces {
  /** Live views of the same links asked for at once share one reading (any caller may ask, unauthorized). */
  private readonly hostReadings = new SingleFlight<string, LiveHost>();

  constructor(
    private readonly sharing: Sharing,
    private readonly backends: ServingBackend,
    private readonly observer: HostObserver,
  ) {}

  /** `virsh iface-dumpxml NAME [--inactive]`: the live state, or the configured one. */
  async interfaceXml(name: string, inactive: boolean): Promise<string> {
    validateInterfaceName(name);
    return formatInterfaceXml(inactive ? await this.configured(name) : await this.live(name));
  }

  /** `virsh iface-define` of what `virsh iface-bridge` writes: validated here, then a Share. */
  async prepareDefine(xml: string, options: DefineOptions): Promise<ChangeStep<string>> {
    const def = parseInterfaceXml(xml);
    const nic = validateInterfaceName(definedPort(def).name ?? '');
    validateInterfaceName(def.name ?? '', 'bridge');
    const snapshot = this.backend().snapshot();
    const iface = snapshot.interfaces.find((i) => i.name === nic);
    if (iface === undefined) throw new ShareError('NoSuchInterface', `there is no network interface named ${nic}`);
    // A NIC shared already has its IP configuration on its bridge: Share then says what it says
    // of a second Share (a no-op through the same bridge, AlreadyShared through another).
    const configured = await this.configured(snapshot.shared.get(nic) ?? nic);
    // No process runs before authorization: the kernel's MTU comes from sysfs.
    const mtu = configured.mtu ?? this.observer.linkMtu(nic);
    const share = definedShare(def, { iface, mtu, configured });
    // libvirt's XML describes a bridge with the NIC as its port: bridged sharing, never routed.
    return this.sharing.prepareShare(share.nic, { ...options, mode: 'bridge', bridge: share.bridge, stp: share.stp, forwardDelay: share.forwardDelay });
  }

  private async live(name: string): Promise<LibvirtInterface> {
    // A name no link has costs no process: sysfs says so.
    if (this.observer.linkMtu(name) === undefined) throw new ShareError('NoSuchInterface', `there is no network interface named ${name}`);
    // The interface and what it is made of, not the host; one reading for every caller asking at once.
    const tree = this.observer.linkTree(name);
    const host = await this.hostReadings.run(tree.join(' '), () => this.observer.observe(tree));
    if (!host.links.has(name)) throw new ShareError('NoSuchInterface', `there is no network interface named ${name}`);
    const speeds = new Map<string, number>();
    await Promise.all(linksToDescribe(host, name).map(async (link) => {
      const speed = await this.observer.linkSpeed(link);
      if (speed !== undefined) speeds.set(link, speed);
    }));
    return liveInterfaceDefinition(host, name, speeds);
  }

  private async configured(name: string): Promise<LibvirtInterface> {
    const backend = this.backend();
    const config = await backend.configuration(name);
    if (config !== undefined) return configuredInterfaceDefinition(config);
    const iface = backend.snapshot().interfaces.find((i) => i.name === name);
    if (iface === undefined) throw new ShareError('NoSuchInterface', `there is no network interface named ${name}`);
    return unconfiguredInterfaceDefinition(iface);
  }

  private backend(): SettingsBackend {
    return requireBackend(this.backends);
  }
}
