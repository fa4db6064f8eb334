// SPDX-License-Identifier: GPL-2.0-or-later
// BusConnection against a small fake bus (fake-bus.ts; no
// dbus-daemon): the SASL exchange, Hello, replies routed by serial, deadlines, signals, incoming
// method calls and the answers to calls no handler takes, and closing. The fake bus reads what
// we send with the library's own unmarshaller. What it logs goes to a Log of the test's.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBusAddress, unixexecAddress } from '../../src/dbus-wire/bus-address';
import { BusCallError, BusConnection, MESSAGE_FLAG_NO_REPLY_EXPECTED, type BusMessage } from '../../src/dbus-wire/bus-connection';
import {
  MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, MESSAGE_TYPE_SIGNAL,
  type OutgoingMessage,
} from '../../src/dbus-wire/bus-marshal';
import { Dispatcher } from '../../src/service/dispatcher';
import { CLIENT_NAME, FakeBus, PEER_NAME, type LibraryMessage } from './fake-bus';
import { FakeClock } from './fake-clock';
import { MAX_HELD_CALLS } from '../../src/dbus-wire/stalled-readers';

/** What the connection logged, level and line. */
type Logged = string[];

async function withBus(
  run: (fake: FakeBus, bus: BusConnection, logged: Logged) => Promise<void>,
  options: { callTimeoutMs?: number; maxCallsInFlight?: number; clock?: FakeClock } = {},
): Promise<void> {
  const fake = await FakeBus.start();
  const logged: Logged = [];
  const log = {
    error: (m: string) => logged.push(`error: ${m}`), warn: (m: string) => logged.push(`warn: ${m}`),
    info: (m: string) => logged.push(`info: ${m}`), debug: (m: string) => logged.push(`debug: ${m}`),
  };
  const bus = await BusConnection.connect({ address: fake.address, ...options, log });
  try {
    await run(fake, bus, logged);
  } finally {
    bus.close();
    await fake.stop();
  }
}

const call = { destination: 'org.example.Peer', path: '/org/example', interface: 'org.example.Iface', member: 'Do' };

/** A method call from a peer to the client; resolves with what the client answered. */
function answerTo(fake: FakeBus, msg: Partial<OutgoingMessage>): Promise<LibraryMessage> {
  const serial = fake.send({ type: MESSAGE_TYPE_METHOD_CALL, sender: PEER_NAME, destination: CLIENT_NAME, path: '/', member: 'Ping', ...msg });
  return fake.next((m) => (m.type === MESSAGE_TYPE_METHOD_RETURN || m.type === MESSAGE_TYPE_ERROR) && m.replySerial === serial);
}

test('connects without loading the library\'s MessageBus (xml2js, sax, xmlbuilder)', async (t) => {
  await withBus(async (_, bus) => {
    t.is(bus.uniqueName, CLIENT_NAME);
    t.false(bus.isClosed);
    t.deepEqual(Object.keys(require.cache).filter((k) => /xml2js|sax|xmlbuilder|dbus-next[/\\](index|lib[/\\]bus)\.js/.test(k)), []);
  });
});

test('a call resolves with its reply\'s body; serials are new for every message', async (t) => {
  await withBus(async (fake, bus) => {
    fake.onCall = (msg) => fake.reply(msg, 'sa{sv}', [`hello ${String(msg.body?.[0])}`, {}]);
    const [a, b] = await Promise.all([
      bus.call({ ...call, signature: 's', body: ['a'] }),
      bus.call({ ...call, signature: 's', body: ['b'], allowInteractiveAuthorization: true, noAutoStart: true }),
    ]);
    t.deepEqual(a, ['hello a', {}]);
    t.deepEqual(b, ['hello b', {}]);
    const serials = fake.received.map((m) => m.serial);
    t.is(new Set(serials).size, serials.length);
    t.is(fake.received.at(-1)?.flags, 0x6);
  });
});

test('an error reply rejects with its name and text', async (t) => {
  await withBus(async (fake, bus) => {
    fake.onCall = (msg) => fake.send({
      type: MESSAGE_TYPE_ERROR, replySerial: msg.serial, destination: CLIENT_NAME, sender: PEER_NAME,
      errorName: 'org.example.Error.Nope', signature: 's', body: ['not today'],
    });
    const err = await t.throwsAsync(bus.call(call), { instanceOf: BusCallError });
    t.is(err?.errorName, 'org.example.Error.Nope');
    t.is(err?.message, 'not today');
  });
});

test('a message we cannot marshal is refused before anything is sent', async (t) => {
  await withBus(async (fake, bus) => {
    const before = fake.received.length;
    const err = await t.throwsAsync(bus.call({ ...call, signature: 'u', body: ['x'] }), { instanceOf: BusCallError });
    t.is(err?.errorName, 'org.freedesktop.DBus.Error.Failed');
    t.regex(err?.message ?? '', /cannot call org\.example\.Iface\.Do: body\[0\]/);
    t.is(fake.received.length, before);
  }, { maxCallsInFlight: 1 });
});

test('a call past its deadline (on the injected clock) fails with Timeout, frees its slot, and its late reply is dropped', async (t) => {
  const clock = new FakeClock();
  await withBus(async (fake, bus) => {
    const late: LibraryMessage[] = [];
    fake.onCall = (msg) => {
      if (msg.member === 'Slow') late.push(msg);
      else fake.reply(msg, 's', ['fast']);
    };
    const slow = bus.call({ ...call, member: 'Slow', timeoutMs: 25_000 });
    await fake.next((m) => m.member === 'Slow');
    clock.advance(24_999);
    t.is(clock.scheduled, 1, 'not a moment before its deadline');
    clock.advance(1);
    const err = await t.throwsAsync(slow, { instanceOf: BusCallError });
    t.is(err?.errorName, 'org.freedesktop.DBus.Error.Timeout');
    // The only slot is free again, and the late reply does not answer the next call.
    const next = bus.call({ ...call, member: 'Fast' });
    for (const msg of late) fake.reply(msg, 's', ['late']);
    t.deepEqual(await next, ['fast']);
  }, { maxCallsInFlight: 1, clock });
});

test('calls beyond the cap wait for a slot', async (t) => {
  await withBus(async (fake, bus) => {
    const held: LibraryMessage[] = [];
    fake.onCall = (msg) => held.push(msg);
    const calls = [1, 2, 3].map((i) => bus.call({ ...call, signature: 'u', body: [i] }));
    await fake.next((m) => m.body?.[0] === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.is(held.length, 2);
    for (const msg of held.splice(0)) fake.reply(msg, 'u', msg.body ?? []);
    await fake.next((m) => m.body?.[0] === 3);
    for (const msg of held.splice(0)) fake.reply(msg, 'u', msg.body ?? []);
    t.deepEqual(await Promise.all(calls), [[1], [2], [3]]);
  }, { maxCallsInFlight: 2 });
});

test.serial('signals reach matching subscribers; a match rule is added once and removed with its last subscriber', async (t) => {
  await withBus(async (fake, bus, logged) => {
    const got: string[] = [];
    const match = { sender: PEER_NAME, path: '/org/example', interface: 'org.example.Iface', member: 'Changed' };
    const off1 = await bus.subscribe(match, (msg) => got.push(`1:${String(msg.body[0])}`));
    const off2 = await bus.subscribe(match, (msg) => {
      got.push(`2:${String(msg.body[0])}`);
      throw new Error('a listener that fails does not stop the others');
    });
    const off3 = await bus.subscribe({ sender: PEER_NAME, pathNamespace: '/org/other' }, (msg) => got.push(`3:${msg.path}`));
    const addMatch = fake.received.filter((m) => m.member === 'AddMatch').map((m) => m.body?.[0]);
    t.deepEqual(addMatch, [
      "type='signal',sender=':1.99',path='/org/example',interface='org.example.Iface',member='Changed'",
      "type='signal',sender=':1.99',path_namespace='/org/other'",
    ]);
    const signal = (path: string, member: string, value: string) =>
      fake.send({ type: MESSAGE_TYPE_SIGNAL, sender: PEER_NAME, path, interface: 'org.example.Iface', member, signature: 's', body: [value] });
    signal('/org/example', 'Changed', 'x');
    signal('/org/example', 'Other', 'y');
    signal('/org/other/child', 'Changed', 'z');
    await bus.call({ ...call, destination: 'org.freedesktop.DBus' }); // a round trip: the signals are in
    t.deepEqual(got, ['1:x', '2:x', '3:/org/other/child']);
    t.is(logged.filter((l) => l.startsWith('error:')).length, 1);
    await off1();
    t.false(fake.received.some((m) => m.member === 'RemoveMatch'));
    await off2();
    await off3();
    t.deepEqual(fake.received.filter((m) => m.member === 'RemoveMatch').map((m) => m.body?.[0]), addMatch);
  });
});

test('incoming method calls go to the handlers in order; the sender, serial and flags come along', async (t) => {
  await withBus(async (fake, bus) => {
    const seen: BusMessage[] = [];
    bus.addMethodHandler(() => false);
    bus.addMethodHandler((msg) => {
      if (msg.path !== '/org/example') return false;
      seen.push(msg);
      bus.reply(msg, 's', [`done ${String(msg.body[0])}`]);
      return true;
    });
    const reply = await answerTo(fake, { path: '/org/example', interface: 'org.example.Iface', member: 'Do', signature: 's', body: ['it'], flags: 0x4 });
    t.is(reply.type, MESSAGE_TYPE_METHOD_RETURN);
    t.deepEqual(reply.body, ['done it']);
    t.is(seen[0]?.sender, PEER_NAME);
    t.is(seen[0]?.destination, CLIENT_NAME);
    t.is(seen[0]?.interface, 'org.example.Iface');
    t.is(seen[0]?.flags, 0x4);
    t.is(reply.replySerial, seen[0]?.serial);
  });
});

test('calls no handler takes: Peer and Introspect answered, Properties UnknownObject, the rest UnknownMethod', async (t) => {
  await withBus(async (fake, bus) => {
    bus.addMethodHandler(() => false);
    const ping = await answerTo(fake, { path: '/nowhere', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
    t.is(ping.type, MESSAGE_TYPE_METHOD_RETURN);
    t.deepEqual(ping.body ?? [], []);
    const id = await answerTo(fake, { path: '/nowhere', interface: 'org.freedesktop.DBus.Peer', member: 'GetMachineId' });
    t.deepEqual(id.body, [readFileSync('/etc/machine-id', 'utf8').trim()]);
    const xml = await answerTo(fake, { path: '/nowhere', interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' });
    t.regex(String(xml.body?.[0]), /<node\/>/);
    const get = await answerTo(fake, { path: '/nowhere', interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: ['a.b', 'C'] });
    t.is(get.errorName, 'org.freedesktop.DBus.Error.UnknownObject');
    const unknown = await answerTo(fake, { path: '/nowhere', interface: 'org.example.Iface', member: 'Do' });
    t.is(unknown.type, MESSAGE_TYPE_ERROR);
    t.is(unknown.errorName, 'org.freedesktop.DBus.Error.UnknownMethod');
    t.deepEqual(unknown.body, ["Method 'Do' on interface 'org.example.Iface' does not exist"]);
    const noInterface = await answerTo(fake, { path: '/nowhere', member: 'Do' });
    t.is(noInterface.errorName, 'org.freedesktop.DBus.Error.UnknownMethod');
  });
});

test.serial('no answer when the caller expects none; a handler that throws gets Failed without its stack', async (t) => {
  await withBus(async (fake, bus, logged) => {
    bus.addMethodHandler((msg) => {
      if (msg.member === 'Boom') throw new Error('secret detail');
      return false;
    });
    fake.send({ type: MESSAGE_TYPE_METHOD_CALL, sender: PEER_NAME, destination: CLIENT_NAME, path: '/x', interface: 'org.example.Iface', member: 'Quiet', flags: MESSAGE_FLAG_NO_REPLY_EXPECTED });
    const boom = await answerTo(fake, { path: '/x', interface: 'org.example.Iface', member: 'Boom' });
    // The first answer is Boom's: Quiet, sent before it, got none.
    t.is(fake.received.filter((m) => m.destination === PEER_NAME).length, 1);
    t.is(boom.errorName, 'org.freedesktop.DBus.Error.Failed');
    t.notRegex(String(boom.body?.[0]), /secret detail/);
    t.regex(logged.join('\n'), /secret detail/);
  });
});

test('when the bus goes away: onClosed is told, waiting calls fail with Disconnected, new calls too', async (t) => {
  await withBus(async (fake, bus) => {
    const reasons: string[] = [];
    bus.onClosed((reason) => reasons.push(reason));
    fake.onCall = () => fake.dropClient();
    const err = await t.throwsAsync(bus.call(call), { instanceOf: BusCallError });
    t.is(err?.errorName, 'org.freedesktop.DBus.Error.Disconnected');
    t.true(bus.isClosed);
    t.is(reasons.length, 1);
    const after = await t.throwsAsync(bus.call(call), { instanceOf: BusCallError });
    t.is(after?.errorName, 'org.freedesktop.DBus.Error.Disconnected');
    // Replies and signals to a closed connection are dropped, not thrown.
    t.notThrows(() => bus.emitSignal('/a', 'a.b', 'C', '', []));
  });
});

test('close() fails waiting calls at once and does not call onClosed listeners', async (t) => {
  await withBus(async (_, bus) => {
    const reasons: string[] = [];
    bus.onClosed((reason) => reasons.push(reason));
    const pending = bus.call(call);
    bus.close();
    const err = await t.throwsAsync(pending, { instanceOf: BusCallError });
    t.is(err?.errorName, 'org.freedesktop.DBus.Error.Disconnected');
    t.deepEqual(reasons, []);
  });
});

test('connecting fails with NoServer: no socket, an unusable address, a bus that never answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'no-bus-'));
  try {
    const missing = await t.throwsAsync(BusConnection.connect({ address: `unix:path=${join(dir, 'none')}` }), { instanceOf: BusCallError });
    t.is(missing?.errorName, 'org.freedesktop.DBus.Error.NoServer');
    t.regex(missing?.message ?? '', /ENOENT/);
    const unusable = await t.throwsAsync(BusConnection.connect({ address: 'carrier-pigeon:coop=1' }), { instanceOf: BusCallError });
    t.is(unusable?.errorName, 'org.freedesktop.DBus.Error.NoServer');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const silent = await FakeBus.start({ answerAuth: false });
  try {
    const stalled = await t.throwsAsync(BusConnection.connect({ address: silent.address, callTimeoutMs: 100 }), { instanceOf: BusCallError });
    t.is(stalled?.errorName, 'org.freedesktop.DBus.Error.NoServer');
    t.regex(stalled?.message ?? '', /no answer within 100 ms/);
  } finally {
    await silent.stop();
  }
});

test('a failed AddMatch counts no subscriber: the next subscribe adds the rule again', async (t) => {
  await withBus(async (fake, bus) => {
    const match = { sender: PEER_NAME, path: '/org/example', member: 'Changed' };
    fake.refuseAddMatch = true;
    await t.throwsAsync(bus.subscribe(match, () => undefined), { instanceOf: BusCallError });
    fake.refuseAddMatch = false;
    const off = await bus.subscribe(match, () => undefined);
    t.is(fake.received.filter((m) => m.member === 'AddMatch').length, 2);
    await off();
    t.is(fake.received.filter((m) => m.member === 'RemoveMatch').length, 1);
  });
});

test.serial('signals are believed only from their sender as it is now; one addressed to us only as a subscription wants it, one addressed to another never', async (t) => {
  await withBus(async (fake, bus) => {
    const got: string[] = [];
    const NAME = 'org.example.Service';
    await bus.subscribe({ sender: PEER_NAME, path: '/a', member: 'Unique' }, (msg) => got.push(`unique:${String(msg.body[0])}`));
    await bus.subscribe({ sender: NAME, path: '/a', member: 'Known' }, (msg) => got.push(`known:${String(msg.body[0])}`));
    const signal = (sender: string, member: string, value: string, destination?: string) =>
      fake.send({ type: MESSAGE_TYPE_SIGNAL, sender, path: '/a', interface: 'org.example.Iface', member, signature: 's', body: [value], ...(destination === undefined ? {} : { destination }) });
    const ownerChanged = (sender: string, from: string, to: string) =>
      fake.send({ type: MESSAGE_TYPE_SIGNAL, sender, path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameOwnerChanged', signature: 'sss', body: [NAME, from, to] });
    const roundTrip = () => bus.call({ ...call, destination: 'org.freedesktop.DBus' });
    signal(PEER_NAME, 'Unique', '1');
    signal(':1.5', 'Unique', 'spoofed');
    signal(PEER_NAME, 'Unique', 'unicast', CLIENT_NAME);
    signal(':1.5', 'Unique', 'unicast spoofed', CLIENT_NAME);
    signal(PEER_NAME, 'Unique', 'unicast to another', ':1.55');
    signal(PEER_NAME, 'Other', 'unicast unsubscribed', CLIENT_NAME);
    signal(PEER_NAME, 'Known', '2'); // PEER_NAME owns NAME (GetNameOwner)
    signal(':1.5', 'Known', 'spoofed');
    ownerChanged(':1.5', PEER_NAME, ':1.5'); // not from the bus driver: not believed
    signal(':1.5', 'Known', 'spoofed again');
    ownerChanged('org.freedesktop.DBus', PEER_NAME, ':1.100');
    signal(PEER_NAME, 'Known', 'old owner');
    signal(':1.100', 'Known', '3');
    ownerChanged('org.freedesktop.DBus', ':1.100', '');
    signal(':1.100', 'Known', 'gone');
    await roundTrip();
    t.deepEqual(got, ['unique:1', 'unique:unicast', 'known:2', 'known:3']);
  });
});

test('unixexec: the bus over a program\'s stdin and stdout (as ssh … systemd-stdio-bridge); the program ends with the connection', async (t) => {
  const fake = await FakeBus.start();
  // A stand-in for systemd-stdio-bridge: copies stdio to and from the bus socket named in argv.
  const bridge = "const s = require('net').connect(process.argv[1]); process.stdin.pipe(s); s.pipe(process.stdout); s.on('close', () => process.exit(0));";
  const pidFile = join(fake.dir, 'bridge.pid');
  const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); ${bridge}`;
  const address = unixexecAddress(process.execPath, ['-e', script, join(fake.dir, 'bus')]);
  t.regex(address, /^unixexec:path=\/.*,argv1=-e,argv2=.*%27.*,argv3=\//);
  const bus = await BusConnection.connect({ address });
  try {
    fake.onCall = (msg) => fake.reply(msg, 's', [`hello ${String(msg.body?.[0])}`]);
    t.deepEqual(await bus.call({ ...call, signature: 's', body: ['over stdio'] }), ['hello over stdio']);
  } finally {
    bus.close();
  }
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  t.false(isAlive(pid), 'the program ended with the connection');
  await fake.stop();
});

test('unixexec: a program that cannot start, or says nothing, is NoServer', async (t) => {
  const missing = await t.throwsAsync(BusConnection.connect({ address: unixexecAddress('/nonexistent/ssh', ['-xT', 'host']) }), { instanceOf: BusCallError });
  t.is(missing?.errorName, 'org.freedesktop.DBus.Error.NoServer');
  t.regex(missing?.message ?? '', /ENOENT/);
  const silent = await t.throwsAsync(BusConnection.connect({ address: unixexecAddress('/bin/true', []), callTimeoutMs: 5000 }), { instanceOf: BusCallError });
  t.is(silent?.errorName, 'org.freedesktop.DBus.Error.NoServer');
});

test('bus addresses: alternatives, escaping, argv0', (t) => {
  t.deepEqual(parseBusAddress('tcp:host=x,port=1;unix:path=/run/a%20b'), { transport: 'unix', socketPath: '/run/a b' });
  t.deepEqual(parseBusAddress('unix:abstract=/tmp/dbus-x'), { transport: 'unix', socketPath: '\0/tmp/dbus-x' });
  t.deepEqual(parseBusAddress('unixexec:path=ssh,argv0=ssh-for-bus,argv1=-xT,argv2=root%40host,argv3=systemd-stdio-bridge'),
    { transport: 'unixexec', path: 'ssh', argv0: 'ssh-for-bus', args: ['-xT', 'root@host', 'systemd-stdio-bridge'] });
  t.deepEqual(parseBusAddress(unixexecAddress('ssh', ['-xT', '--', 'ü@h,o=st;x', 'systemd-stdio-bridge'])),
    { transport: 'unixexec', path: 'ssh', argv0: 'ssh', args: ['-xT', '--', 'ü@h,o=st;x', 'systemd-stdio-bridge'] });
  t.throws(() => parseBusAddress('tcp:host=x,port=1'), { message: /supported: unix:path=, unix:abstract=, unixexec:path=/ });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the service\'s dispatcher leaves Peer and paths not its own to the connection\'s standard answers', async (t) => {
  await withBus(async (fake, bus) => {
    const spec = { name: 'org.example.Toy', path: '/org/example/Toy', doc: 'A toy.', methods: {}, properties: {}, signals: {}, errors: {} } as const;
    const errors = { reply: () => undefined, isRollback: () => false, failedName: 'org.example.Toy.Error.Failed' };
    const authority = { authorize: () => Promise.resolve() };
    const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
    new Dispatcher(bus, spec, errors, { methods: {}, properties: {} }, authority, quiet).export();
    const ping = await answerTo(fake, { path: spec.path, interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
    t.is(ping.type, MESSAGE_TYPE_METHOD_RETURN);
    const id = await answerTo(fake, { path: spec.path, interface: 'org.freedesktop.DBus.Peer', member: 'GetMachineId' });
    t.deepEqual(id.body, [readFileSync('/etc/machine-id', 'utf8').trim()]);
    // The object's ancestors are the dispatcher's; other paths the standard answers'.
    const ancestor = await answerTo(fake, { path: '/org/example', interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' });
    t.regex(String(ancestor.body?.[0]), /<node name="Toy"\/>/);
    const elsewhere = await answerTo(fake, { path: '/elsewhere', interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' });
    t.regex(String(elsewhere.body?.[0]), /<node\/>/);
    const properties = await answerTo(fake, { path: '/elsewhere', interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: [''] });
    t.is(properties.errorName, 'org.freedesktop.DBus.Error.UnknownObject');
  });
});

/** A service's connection with small outgoing budgets (soft 1000, hard 4000 bytes) on a fake bus. */
async function budgetedService(): Promise<{ fake: FakeBus; bus: BusConnection }> {
  const fake = await FakeBus.start();
  const limits = { softBytes: 1000, hardBytes: 4000, perUserBytes: 8000, totalBytes: 16000, backlogBytes: 1 << 20, pingsInFlight: 4, pingsPerUser: 2 };
  const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
  return { fake, bus: await BusConnection.connect({ address: fake.address, outgoing: limits, log: quiet }) };
}

test('a service\'s connection: past the soft budget a caller gets a Ping; past the hard one its calls wait for its answer, and past as many as may wait they are refused', async (t) => {
  const { fake, bus } = await budgetedService();
  try {
    // Departures come from one match rule for every NameOwnerChanged.
    t.true(fake.received.some((m) => m.member === 'AddMatch' && String(m.body?.[0]).endsWith("member='NameOwnerChanged'")));
    bus.addMethodHandler((msg) => {
      bus.reply(msg, 's', ['x'.repeat(900)]);
      return true;
    });
    const big = { path: '/', interface: 'org.example.Iface', member: 'Big' };
    // About 980 bytes each: the fifth takes the caller past 4000, unproven.
    for (let i = 0; i < 5; i++) t.is((await answerTo(fake, big)).type, MESSAGE_TYPE_METHOD_RETURN);
    const ping = await fake.next((m) => m.interface === 'org.freedesktop.DBus.Peer' && m.member === 'Ping' && m.destination === PEER_NAME);
    t.is(fake.received.filter((m) => m.member === 'Ping').length, 1, 'one Ping in flight');
    // Over the hard budget: the next calls wait, unanswered, for the Ping's answer.
    const waiting = [1, 2, 3].map(() => answerTo(fake, big));
    await bus.call({ ...call, destination: 'org.freedesktop.DBus' }); // a round trip: the calls are in
    const settled: string[] = [];
    for (const answer of waiting) void answer.then(() => settled.push('answered'));
    await new Promise((resolve) => setImmediate(resolve));
    t.deepEqual(settled, [], 'no answer while the caller has not proven it reads');
    // The Ping followed the second reply (past 1000 bytes); its answer proves those two read, which
    // leaves the caller under the hard budget: the waiting calls run, in order, until their replies
    // take it past the budget again, and the next Ping's answer lets the last one run.
    const nextPing = fake.next((m) => m.member === 'Ping' && m.serial !== ping.serial);
    fake.reply(ping);
    t.is((await waiting[0])?.type, MESSAGE_TYPE_METHOD_RETURN);
    t.is((await waiting[1])?.type, MESSAGE_TYPE_METHOD_RETURN);
    fake.reply(await nextPing);
    t.is((await waiting[2])?.type, MESSAGE_TYPE_METHOD_RETURN);
  } finally {
    bus.close();
    await fake.stop();
  }
});

test('a caller that never answers its Ping: its calls wait, and past MAX_HELD_CALLS waiting they are refused with LimitsExceeded', async (t) => {
  const { fake, bus } = await budgetedService();
  try {
    bus.addMethodHandler((msg) => {
      bus.reply(msg, 's', ['x'.repeat(900)]);
      return true;
    });
    const big = { path: '/', interface: 'org.example.Iface', member: 'Big' };
    for (let i = 0; i < 5; i++) await answerTo(fake, big);
    const held = Array.from({ length: MAX_HELD_CALLS }, () => answerTo(fake, big));
    const refused = await answerTo(fake, big);
    t.is(refused.errorName, 'org.freedesktop.DBus.Error.LimitsExceeded');
    t.regex(String(refused.body?.[0]), /answer Peer\.Ping/);
    void Promise.all(held);
  } finally {
    bus.close();
    await fake.stop();
  }
});
