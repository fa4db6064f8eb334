// SPDX-License-Identifier: GPL-2.0-or-later
// libvirt's interface XML (the format of `virsh iface-dumpxml` and `iface-define`; its schema is
// libvirt's interface.rng) as a typed value, and the two pure translations: a value → XML text
// as libvirt's own virInterfaceDefFormat writes it, and XML text → a value, checked element by
// element against the schema's rules, so that anything the schema refuses is refused here with
// its line and column. Nothing here knows the host; libvirt-interface-view.ts does.
import { ShareError } from './share-error';
import { formatXml, parseXmlDocument, XmlSyntaxError, type XmlElement, type XmlNode } from '../xml-document';

export type LibvirtInterfaceType = 'ethernet' | 'bridge' | 'bond' | 'vlan';
export type LibvirtStartMode = 'onboot' | 'none' | 'hotplug';
export type LibvirtLinkState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
export const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'] as const;
export type LibvirtBondMode = (typeof BOND_MODES)[number];

export interface LibvirtIp {
  readonly address: string;
  readonly prefix?: number;
}

export interface LibvirtProtocol {
  readonly family: 'ipv4' | 'ipv6';
  /** IPv6 only: stateless autoconfiguration. */
  readonly autoconf?: boolean;
  readonly dhcp?: { readonly peerdns?: boolean };
  readonly ips: readonly LibvirtIp[];
  readonly gateway?: string;
}

export interface LibvirtBond {
  readonly mode?: LibvirtBondMode;
  readonly miimon?: { readonly freq: number; readonly downdelay?: number; readonly updelay?: number; readonly carrier?: 'ioctl' | 'netif' };
  readonly arpmon?: { readonly interval: number; readonly target: string; readonly validate?: 'none' | 'active' | 'backup' | 'all' };
  readonly ports: readonly LibvirtInterface[];
}

/**
 * One interface. Top-level interfaces may carry start, mtu and protocols; ports (nested in a
 * bridge or bond) carry only their identity, as in libvirt.
 */
export interface LibvirtInterface {
  readonly type: LibvirtInterfaceType;
  /** Always set except, as the schema allows, for a VLAN. */
  readonly name?: string;
  readonly start?: LibvirtStartMode;
  readonly mtu?: number;
  readonly protocols?: readonly LibvirtProtocol[];
  /** Not for bridges (the schema has no <link> or <mac> for them). */
  readonly link?: { readonly speed?: number; readonly state?: LibvirtLinkState };
  /** Ethernet only. */
  readonly mac?: string;
  readonly bridge?: { readonly stp?: boolean; /** seconds */ readonly delay?: number; readonly ports: readonly LibvirtInterface[] };
  readonly bond?: LibvirtBond;
  readonly vlan?: { readonly tag: number; readonly device: string };
}

// The caller's XML: an interface definition is well under 4 KiB; nothing legitimate comes near these.
export const INTERFACE_XML_LIMITS = { maxBytes: 64 * 1024, maxDepth: 8, maxElements: 256, root: 'interface' } as const;

// ---- the schema's datatypes (interface.rng and basictypes.rng); RELAX NG patterns match whole values ----

const DEVICE_NAME = /^[a-zA-Z0-9_.\-\\:/]+$/;
const MAC_ADDR = /^[a-fA-F0-9]{2}(:[a-fA-F0-9]{2}){5}$/;
const IPV4_OCTET = '((25[0-5])|(2[0-4][0-9])|(1[0-9]{2})|([1-9][0-9])|([0-9]))';
const IPV4_ADDR_SOURCE = `(${IPV4_OCTET}\\.){3}${IPV4_OCTET}`;
const IPV4_ADDR = new RegExp(`^${IPV4_ADDR_SOURCE}$`);
const H16 = '[0-9A-Fa-f]{1,4}';
const IPV6_ADDR = new RegExp(`^((${[
  `(${H16}:){7}${H16}`,
  `(${H16}:){6}:${H16}`,
  `(${H16}:){5}:(${H16}:)?${H16}`,
  `(${H16}:){4}:(${H16}:){0,2}${H16}`,
  `(${H16}:){3}:(${H16}:){0,3}${H16}`,
  `(${H16}:){2}:(${H16}:){0,4}${H16}`,
  `(${H16}:){6}${IPV4_ADDR_SOURCE}`,
  `(${H16}:){0,5}:${IPV4_ADDR_SOURCE}`,
  `::(${H16}:){0,5}${IPV4_ADDR_SOURCE}`,
  `${H16}::(${H16}:){0,5}${H16}`,
  `::(${H16}:){0,6}${H16}`,
  `(${H16}:){1,7}:`,
  '::',
].join(')|(')}))$`);
// xsd:unsignedInt (whitespace-collapsed, then basictypes' pattern [0-9]+).
const UNSIGNED_INT_MAX = 4294967295;
// xsd:double, as timeval (minInclusive 0) needs it.
const XSD_DOUBLE = /^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))([eE][+-]?[0-9]+)?$/;

export function isDeviceName(value: string): boolean {
  return DEVICE_NAME.test(value);
}

export function isMacAddress(value: string): boolean {
  return MAC_ADDR.test(value);
}

export function isSchemaIpAddress(family: 'ipv4' | 'ipv6', value: string): boolean {
  return (family === 'ipv4' ? IPV4_ADDR : IPV6_ADDR).test(value);
}

// ---- formatting, in virInterfaceDefFormat's order ----

function protocolNode(p: LibvirtProtocol): XmlNode {
  const children: XmlNode[] = [];
  if (p.autoconf) children.push({ name: 'autoconf' });
  if (p.dhcp) children.push({ name: 'dhcp', attributes: [['peerdns', p.dhcp.peerdns === undefined ? undefined : p.dhcp.peerdns ? 'yes' : 'no']] });
  for (const ip of p.ips) children.push({ name: 'ip', attributes: [['address', ip.address], ['prefix', ip.prefix]] });
  if (p.gateway !== undefined) children.push({ name: 'route', attributes: [['gateway', p.gateway]] });
  return { name: 'protocol', attributes: [['family', p.family]], children };
}

function interfaceNode(def: LibvirtInterface, topLevel: boolean): XmlNode {
  const children: XmlNode[] = [];
  if (topLevel) {
    if (def.start !== undefined) children.push({ name: 'start', attributes: [['mode', def.start]] });
    if (def.mtu !== undefined) children.push({ name: 'mtu', attributes: [['size', def.mtu]] });
    for (const p of def.protocols ?? []) children.push(protocolNode(p));
  }
  if (def.type !== 'bridge' && def.link !== undefined) children.push({ name: 'link', attributes: [['speed', def.link.speed], ['state', def.link.state]] });
  if (def.type === 'ethernet' && def.mac !== undefined) children.push({ name: 'mac', attributes: [['address', def.mac]] });
  if (def.type === 'bridge') {
    const bridge = def.bridge ?? { ports: [] };
    children.push({
      name: 'bridge',
      attributes: [['stp', bridge.stp === undefined ? undefined : bridge.stp ? 'on' : 'off'], ['delay', bridge.delay]],
      children: bridge.ports.map((p) => interfaceNode(p, false)),
    });
  }
  if (def.type === 'bond' && def.bond !== undefined) {
    const bond = def.bond;
    const bondChildren: XmlNode[] = [];
    if (bond.miimon !== undefined) {
      const m = bond.miimon;
      bondChildren.push({ name: 'miimon', attributes: [['freq', m.freq], ['downdelay', m.downdelay], ['updelay', m.updelay], ['carrier', m.carrier]] });
    } else if (bond.arpmon !== undefined) {
      const a = bond.arpmon;
      bondChildren.push({ name: 'arpmon', attributes: [['interval', a.interval], ['target', a.target], ['validate', a.validate]] });
    }
    for (const port of bond.ports) bondChildren.push(interfaceNode(port, false));
    children.push({ name: 'bond', attributes: [['mode', bond.mode]], children: bondChildren });
  }
  if (def.type === 'vlan' && def.vlan !== undefined) {
    children.push({ name: 'vlan', attributes: [['tag', def.vlan.tag]], children: [{ name: 'interface', attributes: [['name', def.vlan.device]] }] });
  }
  return { name: 'interface', attributes: [['type', def.type], ['name', def.name]], children };
}

/** The XML text of an interface, as libvirt formats it. */
export function formatInterfaceXml(def: LibvirtInterface): string {
  return formatXml(interfaceNode(def, true));
}

// ---- parsing, with the schema's rules ----

class Invalid extends Error {
  constructor(readonly at: XmlElement, readonly reason: string) {
    super(reason);
  }
}

function describe(element: XmlElement): string {
  const type = element.attributes.get('type');
  return type === undefined ? `<${element.name}>` : `<${element.name} type='${type}'>`;
}

/** One element's attributes and children, consumed as they are checked; leftovers are refused. */
class Reader {
  private readonly seen = new Set<string>();
  private readonly taken = new Set<XmlElement>();

  constructor(readonly element: XmlElement) {}

  attribute(name: string): string | undefined {
    this.seen.add(name);
    return this.element.attributes.get(name);
  }

  required(name: string): string {
    const value = this.attribute(name);
    if (value === undefined) throw new Invalid(this.element, `${describe(this.element)} needs the attribute '${name}'`);
    return value;
  }

  /** Children with this name; at most `max` of them. */
  children(name: string, max = Infinity): XmlElement[] {
    const found = this.element.children.filter((c) => c.name === name);
    if (found.length > max) throw new Invalid(found[max] ?? this.element, `${describe(this.element)} may have ${max === 1 ? 'one' : `at most ${max}`} <${name}>`);
    for (const c of found) this.taken.add(c);
    return found;
  }

  child(name: string): XmlElement | undefined {
    return this.children(name, 1)[0];
  }

  /** Refuses any attribute or child element not read. */
  done(): void {
    for (const name of this.element.attributes.keys()) {
      if (!this.seen.has(name)) throw new Invalid(this.element, `${describe(this.element)} has no attribute '${name}' in libvirt's interface schema`);
    }
    for (const c of this.element.children) {
      if (!this.taken.has(c)) throw new Invalid(c, `<${c.name}> is not allowed in ${describe(this.element)} by libvirt's interface schema`);
    }
  }
}

function unsignedInt(at: XmlElement, what: string, raw: string, max = UNSIGNED_INT_MAX): number {
  const value = raw.trim();
  if (!/^[0-9]+$/.test(value) || Number(value) > max) throw new Invalid(at, `${what} must be a whole number from 0 to ${max}, not '${raw}'`);
  return Number(value);
}

function optionalUnsigned(r: Reader, name: string, what: string, max = UNSIGNED_INT_MAX): number | undefined {
  const raw = r.attribute(name);
  return raw === undefined ? undefined : unsignedInt(r.element, what, raw, max);
}

function oneOf<T extends string>(at: XmlElement, what: string, raw: string, allowed: readonly T[]): T {
  const value = raw.trim();
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new Invalid(at, `${what} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, not '${raw}'`);
  return found;
}

function pattern(at: XmlElement, what: string, raw: string, test: (value: string) => boolean, kind: string): string {
  if (!test(raw)) throw new Invalid(at, `${what} '${raw}' is not ${kind}`);
  return raw;
}

function empty(element: XmlElement): void {
  new Reader(element).done();
}

function parseProtocol(element: XmlElement): LibvirtProtocol {
  const r = new Reader(element);
  const family = oneOf(element, "<protocol>'s family", r.required('family'), ['ipv4', 'ipv6'] as const);
  const maxPrefix = family === 'ipv4' ? 32 : 128;
  const kind = family === 'ipv4' ? 'an IPv4 address' : 'an IPv6 address';
  let autoconf: boolean | undefined;
  if (family === 'ipv6') {
    const a = r.child('autoconf');
    if (a !== undefined) {
      empty(a);
      autoconf = true;
    }
  }
  let dhcp: { peerdns?: boolean } | undefined;
  const d = r.child('dhcp');
  if (d !== undefined) {
    const dr = new Reader(d);
    const peerdns = dr.attribute('peerdns');
    dhcp = peerdns === undefined ? {} : { peerdns: oneOf(d, "<dhcp>'s peerdns", peerdns, ['yes', 'no'] as const) === 'yes' };
    dr.done();
  }
  const ips = r.children('ip').map((ip): LibvirtIp => {
    const ir = new Reader(ip);
    const address = pattern(ip, '<ip> address', ir.required('address'), (v) => isSchemaIpAddress(family, v), kind);
    const prefix = optionalUnsigned(ir, 'prefix', "<ip>'s prefix", maxPrefix);
    ir.done();
    return prefix === undefined ? { address } : { address, prefix };
  });
  let gateway: string | undefined;
  const route = r.child('route');
  if (route !== undefined) {
    const rr = new Reader(route);
    gateway = pattern(route, '<route> gateway', rr.required('gateway'), (v) => isSchemaIpAddress(family, v), kind);
    rr.done();
  }
  r.done();
  return { family, ips, ...(autoconf ? { autoconf } : {}), ...(dhcp ? { dhcp } : {}), ...(gateway === undefined ? {} : { gateway }) };
}

function parseLink(element: XmlElement): NonNullable<LibvirtInterface['link']> {
  const r = new Reader(element);
  const speed = optionalUnsigned(r, 'speed', "<link>'s speed");
  const rawState = r.attribute('state');
  const state = rawState === undefined ? undefined : oneOf(element, "<link>'s state", rawState, ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const);
  r.done();
  return { ...(speed === undefined ? {} : { speed }), ...(state === undefined ? {} : { state }) };
}

function parseDelay(at: XmlElement, raw: string): number {
  const value = raw.trim();
  const number = value === 'INF' ? Infinity : XSD_DOUBLE.test(value) ? Number(value) : NaN;
  if (Number.isNaN(number) || number < 0) throw new Invalid(at, `<bridge>'s delay must be a number of seconds of 0 or more, not '${raw}'`);
  return number;
}

/** An <interface>: top-level (start, mtu, protocols allowed) or a port nested in a bridge or bond. */
function parseInterface(element: XmlElement, parent: 'top' | 'bridge' | 'bond'): LibvirtInterface {
  if (element.name !== 'interface') throw new Invalid(element, `the root element must be <interface>, not <${element.name}>`);
  const r = new Reader(element);
  const allowed: readonly LibvirtInterfaceType[] = parent === 'bond' ? ['ethernet'] : parent === 'bridge' ? ['ethernet', 'bond', 'vlan'] : ['ethernet', 'bridge', 'bond', 'vlan'];
  const rawType = r.required('type');
  const type = oneOf(element, parent === 'top' ? "<interface>'s type" : `the type of a port of a ${parent}`, rawType, allowed);
  const rawName = type === 'vlan' ? r.attribute('name') : r.required('name');
  const name = rawName === undefined ? undefined : pattern(element, 'the interface name', rawName, isDeviceName, 'a device name');
  const out: { -readonly [K in keyof LibvirtInterface]: LibvirtInterface[K] } = { type };
  if (name !== undefined) out.name = name;
  if (parent === 'top') {
    const start = r.child('start');
    if (start !== undefined) {
      const sr = new Reader(start);
      out.start = oneOf(start, "<start>'s mode", sr.required('mode'), ['onboot', 'none', 'hotplug'] as const);
      sr.done();
    }
    const mtu = r.child('mtu');
    if (mtu !== undefined) {
      const mr = new Reader(mtu);
      out.mtu = unsignedInt(mtu, "<mtu>'s size", mr.required('size'));
      mr.done();
    }
    const protocols = r.children('protocol', 2).map(parseProtocol);
    if (protocols.length === 2 && protocols[0]?.family === protocols[1]?.family) {
      throw new Invalid(element, `${describe(element)} may have one <protocol> of each family`);
    }
    if (protocols.length > 0) out.protocols = protocols;
  }
  if (type !== 'bridge') {
    const link = r.child('link');
    if (link !== undefined) out.link = parseLink(link);
  }
  if (type === 'ethernet') {
    const mac = r.child('mac');
    if (mac !== undefined) {
      const mr = new Reader(mac);
      out.mac = pattern(mac, '<mac> address', mr.required('address'), isMacAddress, 'a MAC address');
      mr.done();
    }
  } else if (type === 'bridge') {
    const bridge = r.child('bridge');
    if (bridge === undefined) throw new Invalid(element, `${describe(element)} needs a <bridge> element`);
    const br = new Reader(bridge);
    const stp = br.attribute('stp');
    const delay = br.attribute('delay');
    const ports = br.children('interface').map((p) => parseInterface(p, 'bridge'));
    br.done();
    out.bridge = {
      ports,
      ...(stp === undefined ? {} : { stp: oneOf(bridge, "<bridge>'s stp", stp, ['on', 'off'] as const) === 'on' }),
      ...(delay === undefined ? {} : { delay: parseDelay(bridge, delay) }),
    };
  } else if (type === 'bond') {
    const bond = r.child('bond');
    if (bond === undefined) throw new Invalid(element, `${describe(element)} needs a <bond> element`);
    out.bond = parseBond(bond);
  } else {
    const vlan = r.child('vlan');
    if (vlan === undefined) throw new Invalid(element, `${describe(element)} needs a <vlan> element`);
    const vr = new Reader(vlan);
    const tag = unsignedInt(vlan, "<vlan>'s tag", vr.required('tag'), 4095);
    const [device, ...more] = vr.children('interface');
    if (device === undefined || more.length > 0) throw new Invalid(vlan, '<vlan> needs exactly one <interface name=…> for its device');
    const dr = new Reader(device);
    const deviceName = pattern(device, 'the VLAN device name', dr.required('name'), isDeviceName, 'a device name');
    dr.done();
    vr.done();
    out.vlan = { tag, device: deviceName };
  }
  r.done();
  return out;
}

function parseBond(element: XmlElement): LibvirtBond {
  const r = new Reader(element);
  const rawMode = r.attribute('mode');
  const miimon = r.child('miimon');
  const arpmon = r.child('arpmon');
  if (miimon !== undefined && arpmon !== undefined) throw new Invalid(arpmon, '<bond> may have <miimon> or <arpmon>, not both');
  const ports = r.children('interface').map((p) => parseInterface(p, 'bond'));
  if (ports.length === 0) throw new Invalid(element, '<bond> needs at least one <interface>');
  const out: { -readonly [K in keyof LibvirtBond]: LibvirtBond[K] } = { ports };
  if (rawMode !== undefined) out.mode = oneOf(element, "<bond>'s mode", rawMode, BOND_MODES);
  if (miimon !== undefined) {
    const m = new Reader(miimon);
    const freq = unsignedInt(miimon, "<miimon>'s freq", m.required('freq'));
    const downdelay = optionalUnsigned(m, 'downdelay', "<miimon>'s downdelay");
    const updelay = optionalUnsigned(m, 'updelay', "<miimon>'s updelay");
    const rawCarrier = m.attribute('carrier');
    const carrier = rawCarrier === undefined ? undefined : oneOf(miimon, "<miimon>'s carrier", rawCarrier, ['ioctl', 'netif'] as const);
    m.done();
    out.miimon = { freq, ...(downdelay === undefined ? {} : { downdelay }), ...(updelay === undefined ? {} : { updelay }), ...(carrier === undefined ? {} : { carrier }) };
  }
  if (arpmon !== undefined) {
    const a = new Reader(arpmon);
    const interval = unsignedInt(arpmon, "<arpmon>'s interval", a.required('interval'));
    const target = pattern(arpmon, "<arpmon>'s target", a.required('target'), (v) => isSchemaIpAddress('ipv4', v), 'an IPv4 address');
    const rawValidate = a.attribute('validate');
    const validate = rawValidate === undefined ? undefined : oneOf(arpmon, "<arpmon>'s validate", rawValidate, ['none', 'active', 'backup', 'all'] as const);
    a.done();
    out.arpmon = { interval, target, ...(validate === undefined ? {} : { validate }) };
  }
  r.done();
  return out;
}

/**
 * Parses a caller's interface XML. Malformed XML, anything the safety rules refuse (DOCTYPE,
 * entities, namespaces, size) and anything libvirt's interface schema refuses is InvalidArgs,
 * with the line and column.
 */
export function parseInterfaceXml(text: string): LibvirtInterface {
  try {
    return parseInterface(parseXmlDocument(text, INTERFACE_XML_LIMITS), 'top');
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new ShareError('InvalidArgs', `the interface XML is not valid: ${err.message}`);
    if (err instanceof Invalid) throw new ShareError('InvalidArgs', `the interface XML is not valid: line ${err.at.line}, column ${err.at.column}: ${err.reason}`);
    throw err;
  }
}
