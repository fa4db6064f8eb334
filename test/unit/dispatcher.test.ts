// SPDX-License-Identifier: GPL-2.0-or-later
// The dispatcher with fakes: a toy interface with its own error type (so nothing here is the
// shared-interface spec), a bus that records what is sent, an authority that records what it is
// asked. The lab tests (polkit, bus-edge, cli) prove the same steps with the real bus and polkitd.
import test from 'ava';
import type { BusMessage, PeerCredentials } from '../../src/dbus-wire/bus-connection';
import * as t from '../../src/dbus-wire/bus-value';
import type { Log } from '../../src/log';
import { COSTLY_LIMITS, Dispatcher, type DispatcherBus, type EarlyMethods } from '../../src/service/dispatcher';
import { arg, method, mutatingMethod, property, signal, type Caller, type ErrorMapping, type Implementation } from '../../src/service/interface-definition';
import { AuthorizationError, type Authority } from '../../src/service/polkit-authority';

const TOY = {
  name: 'org.example.Toy',
  path: '/org/example/Toy',
  doc: 'A toy.',
  methods: {
    Get: method({ doc: 'Reads.', in: [], out: [arg('value', t.string, '')] }),
    Set: mutatingMethod('org.example.toy.set', { doc: 'Changes.', in: [arg('value', t.string, '')], out: [] }),
  },
  properties: { Value: property(t.string, 'The value.') },
  signals: { Poked: signal({ doc: 'Poked.', args: [arg('by', t.string, '')] }) },
  errors: {},
} as const;

class ToyError extends Error {
  constructor(readonly code: 'Nope' | 'Undone', message: string) {
    super(message);
  }
}

const TOY_ERRORS: ErrorMapping = {
  reply: (err) => (err instanceof ToyError ? { errorName: `org.example.Toy.Error.${err.code}`, message: err.message } : undefined),
  isRollback: (err) => err instanceof ToyError && err.code === 'Undone',
  failedName: 'org.example.Toy.Error.Failed',
};

type Sent =
  | { readonly kind: 'reply'; readonly serial: number; readonly signature: string; readonly body: unknown }
  | { readonly kind: 'error'; readonly serial: number; readonly name: string; readonly text: string }
  | { readonly kind: 'signal'; readonly member: string; readonly body: readonly unknown[] };

interface Rig {
  readonly dispatcher: Dispatcher<typeof TOY>;
  /** What happened, in order: the implementation's, the authority's and the bus's events. */
  readonly events: string[];
  readonly sent: Sent[];
  readonly logged: string[];
  /** Sends a call and resolves with what was sent back to it. */
  call(member: string, signature?: string, body?: unknown[]): Promise<Sent>;
}

function rig(options: { authorize?: boolean; apply?: () => Promise<void>; noOpFor?: string; costlyGet?: () => Promise<void>; ready?: Promise<void>; early?: EarlyMethods } = {}): Rig {
  const events: string[] = [];
  const sent: Sent[] = [];
  const logged: string[] = [];
  let value = 'a';
  let handler: ((m: BusMessage) => boolean) | undefined;
  const waiting = new Map<number, (s: Sent) => void>();
  const answer = (s: Sent & { serial: number }): void => {
    sent.push(s);
    waiting.get(s.serial)?.(s);
  };
  const bus: DispatcherBus = {
    addMethodHandler: (h) => { handler = h; },
    reply: (m, signature, body) => { events.push('reply'); answer({ kind: 'reply', serial: m.serial, signature, body }); },
    replyError: (m, name, text) => { events.push(`error ${name}`); answer({ kind: 'error', serial: m.serial, name, text }); },
    emitSignal: (_path, _iface, member, _sig, body, destination) => {
      events.push(destination === undefined ? `signal ${member}` : `signal ${member} to ${destination}`);
      sent.push({ kind: 'signal', member, body });
    },
    credentials: (): Promise<PeerCredentials> => { events.push('credentials'); return Promise.resolve({ uid: 1000, pid: 42 }); },
    call: () => Promise.resolve([]),
  };
  const authority: Authority = {
    authorize: (_caller: Caller, _credentials: PeerCredentials, action: string) => {
      events.push(`authorize ${action}`);
      return options.authorize === false ? Promise.reject(new AuthorizationError('org.freedesktop.DBus.Error.AccessDenied', 'not allowed')) : Promise.resolve();
    },
  };
  const implementation: Implementation<typeof TOY> = {
    methods: {
      Get: options.costlyGet === undefined
        ? { read: () => { events.push('read'); return Promise.resolve([value] as [string]); } }
        : { costly: true, read: async () => { events.push('read'); await options.costlyGet?.(); return [value] as [string]; } },
      Set: {
        prepare: ([next]) => {
          events.push('validate');
          if (next === '') return Promise.reject(new ToyError('Nope', 'an empty value'));
          if (next === value || next === options.noOpFor) return Promise.resolve({ noOp: [] as [] });
          return Promise.resolve({
            apply: async () => {
              events.push('apply');
              await options.apply?.();
              value = next;
              return [] as [];
            },
            authorizing: (toCaller) => toCaller('Poked', ['asking']),
          });
        },
      },
    },
    properties: { Value: () => value },
  };
  const log: Log = { error: (m) => logged.push(`error ${m}`), warn: (m) => logged.push(`warn ${m}`), info: (m) => logged.push(`info ${m}`), debug: () => undefined };
  const dispatcher = new Dispatcher(bus, TOY, TOY_ERRORS, implementation, authority, log);
  dispatcher.export(options.ready, options.early);
  let serial = 0;
  return {
    dispatcher, events, sent, logged,
    call: (member, signature = '', body = []) => new Promise<Sent>((resolve) => {
      serial++;
      waiting.set(serial, resolve);
      const taken = handler?.({ serial, sender: ':1.7', destination: 'org.example.Toy', path: TOY.path, interface: TOY.name, member, signature, body, flags: 0 });
      if (taken !== true) resolve({ kind: 'error', serial, name: 'not taken', text: '' });
    }),
  };
}

test('a change: validate, then authorize, then apply, then PropertiesChanged, then the reply', async (t) => {
  const r = rig();
  t.like(await r.call('Set', 's', ['b']), { kind: 'reply' });
  t.deepEqual(r.events, ['validate', 'signal Poked to :1.7', 'credentials', 'authorize org.example.toy.set', 'apply', 'signal PropertiesChanged', 'reply']);
  const changed = r.sent.find((s) => s.kind === 'signal' && s.member === 'PropertiesChanged');
  const [iface, values, invalidated] = changed?.kind === 'signal' ? changed.body : [];
  t.is(iface, 'org.example.Toy');
  t.deepEqual(Object.keys(values as object), ['Value']);
  t.deepEqual(invalidated, []);
  t.true(r.logged.some((l) => l.startsWith('info audit: uid=1000 pid=42 Set') && l.endsWith(': committed')), r.logged.join('\n'));
});

test('a method named early is answered once its readiness comes; the others wait for the whole of it', async (t) => {
  let ready = (): void => undefined;
  let early = (): void => undefined;
  const r = rig({ ready: new Promise((resolve) => { ready = resolve; }), early: { members: new Set(['Get']), ready: new Promise((resolve) => { early = resolve; }) } });
  const got = r.call('Get');
  const set = r.call('Set', 's', ['b']);
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(r.events, []);
  early();
  t.like(await got, { kind: 'reply', body: ['a'] });
  t.deepEqual(r.events, ['read', 'reply']);
  ready();
  t.like(await set, { kind: 'reply' });
});

test('a no-op replies at once: no authorization, no apply, no signal', async (t) => {
  const r = rig();
  t.like(await r.call('Set', 's', ['a']), { kind: 'reply' });
  t.deepEqual(r.events, ['validate', 'reply']);
});

test('a reading method is never authorized', async (t) => {
  const r = rig();
  t.like(await r.call('Get'), { kind: 'reply', signature: 's', body: ['a'] });
  t.deepEqual(r.events, ['read', 'reply']);
});

test('costly readings: a few of a user\'s run at once, the next wait their turn; the bus is asked once who the caller is', async (t) => {
  const gates: Array<() => void> = [];
  const r = rig({ costlyGet: () => new Promise<void>((resolve) => gates.push(resolve)) });
  const running = COSTLY_LIMITS.runningPerUser;
  const calls = Array.from({ length: running + 2 }, () => r.call('Get'));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(r.events.filter((e) => e === 'read').length, running, 'the others wait');
  // Each reading done lets one waiting call in (after a pause as long as the reading took).
  for (let done = 0; done < running + 2;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const gate = gates.shift();
    if (gate !== undefined) {
      gate();
      done++;
    }
  }
  for (const answer of await Promise.all(calls)) t.like(answer, { kind: 'reply', body: ['a'] });
  t.is(r.events.filter((e) => e === 'read').length, running + 2);
  t.is(r.events.filter((e) => e === 'credentials').length, 1);
});

test('bad arguments never reach validation: InvalidArgs', async (t) => {
  const r = rig();
  t.like(await r.call('Set', 'u', [7]), { kind: 'error', name: 'org.freedesktop.DBus.Error.InvalidArgs' });
  t.deepEqual(r.events, ['error org.freedesktop.DBus.Error.InvalidArgs']);
});

test('refused authorization: nothing applied, no signal to anyone but the caller, the authority\'s error name', async (t) => {
  const r = rig({ authorize: false });
  t.like(await r.call('Set', 's', ['b']), { kind: 'error', name: 'org.freedesktop.DBus.Error.AccessDenied', text: 'not allowed' });
  t.deepEqual(r.events, ['validate', 'signal Poked to :1.7', 'credentials', 'authorize org.example.toy.set', 'error org.freedesktop.DBus.Error.AccessDenied']);
});

test('the service\'s errors are mapped by the mapping it passed in; a rollback is logged as a warning', async (t) => {
  const invalid = rig();
  t.like(await invalid.call('Set', 's', ['']), { kind: 'error', name: 'org.example.Toy.Error.Nope', text: 'an empty value' });
  t.deepEqual(invalid.events, ['validate', 'error org.example.Toy.Error.Nope']);

  const undone = rig({ apply: () => Promise.reject(new ToyError('Undone', 'put back')) });
  t.like(await undone.call('Set', 's', ['b']), { kind: 'error', name: 'org.example.Toy.Error.Undone', text: 'put back' });
  // Nothing changed, so no PropertiesChanged.
  t.deepEqual(undone.events, ['validate', 'signal Poked to :1.7', 'credentials', 'authorize org.example.toy.set', 'apply', 'error org.example.Toy.Error.Undone']);
  t.true(undone.logged.some((l) => l.startsWith('warn audit:') && l.endsWith('rolled back: put back')), undone.logged.join('\n'));
});

test('an unexpected failure: the mapping\'s Failed name and a plain message; the stack only in the log', async (t) => {
  const r = rig({ apply: () => Promise.reject(new TypeError('x is undefined')) });
  const reply = await r.call('Set', 's', ['b']);
  t.like(reply, { kind: 'error', name: 'org.example.Toy.Error.Failed', text: "Set failed unexpectedly; the service's log has the details" });
  t.true(r.logged.some((l) => l.startsWith('error audit:') && l.includes('failed: x is undefined')));
  t.true(r.logged.some((l) => l.includes('TypeError')), r.logged.join('\n'));
});

test('unknown methods and interfaces get the standard names', async (t) => {
  const r = rig();
  t.like(await r.call('Explode'), { kind: 'error', name: 'org.freedesktop.DBus.Error.UnknownMethod' });
});

test('PropertiesChanged only for a value that changed; signals only as declared', (t) => {
  const r = rig();
  r.dispatcher.emitPropertiesChanged();
  t.deepEqual(r.sent, []);
  r.dispatcher.emit('Poked', ['me']);
  t.deepEqual(r.sent, [{ kind: 'signal', member: 'Poked', body: ['me'] }]);
});
