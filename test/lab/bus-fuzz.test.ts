// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzzing the bus edge: a raw-socket client sends a few hundred malformed, truncated,
// oversized, wrong-signature, fd-typed and deeply nested messages to our name on the lab's real
// dbus-daemon; afterwards the daemon (the same process) still answers and nothing changed: what
// it says (Shared, the listing) and what NetworkManager has (profiles, active connections, links).
// Seeded, so a failure is reproducible: FUZZ_SEED=N picks another sequence.
import test from 'ava';
import { MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_SIGNAL, marshalMessage } from '../../src/dbus-wire/bus-marshal';
import * as t from '../../src/dbus-wire/bus-value';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';
import { Lab } from './lab';
import { prng } from './seeded-random';
import { networkState } from './nm-state';
import { ConnectionClosed, RawBusClient, rawMessage } from './raw-bus-client';
import { daemonView, ServiceClient } from './service-client';

const SEED = Number(process.env['FUZZ_SEED'] ?? '20261201');
const MESSAGES = 300;

const METHODS = ['Share', 'Unshare', 'ListInterfaces', 'DefineInterfaceXML', 'GetInterfaceXML', 'NoSuchMethod'];
const IFACES = [INTERFACE_NAME, 'org.freedesktop.DBus.Properties', 'org.freedesktop.DBus.Peer', 'org.freedesktop.DBus.Introspectable', 'org.example.Nope'];
const SIGNATURES = ['', 's', 'sa{sv}', 'a{sv}', 'ss', 'ssv', 'u', 'h', 'sh', 'ah', 'a{sh}', 'v', 'av', 'aay', 'sa{ss}', '(sa{sv})', 'a(ssa{sv})', 'sa{sv}s', 'x', 'd', 'g', 'o', 'b'];
// Every interface name the fuzzer writes is one no host has: even a call that decodes changes nothing.
const NIC = 'fz0';

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

/** One fuzzed message: its bytes, and whether the bus will most likely drop the connection for it. */
interface Fuzzed { readonly name: string; readonly bytes: Buffer; readonly truncate?: boolean }

function generate(random: () => number, serial: () => number): Fuzzed {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (n: number) => Math.floor(random() * n);
  const call = (fields: Partial<Parameters<typeof rawMessage>[0]>, body: Buffer) =>
    rawMessage({ type: MESSAGE_TYPE_METHOD_CALL, serial: serial(), path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Share', destination: BUS_NAME, flags: int(8) & 0x5, ...fields }, body);
  const valid = (member: string, signature: string, body: unknown[], iface = INTERFACE_NAME) =>
    marshalMessage({ type: MESSAGE_TYPE_METHOD_CALL, serial: serial(), path: OBJECT_PATH, interface: iface, member, destination: BUS_NAME, signature, body });
  switch (int(10)) {
    case 0: { // a wrong signature, with bytes that may or may not fit it
      const signature = pick(SIGNATURES);
      return { name: `wrong signature ${signature}`, bytes: call({ member: pick(METHODS), interface: pick(IFACES), signature }, Buffer.from(Array.from({ length: int(64) }, () => int(256)))) };
    }
    case 1: { // fd-typed: 'h' in the signature, and sometimes a UNIX_FDS field claiming fds that never came
      const signature = pick(['h', 'sh', 'ah', 'a{sh}', '(h)', 'vh']);
      const claim = random() < 0.3 ? { unixFds: 1 + int(3) } : {};
      return { name: `fd-typed ${signature}`, bytes: call({ member: pick(METHODS), interface: pick(IFACES), signature, ...claim }, Buffer.concat([u32(0), u32(0), u32(0)])), truncate: 'unixFds' in claim };
    }
    case 2: { // oversized: an ay or as beyond what our API takes
      const size = (128 + int(2048)) * 1024;
      return { name: `oversized ${size}`, bytes: call({ signature: 'say' }, Buffer.concat([u32(3), Buffer.from('fz0\0'), u32(size), Buffer.alloc(size, 0x41)])) };
    }
    case 3: { // variants nested deep (the spec allows 64 containers in all)
      const depth = 20 + int(45);
      const nested = Buffer.concat([...Array.from({ length: depth }, () => Buffer.from([1, 0x76, 0])), Buffer.from([1, 0x73, 0, 0]), u32(1), Buffer.from('x\0')]);
      return { name: `variant ${depth} deep`, bytes: call({ signature: 'v', member: pick(METHODS) }, nested) };
    }
    case 4: { // arrays nested deep, in a valid message
      let value: unknown = ['x'];
      let signature = 'as';
      for (let i = int(30); i > 0; i--) { value = [value]; signature = `a${signature}`; }
      return { name: `arrays ${signature.length - 1} deep`, bytes: valid(pick(METHODS), `s${signature}`, [NIC, value]) };
    }
    case 5: { // many options
      const n = 30 + int(2000);
      const options = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, t.makeVariant('s', 'v'.repeat(int(20)))]));
      return { name: `a{sv} of ${n}`, bytes: valid(pick(['Share', 'Unshare']), 'sa{sv}', [NIC, options]) };
    }
    case 6: { // a valid Share or Unshare of a NIC nobody has, with bytes of its body flipped
      const bytes = valid(pick(['Share', 'Unshare']), 'sa{sv}', [NIC, { bridge: t.makeVariant('s', 'brfz'), stp: t.makeVariant('b', true) }]);
      const bodyStart = bytes.length - bytes.readUInt32LE(4);
      for (let i = 1 + int(4); i > 0; i--) bytes[bodyStart + int(bytes.length - bodyStart)] = int(256);
      return { name: 'flipped body bytes', bytes };
    }
    case 7: { // options of wrong types, unknown keys, absurd values
      const value = pick([t.makeVariant('s', '\u0000'.repeat(0) + 'x'.repeat(int(300))), t.makeVariant('u', 4294967295), t.makeVariant('ay', Buffer.alloc(int(100))), t.makeVariant('a{sv}', {}), t.makeVariant('v', t.makeVariant('b', true))]);
      return { name: 'odd option', bytes: valid(pick(['Share', 'Unshare', 'DefineInterfaceXML']), 'sa{sv}', [pick([NIC, '', '-', 'x'.repeat(300), '../etc', 'fz0%']), { [pick(['bridge', 'stp', 'forward-delay', 'rollback-timeout', 'persist', 'force', 'nope'])]: value }]) };
    }
    case 8: { // a unicast signal to the daemon, or a Properties call with junk
      if (random() < 0.5) {
        return { name: 'unicast signal', bytes: marshalMessage({ type: MESSAGE_TYPE_SIGNAL, serial: serial(), destination: BUS_NAME, path: '/org/freedesktop', interface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesAdded', signature: 'oa{sa{sv}}', body: ['/org/freedesktop/NetworkManager/Devices/77', {}] }) };
      }
      return { name: 'Properties junk', bytes: valid(pick(['Get', 'Set', 'GetAll']), 'ssv', [INTERFACE_NAME, pick(['Shared', 'Backend', 'Version', 'Nope']), t.makeVariant('a{ss}', { eth0: 'br0' })], 'org.freedesktop.DBus.Properties') };
    }
    default: { // truncated: the header promises more than is sent, then the connection ends
      const whole = valid('Share', 'sa{sv}', [NIC, {}]);
      return { name: 'truncated', bytes: whole.subarray(0, 8 + int(whole.length - 8)), truncate: true };
    }
  }
}

test(`fuzzing (seed ${SEED}): ${MESSAGES} malformed, truncated, oversized, fd-typed and deep messages leave the daemon answering and nothing changed`, async (t2) => {
  const lab = await Lab.start({});
  const bus = await lab.connect();
  try {
    const daemon = await lab.startDaemon();
    const client = new ServiceClient(bus);
    const viewBefore = await daemonView(client);
    const stateBefore = await networkState(lab);
    const random = prng(SEED);
    let raw = await RawBusClient.connect(lab.busAddress);
    const kinds = new Map<string, number>();
    let dropped = 0;
    const unanswered: string[] = [];
    try {
      for (let i = 0; i < MESSAGES; i++) {
        const fuzzed = generate(random, () => raw.nextSerial());
        const kind = fuzzed.name.split(' ')[0] ?? '';
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        raw.write(fuzzed.bytes);
        if (fuzzed.truncate) {
          // The rest never comes: end this connection (the bus drops what it had of the message).
          raw.close();
        } else {
          // After each message a round trip through the daemon: it must still answer. The bus
          // itself drops a connection that sent a message it finds malformed: then a new one.
          try {
            await raw.call({ destination: BUS_NAME, path: OBJECT_PATH, interface: 'org.freedesktop.DBus.Peer', member: 'Ping' }, 60_000);
          } catch (err) {
            if (!(err instanceof ConnectionClosed)) unanswered.push(`${i} ${fuzzed.name}: ${String(err)}`);
          }
        }
        if (raw.isClosed) {
          dropped++;
          raw = await RawBusClient.connect(lab.busAddress);
        }
      }
    } finally {
      raw.close();
    }
    t2.deepEqual(unanswered, [], 'the daemon answered a Ping after every message');
    t2.log(`sent ${MESSAGES} messages (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}), the bus dropped the connection ${dropped} times`);
    t2.true(daemon.running, `the daemon exited:\n${daemon.output.slice(-3000)}`);
    t2.deepEqual(await daemonView(client), viewBefore);
    t2.deepEqual(await networkState(lab), stateBefore);
    t2.notRegex(daemon.output, /audit:/, 'no change was applied');
  } finally {
    bus.close();
    await lab.stop();
  }
});
