// SPDX-License-Identifier: GPL-2.0-or-later
// The exported object: each method of the spec, implemented over the domain. The dispatcher
// runs them in the fixed order (decode, validate, no-op, authorize, apply, errors, signal, reply).
import { createHash } from 'node:crypto';
import type { Sharing, ChangeStep, InterfaceListing } from '../bridge/sharing';
import type { Implementation, Prepared } from './interface-definition';
import type { LibvirtInterfaces } from '../bridge/libvirt-interfaces';
import { decodeDefineOptions, decodeInterfaceXmlOptions, decodeListOptions, decodeShareOptions, decodeUnshareOptions } from './options-codec';
import { encodeInterfaceListing, type ListedInterface } from './interface-listing';
import type { SharedInterfaceSpec } from './shared-interface-spec';
import type { Variant } from '../dbus-wire/bus-value';

/** In the audit line of a change made with confirm-timeout: its "committed" is to the transaction only until Confirm. */
function awaitsConfirm(seconds: number): string {
  return seconds > 0 ? ` confirm-timeout=${seconds}` : '';
}

function asPrepared<T, Out>(step: ChangeStep<T>, toOut: (value: T) => Out, subject: string): Prepared<Out> {
  if ('noOp' in step) return { noOp: toOut(step.noOp) };
  const { authorizing } = step;
  return {
    apply: async () => toOut(await step.apply()),
    authorizing: authorizing && ((toCaller) => authorizing((nic, progressStep, message) => toCaller('Progress', [nic, progressStep, message]))),
    subject,
  };
}

/**
 * The listing as ListInterfaces and InterfacesChanged show it: the same array while Sharing.list()
 * gives the same one (nothing changed), so a comparison can stop at its identity.
 */
export function listingView(sharing: Sharing, all = false): () => readonly ListedInterface[] {
  const views = new WeakMap<readonly InterfaceListing[], readonly ListedInterface[]>();
  return () => {
    const listing = sharing.list(all);
    let view = views.get(listing);
    if (view === undefined) {
      view = listedInterfaces(listing);
      views.set(listing, view);
    }
    return view;
  };
}

function listedInterfaces(listing: readonly InterfaceListing[]): ListedInterface[] {
  return listing.map(({ iface, shareability, mode }) => ({
    name: iface.name,
    bridge: iface.sharedThrough ?? '',
    type: iface.type,
    mac: iface.mac,
    carrier: iface.carrier,
    shareable: shareability.shareable,
    reason: shareability.reason,
    addresses: iface.addresses,
    notes: iface.shareNotes ?? [],
    mode: mode ?? '',
  }));
}

export function sharedInterfaceImplementation(sharing: Sharing, libvirt: LibvirtInterfaces, version: string): Implementation<SharedInterfaceSpec> {
  // Sharing.list() gives the same array while nothing changed: its view and key are made once.
  const view = listingView(sharing);
  const everyInterface = listingView(sharing, true);
  const viewFor = (options: ReadonlyMap<string, Variant>) => (decodeListOptions(options).all ? everyInterface : view);
  // The key is a digest of the listing, not the listing's text: the dispatcher keeps the key with
  // the reply, and at thousands of interfaces that text is a megabyte more for the daemon's life.
  const listingKeys = new WeakMap<readonly ListedInterface[], string>();
  const listingKey = (listing: readonly ListedInterface[]): string => {
    let key = listingKeys.get(listing);
    if (key === undefined) {
      key = createHash('sha256').update(JSON.stringify(listing)).digest('base64');
      listingKeys.set(listing, key);
    }
    return key;
  };
  return {
    methods: {
      ListInterfaces: {
        // Served often (every client refresh), changed seldom: marshalled once per distinct listing.
        replyKey: () => listingKey(view()),
        read: async () => [encodeInterfaceListing(view())],
      },
      ListInterfacesFiltered: {
        replyKey: ([options]) => `${String(decodeListOptions(options).all)} ${listingKey(viewFor(options)())}`,
        read: async ([options]) => [encodeInterfaceListing(viewFor(options)())],
      },
      Share: {
        prepare: async ([nic, options]) => {
          const decoded = decodeShareOptions(options);
          // The bridge's name when none is asked for is the plan's; the audit line has it from the reply.
          return asPrepared(await sharing.prepareShare(nic, decoded), (bridge): [string] => [bridge], `nic=${nic} bridge=${decoded.bridge ?? '(default)'} mode=${decoded.mode}${awaitsConfirm(decoded.confirmTimeout)}`);
        },
      },
      Unshare: {
        prepare: async ([nic, options]) => {
          const decoded = decodeUnshareOptions(options);
          const step = await sharing.prepareUnshare(nic, decoded);
          return asPrepared(step, (): [] => [], `nic=${nic} bridge=${sharing.shared().get(nic) ?? '(none)'}${awaitsConfirm(decoded.confirmTimeout)}`);
        },
      },
      GetInterfaceXML: {
        // The live view reads the kernel with processes, the configured one asks the backend.
        costly: true,
        read: async ([name, options]) => [await libvirt.interfaceXml(name, decodeInterfaceXmlOptions(options).inactive)],
      },
      DefineInterfaceXML: {
        prepare: async ([xml, options]) => asPrepared(await libvirt.prepareDefine(xml, decodeDefineOptions(options)), (bridge): [string] => [bridge], `xml=${xml.length} characters`),
      },
      Confirm: {
        prepare: async ([nic]) => asPrepared(sharing.prepareConfirm(nic), (): [] => [], `nic=${nic}`),
      },
      Rollback: {
        prepare: async ([nic]) => asPrepared(sharing.prepareRollback(nic), (): [] => [], `nic=${nic}`),
      },
    },
    properties: {
      Version: () => version,
      Backend: () => sharing.backendName(),
      Shared: () => new Map(sharing.shared()),
      Pending: () => new Map([...sharing.pending()].map(([nic, p]): [string, [string, string, number]] => [nic, [p.operation, p.bridge, p.deadline * 1000]])),
    },
  };
}
