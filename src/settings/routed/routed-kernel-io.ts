// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's reading and writing of the kernel: iproute2 (`ip`, `bridge`) and the sysctls
// under /proc/sys, each command bounded in time. What to change is routed-plan.ts's to decide.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../../log';
import { ROUTED_PROTOCOL } from './routed-plan';

export const runCommand = promisify(execFile);
export const COMMAND_TIMEOUT_MS = 10_000;

export async function ip(args: readonly string[]): Promise<string> {
  const { stdout } = await runCommand('ip', [...args], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export async function ipJson(args: readonly string[]): Promise<unknown> {
  const text = await ip(['-j', ...args]);
  return text.trim() === '' ? [] : JSON.parse(text) as unknown;
}

/** `ip` that may fail because what it removes is gone already (a bridge deleted meanwhile). */
export async function ipIfPresent(args: readonly string[]): Promise<void> {
  try {
    await ip(args);
  } catch (err) {
    const text = errorMessage(err);
    if (/Cannot find device|No such process|does not exist|Cannot assign requested address|No such file|not found/i.test(text)) return;
    throw err;
  }
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

function sysctlFile(path: readonly string[]): string {
  return join('/proc/sys', ...path);
}

export async function readSysctl(path: readonly string[]): Promise<string | undefined> {
  try {
    return (await readFile(sysctlFile(path), 'utf8')).trim();
  } catch {
    return undefined; // the interface is gone (or not there yet): nothing to read or restore
  }
}

export async function writeSysctl(path: readonly string[], value: string): Promise<void> {
  await writeFile(sysctlFile(path), `${value}\n`);
}

/** Our proxy ARP entries on `uplink` (`ip -j neigh show proxy` marks them with their protocol). */
export async function ourProxies(uplink: string): Promise<string[]> {
  const json = await ipJson(['-4', 'neigh', 'show', 'proxy', 'dev', uplink]);
  const out: string[] = [];
  for (const entry of Array.isArray(json) ? json as unknown[] : []) {
    const { dst, protocol } = entry as { dst?: unknown; protocol?: unknown };
    if (typeof dst === 'string' && String(protocol) === String(ROUTED_PROTOCOL)) out.push(dst);
  }
  return out;
}

/** The MACs the bridge's forwarding database holds (learned on its ports), lower case. */
export async function bridgeMacs(bridge: string): Promise<string[]> {
  const { stdout } = await runCommand('bridge', ['-j', 'fdb', 'show', 'br', bridge], { timeout: COMMAND_TIMEOUT_MS });
  const out: string[] = [];
  for (const entry of JSON.parse(stdout === '' ? '[]' : stdout) as unknown[]) {
    const mac = (entry as { mac?: unknown }).mac;
    if (typeof mac === 'string') out.push(mac.toLowerCase());
  }
  return out;
}

/** The addresses (`a.b.c.d/len`) in `ip -j addr show`'s answer. */
export function addressesOf(json: unknown): string[] {
  const out: string[] = [];
  for (const link of Array.isArray(json) ? json as unknown[] : []) {
    const infos = (link as { addr_info?: unknown }).addr_info;
    for (const info of Array.isArray(infos) ? infos as unknown[] : []) {
      const { local, prefixlen } = info as { local?: unknown; prefixlen?: unknown };
      if (typeof local === 'string' && typeof prefixlen === 'number') out.push(`${local}/${String(prefixlen)}`);
    }
  }
  return out;
}
