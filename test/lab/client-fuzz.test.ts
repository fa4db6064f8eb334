// SPDX-License-Identifier: GPL-2.0-or-later
// The client trusts no remote end: `shared-interface -H HOST` reads whatever the far side's
// systemd-stdio-bridge sends. A fake hostile bus (fake-bus.ts, on a Unix socket: the CLI reads it
// through the same connection code as -H's ssh stream) answers the CLI's Hello or its
// ListInterfaces with crafted bytes (lengths near 2^31 and 2^32, flipped bytes, truncation,
// garbage, wrong types) and hangs up. The real CLI must end each time with an error of its own,
// promptly: no hang, no busy loop, no stack trace. Seeded: FUZZ_SEED=N picks another sequence.
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { marshalMessage, MESSAGE_TYPE_METHOD_RETURN } from '../../src/dbus-wire/bus-marshal';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { FakeBus, CLIENT_NAME, PEER_NAME, type LibraryMessage } from '../unit/fake-bus';
import { REPO_ROOT } from './lab';
import { prng } from './seeded-random';

const SEED = Number(process.env['FUZZ_SEED'] ?? '20261207');
const CASES = 64;
const PARALLEL = 4;
/** Far above a CLI's start and a refused reply (0.5 s, up to 6 s at load average 20); a hang never ends. */
const CASE_DEADLINE_MS = 30_000;

const NEAR_LIMITS = [0x7fff_fff8, 0x7fff_fff9, 0x7fff_ffff, 0x8000_0000, 0xffff_fff8, 0xffff_fff9, 0xffff_ffff, 0x0800_0000, 0x0800_0001, 0x1_0000 + 1];

/** The honest answer to `msg`: Hello's name, no change pending (Properties.Get), or a one-entry listing. */
function honest(msg: LibraryMessage): Buffer {
  const base = { type: MESSAGE_TYPE_METHOD_RETURN, serial: 5000, replySerial: msg.serial, destination: CLIENT_NAME } as const;
  if (msg.member === 'Hello') return marshalMessage({ ...base, sender: 'org.freedesktop.DBus', signature: 's', body: [CLIENT_NAME] });
  if (msg.member === 'Get') return marshalMessage({ ...base, sender: PEER_NAME, signature: 'v', body: [makeVariant('a{s(sst)}', {})] });
  return marshalMessage({
    ...base, sender: PEER_NAME, signature: 'a(ssa{sv})',
    body: [[['eth0', '', { type: makeVariant('s', 'ethernet'), mac: makeVariant('s', '52:54:00:12:34:56'), addresses: makeVariant('as', ['192.0.2.5/24']) }]]],
  });
}

interface Case { readonly name: string; readonly target: 'Hello' | 'ListInterfaces'; readonly bytes: (msg: LibraryMessage) => Buffer }

function generate(random: () => number, index: number): Case {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const target = random() < 0.5 ? 'Hello' : 'ListInterfaces';
  const mutate = (name: string, change: (b: Buffer) => Buffer): Case => ({ name: `#${index} ${target}: ${name}`, target, bytes: (msg) => change(Buffer.from(honest(msg))) });
  const setU32 = (at: number, value: number) => (b: Buffer) => { b.writeUInt32LE(value, at); return b; };
  switch (int(7)) {
    case 0: { const v = pick(NEAR_LIMITS); return mutate(`header-fields length 0x${v.toString(16)}`, setU32(12, v)); }
    case 1: { const v = pick(NEAR_LIMITS); return mutate(`body length 0x${v.toString(16)}`, setU32(4, v)); }
    case 2: {
      const v = pick(NEAR_LIMITS);
      const inBody = random() < 0.5;
      // The first length in the body (Hello's string, the listing's array) or of the header's first field.
      return mutate(`a length inside the ${inBody ? 'body' : 'header'} set to 0x${v.toString(16)}`, (b) => {
        const fields = b.readUInt32LE(12);
        const at = inBody ? 16 + fields + ((8 - (fields % 8)) % 8) : 20;
        return at + 4 <= b.length ? setU32(at, v)(b) : b;
      });
    }
    case 3: {
      // Drawn now, not when the case runs (cases run in parallel): FUZZ_CASE=N gives the same bytes.
      const flips = Array.from({ length: 1 + int(8) }, () => [random(), int(256)] as const);
      return mutate(`${flips.length} byte(s) flipped`, (b) => {
        for (const [where, value] of flips) b[Math.floor(where * b.length)] = value;
        return b;
      });
    }
    case 4: { const where = random(); return mutate('truncated', (b) => b.subarray(0, Math.floor(where * b.length))); }
    case 5: { const n = 1 + int(200); return { name: `#${index} ${target}: ${n} bytes of garbage`, target, bytes: () => Buffer.from(Array.from({ length: n }, () => int(256))) }; }
    default:
      return {
        name: `#${index} ${target}: a reply of the wrong type`, target,
        bytes: (msg) => marshalMessage({ type: MESSAGE_TYPE_METHOD_RETURN, serial: 5000, replySerial: msg.serial, destination: CLIENT_NAME, sender: msg.member === 'Hello' ? 'org.freedesktop.DBus' : PEER_NAME, signature: 'u', body: [7] }),
      };
  }
}

interface Outcome { readonly code: number | null; readonly signal: string | null; readonly stderr: string; readonly ms: number; readonly hung: boolean; readonly sent?: string }

function runCli(address: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'shared-interface'), 'list'], {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address, LANG: 'C.UTF-8' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let hung = false;
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, CASE_DEADLINE_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - started, hung });
    });
  });
}

async function runCase(c: Case): Promise<Outcome> {
  const fake = await FakeBus.start();
  let sent = '';
  fake.hostile = (msg) => {
    if (msg.member !== c.target) return undefined;
    const bytes = c.bytes(msg);
    sent = bytes.toString('hex');
    return bytes;
  };
  try {
    return { ...(await runCli(fake.address)), sent };
  } finally {
    await fake.stop();
  }
}

test(`the CLI turns ${CASES} hostile answers of a remote end into errors, none into a hang or a crash`, async (t) => {
  t.timeout(CASES * CASE_DEADLINE_MS);
  const random = prng(SEED);
  // FUZZ_CASE=N runs case N alone (of the seed's sequence), to look at a failure.
  const only = process.env['FUZZ_CASE'];
  const cases = Array.from({ length: CASES }, (_, i) => generate(random, i)).filter((_, i) => only === undefined || String(i) === only);
  const results: Array<[Case, Outcome]> = [];
  for (let i = 0; i < cases.length; i += PARALLEL) {
    const batch = cases.slice(i, i + PARALLEL);
    results.push(...(await Promise.all(batch.map(async (c): Promise<[Case, Outcome]> => [c, await runCase(c)]))));
  }
  let slowest = 0;
  for (const [c, o] of results) {
    slowest = Math.max(slowest, o.ms);
    t.false(o.hung, `${c.name}: no answer within ${CASE_DEADLINE_MS} ms; it was sent ${o.sent ?? ''}\n${o.stderr}`);
    t.is(o.signal, null, `${c.name}: ended by ${o.signal ?? ''}`);
    t.notRegex(o.stderr, /^\s+at .*\(.*:\d+:\d+\)$/m, `${c.name}: a stack trace\n${o.stderr}`);
    t.notRegex(o.stderr, /TypeError|RangeError|ReferenceError|FATAL ERROR/, `${c.name}\n${o.stderr}`);
    // Whatever the bytes, the CLI ends: with an error of its own when it could not get a listing.
    if (o.code !== 0) t.regex(o.stderr, /^shared-interface: /m, `${c.name}: exit ${String(o.code)} without saying why\n${o.stderr}`);
  }
  const failed = results.filter(([, o]) => o.code !== 0).length;
  t.log(`seed ${SEED}: ${results.length} cases, ${failed} ended in an error, slowest ${slowest} ms`);
  // The honest answer gives a listing: the fake remote end itself is sound.
  const fake = await FakeBus.start();
  fake.onCall = (msg) => (msg.member === 'Get'
    ? fake.reply(msg, 'v', [makeVariant('a{s(sst)}', {})])
    : fake.reply(msg, 'a(ssa{sv})', [[['eth0', '', { type: makeVariant('s', 'ethernet') }]]]));
  try {
    const ok = await runCli(fake.address);
    t.is(ok.code, 0, ok.stderr);
  } finally {
    await fake.stop();
  }
});
