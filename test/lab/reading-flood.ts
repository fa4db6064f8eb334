// SPDX-License-Identifier: GPL-2.0-or-later
// A flood of costly readings by one unprivileged user, measured: uid 65534 with 16 connections × 8 GetInterfaceXML calls in
// flight (reading-flooder.ts) against the daemon of a lab with a static NIC, while root lists
// and shares. Figures, quiet and under the flood: ListInterfaces' median and p95, root's Share
// time, and the most tasks (threads and child processes) the daemon had at once, against the
// unit's TasksMax. Used by a lab test (printed, not asserted on time) and by the benchmark.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, sleep, type LabProcess } from './lab';
import { asUser, NOBODY } from './lab-install';
import { ServiceClient } from './service-client';

export const FLOOD_CONNECTIONS = 16;
export const FLOOD_CALLS = 8;
/** The installed unit's TasksMax (dbus-services/shared-interface.service.in). */
export const UNIT_TASKS_MAX = Number(/^TasksMax=(\d+)$/m.exec(readFileSync(join(REPO_ROOT, 'dbus-services', 'shared-interface.service.in'), 'utf8'))?.[1] ?? NaN);

export interface LoadFigures {
  readonly listMedianMs: number;
  readonly listP95Ms: number;
  readonly listMaxMs: number;
  /** Median of root's Share calls (each undone by an Unshare). */
  readonly shareMs: number;
  /** The most tasks the daemon had at once (its threads, its children's). */
  readonly maxTasks: number;
}

export interface FloodFigures {
  readonly quiet: LoadFigures;
  readonly flood: LoadFigures;
  /** How the flooder's calls were answered, by error name ('ok': a reply). */
  readonly flooderAnswers: Readonly<Record<string, number>>;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function tasksOf(pid: number): number {
  let tasks = 0;
  try {
    tasks = readdirSync(`/proc/${pid}/task`).length;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/) : []) tasks += tasksOf(Number(child));
    }
  } catch {
    // exited while counted
  }
  return tasks;
}

async function timedMs(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** ListInterfaces `lists` times in a row and `shares` Share/Unshare cycles, with the daemon's tasks sampled meanwhile. */
async function measure(client: ServiceClient, daemonPid: number, lists: number, shares: number): Promise<LoadFigures> {
  let maxTasks = tasksOf(daemonPid);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxTasks = Math.max(maxTasks, tasksOf(daemonPid));
      await sleep(20);
    }
  })();
  try {
    const listMs: number[] = [];
    for (let i = 0; i < lists; i++) listMs.push(await timedMs(() => client.listInterfaces()));
    const shareMs: number[] = [];
    for (let i = 0; i < shares; i++) {
      shareMs.push(await timedMs(() => client.share('eth0')));
      await client.unshare('eth0');
    }
    return {
      listMedianMs: percentile(listMs, 50), listP95Ms: percentile(listMs, 95), listMaxMs: Math.max(...listMs),
      shareMs: percentile(shareMs, 50), maxTasks,
    };
  } finally {
    sampling = false;
    await sampler;
  }
}

/** Quiet, then under the flood, in one lab (a static NIC, so Share waits for no lease). */
export async function measureFlood(options: { lists?: number; shares?: number } = {}): Promise<FloodFigures> {
  const lists = options.lists ?? 200;
  const shares = options.shares ?? 3;
  const lab = await Lab.start({ nicProfile: 'static' });
  const bus = await lab.connect();
  let flooder: LabProcess | undefined;
  try {
    const daemon = await lab.startDaemon();
    const client = new ServiceClient(bus);
    // One Share to warm up (the first loads what the others reuse).
    await client.share('eth0');
    await client.unshare('eth0');
    const quiet = await measure(client, daemon.pid(), lists, shares);
    flooder = lab.spawn(asUser(NOBODY, ['node', join(REPO_ROOT, 'dist', 'test', 'lab', 'reading-flooder.js'), String(FLOOD_CONNECTIONS), String(FLOOD_CALLS)]));
    await flooder.waitForOutput(/^flooding$/m, 30_000);
    await sleep(1000);
    const flood = await measure(client, daemon.pid(), lists, shares);
    flooder.kill('SIGTERM');
    await flooder.waitForExit();
    const line = flooder.output.split('\n').find((l) => l.startsWith('{')) ?? '{}';
    return { quiet, flood, flooderAnswers: JSON.parse(line) as Record<string, number> };
  } finally {
    bus.close();
    await lab.stop();
  }
}

export function describeFlood(f: FloodFigures): string[] {
  const row = (what: string, l: LoadFigures) =>
    `${what}: ListInterfaces median ${l.listMedianMs.toFixed(2)} ms, p95 ${l.listP95Ms.toFixed(2)} ms, worst ${l.listMaxMs.toFixed(1)} ms; root's Share ${Math.round(l.shareMs)} ms; daemon tasks at most ${l.maxTasks} (TasksMax ${UNIT_TASKS_MAX})`;
  return [
    row('quiet', f.quiet),
    row(`uid 65534 flooding (${FLOOD_CONNECTIONS} connections × ${FLOOD_CALLS} GetInterfaceXML in flight)`, f.flood),
    `Share under the flood / quiet: ${(f.flood.shareMs / f.quiet.shareMs).toFixed(2)}; the flood's calls answered: ${Object.entries(f.flooderAnswers).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
}
