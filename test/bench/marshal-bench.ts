// SPDX-License-Identifier: GPL-2.0-or-later
// Micro-benchmark (not a test): our marshaller (src/dbus-wire/bus-marshal.ts) against the library's
// for ListInterfaces' reply, a(ssa{sv}) with 132 entries of 7-entry a{sv}: time per message,
// bytes allocated per message, and the garbage collections it causes.
//   npx tsc -p . && node dist/test/bench/marshal-bench.js
// Allocations: on-heap from heapUsed, off-heap Buffer memory from arrayBuffers.
import { spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import * as dbus from '@particle/dbus-next';
import { makeVariant, type Variant } from '../../src/dbus-wire/bus-value';
import { marshalMessage, MESSAGE_TYPE_METHOD_RETURN } from '../../src/dbus-wire/bus-marshal';

const { marshallMessage } = require('@particle/dbus-next/lib/marshall-compat') as {
  marshallMessage(msg: unknown): [Buffer, unknown[]];
};

const ENTRIES = 132;

function listInterfacesBody(): unknown[] {
  return [Array.from({ length: ENTRIES }, (_, i): [string, string, Record<string, Variant>] => [
    `vb${i}`,
    i % 3 ? '' : `br-vb${i}`,
    {
      type: makeVariant('s', 'ethernet'),
      mac: makeVariant('s', `52:54:00:12:34:${(i & 255).toString(16).padStart(2, '0')}`),
      carrier: makeVariant('b', i % 3 !== 0),
      shareable: makeVariant('b', i % 2 === 0),
      reason: makeVariant('s', i % 2 ? `vb${i} is managed by NetworkManager profile “profile-${i}”` : ''),
      addresses: makeVariant('as', i % 4 ? [`192.0.2.${i % 250}/24`, `fe80::${i.toString(16)}/64`] : []),
      notes: makeVariant('as', []),
    },
  ])];
}

const body = listInterfacesBody();
const call = { serial: 41, sender: ':1.42' };

const candidates: Record<string, () => Buffer> = {
  // What BusConnection.reply() does now.
  ours: () => marshalMessage({ type: MESSAGE_TYPE_METHOD_RETURN, serial: 42, replySerial: call.serial, destination: call.sender, signature: 'a(ssa{sv})', body }),
  // What it did before: Message.newMethodReturn, then lib/connection.js's marshallMessage.
  library: () => {
    const msg = dbus.Message.newMethodReturn(new dbus.Message({ path: '/', member: 'X', ...call }), 'a(ssa{sv})', [...body]);
    msg.serial = 42;
    return marshallMessage(msg)[0];
  },
};

async function timePerOp(run: () => Buffer, minMs: number): Promise<{ nsPerOp: number; ops: number; gcs: number; gcMs: number }> {
  let gcs = 0;
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcs++;
      gcMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(minMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10; i++) run();
    ops += 10;
    now = process.hrtime.bigint();
  }
  await settle();
  observer.disconnect();
  return { nsPerOp: Number(now - start) / ops, ops, gcs, gcMs };
}

async function allocationsPerOp(run: () => Buffer, ops: number): Promise<{ heapBytes: number; bufferBytes: number; collected: boolean }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  let collected = false;
  gc();
  await settle();
  const observer = new PerformanceObserver(() => { collected = true; });
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage();
  for (let i = 0; i < ops; i++) run();
  const after = process.memoryUsage();
  await settle();
  observer.disconnect();
  return { heapBytes: (after.heapUsed - before.heapUsed) / ops, bufferBytes: (after.arrayBuffers - before.arrayBuffers) / ops, collected };
}

/** GC entries reach PerformanceObservers from the event loop, not during a synchronous loop. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10));
}

async function main(): Promise<void> {
  // Allocations are counted in a child with --expose-gc and a young generation big enough that
  // no collection runs meanwhile; times (and the collections they cause) here, with default flags.
  if (process.argv[2] === '--count-allocations') {
    const counts: Record<string, Awaited<ReturnType<typeof allocationsPerOp>>> = {};
    for (const [name, run] of Object.entries(candidates)) {
      for (let i = 0; i < 50; i++) run();
      counts[name] = await allocationsPerOp(run, name === 'library' ? 5 : 200);
    }
    process.stdout.write(JSON.stringify(counts));
    return;
  }
  const child = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128', __filename, '--count-allocations'], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`allocation count failed: ${child.stderr}`);
  const allocations = JSON.parse(child.stdout) as Record<string, Awaited<ReturnType<typeof allocationsPerOp>>>;

  const ours = candidates['ours']?.();
  if (ours === undefined || !ours.equals(candidates['library']?.() ?? Buffer.alloc(0))) throw new Error('the two marshallers disagree');
  console.log(`ListInterfaces reply: ${ENTRIES} entries, ${ours.length} bytes (node ${process.version})\n`);
  console.log('| marshaller | µs/op | ops | GCs per 1000 ops | GC ms per 1000 ops | heap bytes/op | Buffer bytes/op |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const results: Record<string, number> = {};
  for (const [name, run] of Object.entries(candidates)) {
    for (let i = 0; i < 50; i++) run(); // warm-up: let the JIT settle
    const time = await timePerOp(run, 3000);
    const alloc = allocations[name];
    results[name] = time.nsPerOp;
    const heap = alloc === undefined ? '?' : `${Math.round(alloc.heapBytes)}${alloc.collected ? ' (a GC ran: low)' : ''}`;
    console.log(`| ${name} | ${(time.nsPerOp / 1000).toFixed(1)} | ${time.ops} | ${(time.gcs * 1000 / time.ops).toFixed(1)} | ${(time.gcMs * 1000 / time.ops).toFixed(1)} | ${heap} | ${alloc === undefined ? '?' : Math.round(alloc.bufferBytes)} |`);
  }
  console.log(`\nours is ${((results['library'] ?? 0) / (results['ours'] ?? 1)).toFixed(1)}x faster`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
