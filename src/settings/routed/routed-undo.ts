// SPDX-License-Identifier: GPL-2.0-or-later
// Putting the host back after routed sharing, from what the state file (routed-state.ts) and the
// kernel's marks (proto 212) say: used by a stopping agent, and after a crash by the next agent or
// the service.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock';
import type { Log } from '../../log';
import { removeFile } from '../durable-file';
import { ROUTED_PROTOCOL } from './routed-plan';
import { readRoutedState, removeRoutedState } from './routed-state';
import { ipIfPresent, linkExists, ourProxies, readSysctl, writeSysctl } from './routed-kernel-io';

/** Where the relay (dnsmasq) writes its process id: how a crashed agent's relay is found. */
export function relayPidFile(stateDir: string, uplink: string): string {
  return join(stateDir, `${uplink}.relay.pid`);
}

/** Ends a relay a crashed agent left behind: only a process whose command line names our pid file. */
async function killLeftoverRelay(pidFile: string, clock: Clock): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return; // no relay was running
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  const cmdline = await readFile(`/proc/${String(pid)}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.split('\0').includes(`--pid-file=${pidFile}`)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // exited meanwhile
  }
  for (let i = 0; i < 50 && existsSync(`/proc/${String(pid)}`); i++) await clock.sleep(100);
}

/**
 * Puts the host back from a state file: the relay a crashed agent left, our proxy entries and
 * routes, the address lent to the bridge, each sysctl's original value; then removes the file.
 * Returns false when there was no state file. Safe to run twice.
 */
export async function undoRoutedChanges(stateDir: string, uplink: string, log: Log, clock: Clock = systemClock): Promise<boolean> {
  const state = await readRoutedState(stateDir, uplink);
  if (state === undefined) return false;
  await killLeftoverRelay(relayPidFile(stateDir, state.uplink), clock);
  await removeFile(relayPidFile(stateDir, state.uplink));
  await removeMarked(state.uplink, state.bridge);
  for (const cidr of state.bridgeAddresses) await ipIfPresent(['addr', 'del', cidr, 'dev', state.bridge]);
  for (const saved of state.sysctls) {
    if ((await readSysctl(saved.path)) === undefined) continue;
    await writeSysctl(saved.path, saved.original);
  }
  await removeRoutedState(stateDir, state.uplink);
  log.info(`routed sharing of ${state.uplink} through ${state.bridge}: host restored (sysctls, routes, proxy ARP entries, the bridge's address)`);
  return true;
}

async function removeMarked(uplink: string, bridge: string): Promise<void> {
  if (linkExists(uplink)) {
    for (const address of await ourProxies(uplink)) await ipIfPresent(['-4', 'neigh', 'del', 'proxy', address, 'dev', uplink]);
  }
  if (linkExists(bridge)) await ipIfPresent(['-4', 'route', 'flush', 'dev', bridge, 'proto', String(ROUTED_PROTOCOL)]);
}

/** Whether a process `pid` exists (EPERM: it does, someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is a routed agent (and not a process that reused an old agent's number). */
export async function isRoutedAgent(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${String(pid)}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes('routed');
}
