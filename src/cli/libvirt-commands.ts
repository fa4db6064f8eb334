// SPDX-License-Identifier: GPL-2.0-or-later
// The commands a libvirt user knows from virsh (iface-dumpxml, iface-define, iface-bridge,
// iface-unbridge), over GetInterfaceXML, DefineInterfaceXML and Unshare, with virsh's argument
// order and options. `iface-bridge` builds its XML the way virsh does (iface-bridge-definition.ts).
import { readFileSync } from 'node:fs';
import * as t from '../dbus-wire/bus-value';
import { interfaceNameProblem } from '../bridge/interface-name';
import { MAX_FORWARD_DELAY_SECONDS } from '../bridge/share-request';
import { ERROR_PREFIX } from '../service/shared-interface-spec';
import { flagValue, secondsBetween, stringValue, UsageError, type CliCommand, type Invocation } from './command';
import type { IfaceBridgeOptions } from './iface-bridge-definition';
import { callService, changeTimeoutMs, sharedInterfaces } from './cli-service';
import { writeJson } from './cli-output';
import { PROGRAM } from './cli-help';
import { EXIT } from './exit-codes';
import { INTERFACE_ARGUMENT, ROLLBACK_TIMEOUT_OPTION } from './share-command';

// What a caller may send; the service refuses anything over 64 KiB itself, this only bounds our read.
const MAX_DEFINE_FILE_BYTES = 16 * 1024 * 1024;

async function interfaceXml(invocation: Invocation, name: string, inactive: boolean): Promise<string> {
  const options: Record<string, t.Variant> = inactive ? { inactive: t.makeVariant('b', true) } : {};
  const [xml] = await callService(await invocation.bus(), 'GetInterfaceXML', 'sa{sv}', [name, options]);
  return t.string.decode(xml, 'GetInterfaceXML reply');
}

/** Defines the bridge; `share` is what the XML asks of STP, for the wait (unknown: the longest). */
async function define(invocation: Invocation, xml: string, share: IfaceBridgeOptions = { stp: true, delay: MAX_FORWARD_DELAY_SECONDS }): Promise<string> {
  const options: Record<string, t.Variant> = {};
  const rollback = stringValue(invocation.values, 'rollback-timeout');
  if (rollback !== undefined) options['rollback-timeout'] = t.makeVariant('u', Number(rollback));
  const timeout = changeTimeoutMs({ stp: share.stp, forwardDelay: share.delay ?? 0 });
  const [bridge] = await callService(await invocation.bus(), 'DefineInterfaceXML', 'sa{sv}', [xml, options], timeout);
  return t.string.decode(bridge, 'DefineInterfaceXML reply');
}

/** Refused without asking the service: what the service can't do, said as it would say it. */
function notSupported(invocation: Invocation, message: string, hint: string): number {
  const { output } = invocation;
  output.err(`${PROGRAM}: ${message}`);
  output.err(`hint: ${hint}`);
  output.err(`(${ERROR_PREFIX}.NotSupported)`);
  if (invocation.json) writeJson(output, { error: `${ERROR_PREFIX}.NotSupported`, message, hint, exit: EXIT.failed });
  return EXIT.failed;
}

export const dumpxmlCommand: CliCommand = {
  name: 'dumpxml',
  summary: 'Show an interface in libvirt\'s interface XML (virsh iface-dumpxml).',
  description: 'Writes IFACE as libvirt\'s interface XML describes it (valid against libvirt\'s interface.rng): its live state, or with --inactive its configuration (the NetworkManager profile or ifcfg file that brings it up). A bridge lists its ports.',
  positionals: [{ ...INTERFACE_ARGUMENT, help: 'The interface, e.g. eth0 or br-eth0.' }],
  options: {
    inactive: { type: 'boolean', help: 'The configured state instead of the live one.' },
  },
  async run(invocation) {
    const name = invocation.positionals[0] ?? '';
    const inactive = flagValue(invocation.values, 'inactive');
    const xml = await interfaceXml(invocation, name, inactive);
    if (invocation.json) writeJson(invocation.output, { interface: name, inactive, xml });
    else invocation.output.out(xml.replace(/\n$/, ''));
  },
};

export const defineCommand: CliCommand = {
  name: 'define',
  summary: 'Share a NIC as the bridge an XML file defines (virsh iface-define).',
  description: 'Reads libvirt\'s interface XML of a bridge with the NIC to share as its one port (what virsh iface-bridge writes; - reads standard input) and shares the NIC through that bridge, verified like share. XML that is not valid is refused with its line and column; what sharing cannot honour (several ports, another IP configuration, <start mode=\'hotplug\'>) with the reason.',
  positionals: [{ name: 'FILE', complete: 'files', help: 'The XML file, or - for standard input.' }],
  options: {
    'rollback-timeout': ROLLBACK_TIMEOUT_OPTION,
  },
  async run(invocation) {
    const file = invocation.positionals[0] ?? '-';
    let xml: string;
    try {
      const bytes = readFileSync(file === '-' ? 0 : file);
      if (bytes.length > MAX_DEFINE_FILE_BYTES) throw new Error(`it is ${bytes.length} bytes long`);
      xml = bytes.toString('utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file === '-' ? 'standard input' : file}: ${err instanceof Error ? err.message : String(err)}`, 'define');
    }
    const bridge = await define(invocation, xml);
    if (invocation.json) writeJson(invocation.output, { file, bridge });
    else invocation.output.out(`Interface ${bridge} defined from ${file === '-' ? 'standard input' : file}, and started; attach guests to ${bridge}`);
  },
};

export const ifaceBridgeCommand: CliCommand = {
  name: 'iface-bridge',
  summary: 'Bridge an interface, as virsh iface-bridge IFACE BRIDGE does.',
  description: 'Creates BRIDGE with IFACE as its port, as virsh iface-bridge does (and, like it, with spanning tree on unless --no-stp), and moves IFACE\'s configuration onto it: the XML virsh would define, built from IFACE\'s configuration (dumpxml --inactive) and shared through DefineInterfaceXML, verified like share. Without --delay, a bridge with STP forwards after the usual 15 s.',
  positionals: [
    { ...INTERFACE_ARGUMENT, help: 'The interface to bridge, e.g. eth0.' },
    { name: 'BRIDGE', check: interfaceNameProblem, help: 'The new bridge\'s name, e.g. br0.' },
  ],
  options: {
    'no-stp': { type: 'boolean', help: 'Do not turn on spanning tree on the bridge.' },
    delay: { type: 'string', valueName: 'SECONDS', help: 'With spanning tree: seconds before a new port forwards (2 to 30).', check: secondsBetween(0, 30) },
    'no-start': { type: 'boolean', help: 'Not supported: the bridge is defined and started in one verified step.' },
    'rollback-timeout': ROLLBACK_TIMEOUT_OPTION,
  },
  async run(invocation) {
    const [nic = '', bridge = ''] = invocation.positionals;
    if (flagValue(invocation.values, 'no-start')) {
      return notSupported(invocation, '--no-start is not supported: the bridge is defined, started and verified in one step, and rolled back if it cannot be verified', `run: ${PROGRAM} iface-bridge ${nic} ${bridge} without --no-start`);
    }
    const stp = !flagValue(invocation.values, 'no-stp');
    const delayText = stringValue(invocation.values, 'delay');
    const options: IfaceBridgeOptions = delayText === undefined ? { stp } : { stp, delay: Number(delayText) };
    // The XML reader (saxes) is loaded by the one command that reads XML, not by every start.
    const { ifaceBridgeDefinition } = await import('./iface-bridge-definition');
    const xml = ifaceBridgeDefinition(await interfaceXml(invocation, nic, true), bridge, options);
    const name = await define(invocation, xml, options);
    if (invocation.json) writeJson(invocation.output, { interface: nic, bridge: name, stp, ...(options.delay === undefined ? {} : { delay: options.delay }), xml });
    else invocation.output.out(`Created bridge ${name} with attached device ${nic}\nBridge interface ${name} started`);
    return undefined;
  },
};

export const ifaceUnbridgeCommand: CliCommand = {
  name: 'iface-unbridge',
  summary: 'Undo iface-bridge: the port\'s own configuration comes back (virsh iface-unbridge).',
  description: 'Takes the NIC off BRIDGE, a bridge shared through this service, and brings its own configuration back (unshare of that NIC), verified like unshare. Refused while guests are attached, unless --force.',
  positionals: [{ name: 'BRIDGE', check: interfaceNameProblem, complete: 'interfaces', help: 'The bridge, e.g. br0.' }],
  options: {
    force: { type: 'boolean', help: 'Even if guests are still attached to the bridge (they lose the network).' },
    'rollback-timeout': ROLLBACK_TIMEOUT_OPTION,
  },
  async run(invocation) {
    const bridge = invocation.positionals[0] ?? '';
    const { output, values } = invocation;
    const bus = await invocation.bus();
    const nic = [...(await sharedInterfaces(bus))].find(([, b]) => b === bridge)?.[0];
    if (nic === undefined) {
      const message = `${bridge} is not a bridge shared through this service`;
      output.err(`${PROGRAM}: ${message}`);
      output.err(`(${ERROR_PREFIX}.NotShared)`);
      if (invocation.json) writeJson(output, { error: `${ERROR_PREFIX}.NotShared`, message, exit: EXIT.notFound });
      return EXIT.notFound;
    }
    const options: Record<string, t.Variant> = {};
    if (flagValue(values, 'force')) options['force'] = t.makeVariant('b', true);
    const rollback = stringValue(values, 'rollback-timeout');
    if (rollback !== undefined) options['rollback-timeout'] = t.makeVariant('u', Number(rollback));
    await callService(bus, 'Unshare', 'sa{sv}', [nic, options], changeTimeoutMs());
    if (invocation.json) writeJson(output, { bridge, interface: nic, shared: false });
    else output.out(`Device ${nic} un-attached from bridge ${bridge}\nInterface ${nic} started`);
    return undefined;
  },
};

export const LIBVIRT_COMMANDS: readonly CliCommand[] = [dumpxmlCommand, defineCommand, ifaceBridgeCommand, ifaceUnbridgeCommand];
