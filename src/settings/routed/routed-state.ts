// SPDX-License-Identifier: GPL-2.0-or-later
// The data plane's state file, one per uplink in the runtime directory (/run/shared-interface/routed
// under systemd): what it changed, written before it changes it (each sysctl's original value, the
// address it lent the bridge), so that a stop — or the next start after a crash — puts the host back
// exactly; and what it does now (relaying, guests), which is what status readers see. It lives in
// /run: after a reboot the kernel has its defaults again and there is nothing to undo.
import { join } from 'node:path';
import { array, integer, nullable, object, oneOf, optional, parseJson, string, type JsonCodec } from '../json-codec';
import { ensurePrivateDir, readIfExists, removeFile, writeFileAtomic } from '../durable-file';
import type { Guest, RefusedGuest } from './routed-plan';

/** Where the agent keeps its state files by default (systemd's RuntimeDirectory= of its unit). */
export const DEFAULT_ROUTED_STATE_DIR = '/run/shared-interface/routed';

export type RoutedPhase =
  /** Sysctls saved, nothing applied yet. */
  | 'starting'
  /** Relaying DHCP for the guests and routing them. */
  | 'running'
  /** The uplink has no IPv4 address (or the bridge is missing): nothing to relay from yet. */
  | 'waiting'
  /** Putting the host back. */
  | 'stopping';

export interface SavedSysctl {
  readonly path: readonly string[];
  readonly original: string;
}

export interface RoutedState {
  readonly uplink: string;
  readonly bridge: string;
  /** The agent's process. */
  readonly pid: number;
  readonly phase: RoutedPhase;
  /** Why it waits, or the last change of the uplink worth telling. */
  readonly message?: string;
  readonly uplinkAddress: string | null;
  /** The relay's DHCP server, or null: broadcast on the uplink. */
  readonly dhcpServer: string | null;
  readonly sysctls: readonly SavedSysctl[];
  /** Addresses (CIDR) the agent added to the bridge, to remove at stop. */
  readonly bridgeAddresses: readonly string[];
  readonly guests: readonly Guest[];
  readonly refused: readonly RefusedGuest[];
}

const guestCodec: JsonCodec<Guest> = object<Guest>({ address: string(), mac: string(), unansweredSince: optional(integer(0)) });

export const routedStateCodec: JsonCodec<RoutedState> = object<RoutedState>({
  uplink: string(),
  bridge: string(),
  pid: integer(1),
  phase: oneOf('starting', 'running', 'waiting', 'stopping'),
  message: optional(string()),
  uplinkAddress: nullable(string()),
  dhcpServer: nullable(string()),
  sysctls: array(object<SavedSysctl>({ path: array(string()), original: string() })),
  bridgeAddresses: array(string()),
  guests: array(guestCodec),
  refused: array(object<RefusedGuest>({ address: string(), mac: string(), reason: string() })),
});

export function routedStatePath(stateDir: string, uplink: string): string {
  return join(stateDir, `${uplink}.json`);
}

export async function readRoutedState(stateDir: string, uplink: string): Promise<RoutedState | undefined> {
  const bytes = await readIfExists(routedStatePath(stateDir, uplink));
  return bytes === undefined ? undefined : parseJson(bytes.toString('utf8'), routedStateCodec);
}

export async function writeRoutedState(stateDir: string, state: RoutedState): Promise<void> {
  await ensurePrivateDir(stateDir);
  await writeFileAtomic(routedStatePath(stateDir, state.uplink), Buffer.from(`${JSON.stringify(state, null, 2)}\n`), 0o644);
}

export async function removeRoutedState(stateDir: string, uplink: string): Promise<void> {
  await removeFile(routedStatePath(stateDir, uplink));
}
