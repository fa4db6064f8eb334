// SPDX-License-Identifier: GPL-2.0-or-later
// A password prompt where polkit needs one: for a non-root user on a terminal, start
// `pkttyagent --notify-fd N --fallback` as systemctl and hostnamectl do, and wait until it has
// registered (it closes the notify fd) before the call that may need it. --no-ask-password
// turns it off; the agent ends with the command.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

const PKTTYAGENT = '/usr/bin/pkttyagent';

/** Starts the agent when it makes sense; resolves with a function that stops it. */
export async function startPolkitAgent(options: { readonly askPassword: boolean; readonly remote: boolean }): Promise<() => void> {
  const uid = process.getuid?.() ?? 0;
  if (!options.askPassword || options.remote || uid === 0 || !process.stdin.isTTY || !process.stdout.isTTY) return () => undefined;
  // Loaded only when an agent is started: the commands that never need one start faster.
  const { spawn } = await import('node:child_process');
  let agent: ChildProcess;
  try {
    // fd 3 of the agent is the notify pipe: it closes it once registered with polkit.
    agent = spawn(PKTTYAGENT, ['--notify-fd', '3', '--fallback'], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  } catch {
    return () => undefined;
  }
  // The pipe's far end is the agent's fd 3; we only read from it.
  const notify = agent.stdio[3] as Readable | null | undefined;
  await new Promise<void>((resolve) => {
    agent.once('error', () => resolve());
    agent.once('exit', () => resolve());
    if (notify === null || notify === undefined) resolve();
    else notify.once('close', () => resolve()).resume();
  });
  return () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill();
  };
}
