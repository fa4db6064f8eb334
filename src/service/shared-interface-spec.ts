// SPDX-License-Identifier: GPL-2.0-or-later
// The D-Bus API of shared-interface: the single source of truth. The handler types, the
// dispatcher's checks and introspection/org.fedoraproject.SharedInterface.xml come from here
// (`npm run introspection` regenerates the XML; a test fails when the committed file is stale).
import * as t from '../dbus-wire/bus-value';
import { SHARE_ERROR_CODES, isShareError, type ShareErrorCode } from '../bridge/share-error';
import { formatErrorMessage } from './error-message';
import { PROGRESS_STEPS } from '../bridge/progress';
import { describeOptions } from '../bridge/request-options';
import { arg, method, mutatingMethod, property, signal, type ErrorMapping, type InterfaceDefinition } from './interface-definition';
import { interfaceListingCodec } from './interface-listing';
import { LISTING_CHANGE_TIMING } from './listing-changes';

export const BUS_NAME = 'org.fedoraproject.SharedInterface';
export const OBJECT_PATH = '/org/fedoraproject/SharedInterface';
export const INTERFACE_NAME = 'org.fedoraproject.SharedInterface';
export const ERROR_PREFIX = `${INTERFACE_NAME}.Error`;

/** polkit action ids: kebab-case verbs, one place. */
export const POLKIT_ACTIONS = {
  shareInterface: `${BUS_NAME}.share-interface`,
} as const;

/** Each domain error code's D-Bus name: ours, except InvalidArgs which is the standard one. */
export function errorNameOf(code: ShareErrorCode): string {
  return code === 'InvalidArgs' ? 'org.freedesktop.DBus.Error.InvalidArgs' : `${ERROR_PREFIX}.${code}`;
}

/** The domain's ShareError on the wire: its code's name, its message and hint (error-message.ts). */
export const shareErrorMapping: ErrorMapping = {
  reply: (err) => (isShareError(err) ? { errorName: errorNameOf(err.code), message: formatErrorMessage(err.message, err.hint) } : undefined),
  isRollback: (err) => isShareError(err) && err.code === 'RolledBack',
  failedName: errorNameOf('Failed'),
};

const ERROR_DOCS: Readonly<Record<ShareErrorCode, string>> = {
  InvalidArgs: 'An argument or option is malformed: unknown option key, wrong type, invalid interface name.',
  NoSuchInterface: 'No network interface has that name.',
  AlreadyShared: 'The interface is already shared.',
  NotShared: 'The interface is not shared by this service.',
  NotShareable: 'The interface cannot be shared (loopback, a bridge, already a port, unmanaged…), or not in the mode asked for (Wi-Fi in station mode cannot be a bridge port; routed sharing needs its IPv4 address); the message says why.',
  Busy: 'Another change of the same interface is in progress or awaits confirmation, or guests are still attached.',
  NotPending: 'No change of the interface awaits confirmation: it was confirmed or rolled back already (its deadline passed), or was made without confirm-timeout.',
  RolledBack: 'The change was applied but could not be verified, and everything was put back as it was; the message says what failed.',
  BackendUnavailable: 'No settings backend can be used on this host right now; the message says why of each, the hint what to do.',
  NotSupported: 'The operation is not supported by the active backend.',
  Failed: 'An unexpected failure; details are in the service\'s log.',
};

export const sharedInterfaceSpec = {
  name: INTERFACE_NAME,
  path: OBJECT_PATH,
  doc: 'Shares a host network interface with virtual machine guests: the interface becomes a port of a bridge that the host\'s network configuration (NetworkManager, or initscripts files when it is absent) owns; the host keeps its addresses and MAC on the bridge, and guests attached to the bridge appear on the same LAN as the host.',
  methods: {
    ListInterfaces: method({
      doc: 'Lists the host\'s network interfaces that a user could think of sharing, with whether each can be shared and why not. Left out, so that a host with thousands of links gives a listing a person can read: the loopback, tun and tap devices, veths the backend does not manage (a container\'s or a guest\'s plumbing) and veths whose other end is on this host too, and ports of a bridge, bond or team (the controller is what could be shared); an interface shared through this service is always listed. ListInterfacesFiltered with the option all lists every one.',
      in: [],
      out: [
        arg('interfaces', interfaceListingCodec,
          'One entry per interface: its name; the bridge it is shared through, or "" if none; details: type (s: ethernet, bond, team, vlan, wifi, bridge, loopback, tun, other), mac (s), carrier (b), shareable (b), reason (s, why it is not shareable, "" if it is), addresses (as, CIDR), notes (as, what sharing would change that a user may not expect, e.g. IPv6 addresses that depend on the interface name, a firewall that would drop the guests\' traffic across the bridge, or that a Wi-Fi station is shared routed), mode (s: how it is shared, bridge or routed, or how Share with mode auto would share it; "" when it cannot be).'),
      ],
    }),
    ListInterfacesFiltered: method({
      doc: 'Lists the host\'s network interfaces as ListInterfaces does, chosen by options.',
      in: [
        arg('options', t.vardict, describeOptions('ListInterfacesFiltered')),
      ],
      out: [
        arg('interfaces', interfaceListingCodec, 'As ListInterfaces\' reply.'),
      ],
    }),
    Share: mutatingMethod(POLKIT_ACTIONS.shareInterface, {
      doc: 'Shares the interface: creates a bridge owned by the backend with the interface as its port and moves the host\'s IP configuration onto the bridge, under a checkpoint that is rolled back if the result cannot be verified. Returns the bridge\'s name; guests attach to it (libvirt: <interface type=\'bridge\'><source bridge=\'NAME\'/>).',
      in: [
        arg('interface', t.string, 'The network interface to share, e.g. "eth0".'),
        arg('options', t.vardict, describeOptions('Share')),
      ],
      out: [arg('bridge', t.string, 'The name of the bridge the interface is now shared through.')],
    }),
    Unshare: mutatingMethod(POLKIT_ACTIONS.shareInterface, {
      doc: 'Stops sharing the interface: removes the bridge and its port and reactivates the interface\'s original configuration, under a checkpoint with the same verification as Share.',
      in: [
        arg('interface', t.string, 'The shared network interface, e.g. "eth0".'),
        arg('options', t.vardict, describeOptions('Unshare')),
      ],
      out: [],
    }),
    GetInterfaceXML: method({
      doc: 'Describes the interface in libvirt\'s interface XML (valid against libvirt\'s interface.rng), as `virsh iface-dumpxml` does: an ethernet, bridge (with its ports nested), bond or VLAN interface, its MAC, MTU, link and IP configuration.',
      in: [
        arg('name', t.string, 'The interface, e.g. "eth0" or "br-eth0".'),
        arg('options', t.vardict, describeOptions('GetInterfaceXML')),
      ],
      out: [arg('xml', t.string, 'The interface XML.')],
    }),
    DefineInterfaceXML: mutatingMethod(POLKIT_ACTIONS.shareInterface, {
      doc: 'Defines a bridge from libvirt\'s interface XML, as `virsh iface-define` of what `virsh iface-bridge IFACE BRIDGE` writes: an <interface type=\'bridge\'> with the NIC to share as its one port, and optionally <start mode=\'onboot\'>, <mtu> and <protocol> equal to the NIC\'s own, <bridge stp delay> (seconds) and the port\'s <mac>. It shares the NIC exactly as Share does (same checks, authorization, checkpoint and verification). XML that is malformed or fails libvirt\'s schema is InvalidArgs (with line and column); what the schema allows but sharing cannot honour (several ports, another IP configuration or MAC, <start mode=\'hotplug\'>…) is NotSupported, with the reason.',
      in: [
        arg('xml', t.string, 'The interface XML (at most 64 KiB; no DOCTYPE, entities beyond XML\'s own, or namespaces).'),
        arg('options', t.vardict, `As Share's, for what the XML does not say: ${describeOptions('DefineInterfaceXML')}`),
      ],
      out: [arg('bridge', t.string, 'The name of the bridge the NIC is now shared through.')],
    }),
    Confirm: mutatingMethod(POLKIT_ACTIONS.shareInterface, {
      doc: 'Commits the change of the interface that awaits confirmation (a Share or Unshare made with confirm-timeout). Any connection of an authorized caller may confirm: the one that made the change may have died with it.',
      in: [arg('interface', t.string, 'The interface whose change awaits confirmation, e.g. "eth0".')],
      out: [],
    }),
    Rollback: mutatingMethod(POLKIT_ACTIONS.shareInterface, {
      doc: 'Undoes the change of the interface that awaits confirmation, now.',
      in: [arg('interface', t.string, 'The interface whose change awaits confirmation, e.g. "eth0".')],
      out: [],
    }),
  },
  properties: {
    Version: property(t.string, 'The version of the service.', 'const'),
    Backend: property(t.string, 'The settings backend in use: "NetworkManager", or "ifcfg" when NetworkManager is not running.'),
    Shared: property(t.dict(t.string), 'Every interface shared through this service, mapped to the bridge it is shared through.'),
    Pending: property(t.dict(t.struct<[string, string, number]>(t.string, t.string, t.uint64)),
      'Changes awaiting Confirm: interface → (operation "share" or "unshare", bridge, deadline in CLOCK_REALTIME microseconds, after which it is rolled back).'),
  },
  signals: {
    Progress: signal({
      doc: 'A step of a Share, Unshare, Confirm or Rollback while it runs, for clients to show.',
      args: [
        arg('interface', t.string, 'The interface being changed.'),
        arg('step', t.string, `One of: ${PROGRESS_STEPS.join(', ')} (in that order; steps that do not apply are skipped).`),
        arg('message', t.string, 'What happened, in a line for a user.'),
      ],
    }),
    InterfacesChanged: signal({
      doc: `The listing changed: interfaces appeared, went, or would now be listed differently (shared, unshared, an address, carrier, shareability), whoever changed them (this service, NetworkManager, nmcli, ifcfg files, the kernel). Sent once per burst of changes (after ${LISTING_CHANGE_TIMING.quietMs} ms without one, at most ${LISTING_CHANGE_TIMING.maxDelayMs} ms after the first), with the entries that changed; a client subscribes, then calls ListInterfaces once, and applies each signal to what it has. The service exits when idle and sees no change while it is gone: a client that keeps watching calls again when the bus name loses its owner (NameOwnerChanged), which starts it. It carries nothing ListInterfaces does not show to any caller.`,
      args: [
        arg('interfaces', interfaceListingCodec, 'The entries that appeared or changed, as ListInterfaces lists them now.'),
        arg('removed', t.array(t.string), 'The names of interfaces no longer listed.'),
      ],
    }),
  },
  errors: Object.fromEntries(SHARE_ERROR_CODES.map((code) => [errorNameOf(code), ERROR_DOCS[code]])),
} as const satisfies InterfaceDefinition;

export type SharedInterfaceSpec = typeof sharedInterfaceSpec;
