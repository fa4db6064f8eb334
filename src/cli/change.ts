// SPDX-License-Identifier: GPL-2.0-or-later
// What share and unshare have in common around their one call: a polkit agent for a password
// prompt, Progress lines on a terminal while the service works, and --confirm afterwards.
import type { BusConnection } from '../dbus-wire/bus-connection';
import * as t from '../dbus-wire/bus-value';
import { MAX_CONFIRM_TIMEOUT_SECONDS } from '../bridge/share-request';
import { flagValue, secondsBetween, stringValue, type CliOption, type Invocation } from './command';
import { confirmChange } from './confirm-change';
import { callService } from './cli-service';
import { PROGRAM } from './cli-help';
import { EXIT } from './exit-codes';
import { startPolkitAgent } from './polkit-agent';
import { showProgress } from './progress';

/** --confirm with -H and no value: time enough for a new SSH session over a network that just moved. */
export const DEFAULT_REMOTE_CONFIRM_SECONDS = 30;

const checkSeconds = secondsBetween(0, MAX_CONFIRM_TIMEOUT_SECONDS);

export const CONFIRM_OPTION: CliOption = {
  type: 'string', optionalValue: true, valueName: 'SECONDS',
  check: (value) => (value === '' ? undefined : checkSeconds(value)),
  help: `After the change, confirm it through a new connection (with -H, a new SSH session) within SECONDS (default ${DEFAULT_REMOTE_CONFIRM_SECONDS}); if that fails, the host rolls the change back by itself and the exit status is 4. On by default with -H (--confirm=0 turns it off), off locally.`,
};

/** Seconds to confirm within; 0: no confirmation. */
export function confirmSeconds(invocation: Invocation): number {
  const value = stringValue(invocation.values, 'confirm');
  if (value === undefined) return invocation.host === undefined ? 0 : DEFAULT_REMOTE_CONFIRM_SECONDS;
  return value === '' ? DEFAULT_REMOTE_CONFIRM_SECONDS : Number(value);
}

export interface ChangeResult {
  readonly reply: unknown[];
  /** undefined: not asked for; else whether Confirm went through. */
  readonly confirmed: boolean | undefined;
  readonly exit: number | undefined;
}

/** Calls Share or Unshare for `iface` with `options`, then confirms it if asked. */
export async function makeChange(invocation: Invocation, member: 'Share' | 'Unshare', iface: string, options: Record<string, t.Variant>, timeoutMs: number): Promise<ChangeResult> {
  const { output } = invocation;
  const seconds = confirmSeconds(invocation);
  if (seconds > 0) options['confirm-timeout'] = t.makeVariant('u', seconds);
  const bus = await invocation.bus();
  const stopAgent = await startPolkitAgent({ askPassword: !flagValue(invocation.values, 'no-ask-password'), remote: invocation.host !== undefined });
  let reply: unknown[];
  try {
    reply = await withProgress(invocation, bus, iface, () => callService(bus, member, 'sa{sv}', [iface, options], timeoutMs + seconds * 1000));
    if (seconds === 0) return { reply, confirmed: undefined, exit: undefined };
    const where = invocation.host === undefined ? 'a new connection' : `a new SSH session to ${invocation.host}`;
    if (!invocation.json) output.err(`confirming the change of ${iface} through ${where} (within ${seconds} s)…`);
    const outcome = await confirmChange(() => invocation.connectAgain(), iface, Date.now() + seconds * 1000);
    if (outcome.confirmed) {
      if (!invocation.json) output.err(`confirmed: the change of ${iface} stays`);
      return { reply, confirmed: true, exit: undefined };
    }
    output.err(`${PROGRAM}: could not confirm the change of ${iface} within ${seconds} s (${outcome.why}); ${outcome.rolledBack ? 'it was rolled back' : 'the host rolls it back by itself'}`);
    return { reply, confirmed: false, exit: EXIT.rolledBack };
  } finally {
    stopAgent();
  }
}

/** `work`, with the service's Progress lines about `iface` on a terminal meanwhile. */
export async function withProgress<T>(invocation: Invocation, bus: BusConnection, iface: string, work: () => Promise<T>): Promise<T> {
  if (invocation.json || invocation.output.terminal !== true) return work();
  const stop = await showProgress(bus, iface, (line) => invocation.output.err(line));
  try {
    return await work();
  } finally {
    await stop().catch(() => undefined);
  }
}
