// SPDX-License-Identifier: GPL-2.0-or-later
// How every part of the service logs: one line per event, each with its syslog priority as a
// "<N>" prefix (sd-daemon(3)), which journald reads from a service's stdout and stderr and strips:
// `journalctl -p warning` then shows what went wrong. Outside systemd the prefixes stay visible.
export interface Log {
  error(message: string): void;
  /** Something went wrong and was handled (a refused message, a change rolled back). */
  warn(message: string): void;
  info(message: string): void;
  /** Shown only with --log-level=debug. */
  debug(message: string): void;
}

export const LOG_LEVELS = ['error', 'warning', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
const PRIORITY: Readonly<Record<LogLevel, number>> = { error: 3, warning: 4, info: 6, debug: 7 };

/** `message` with the priority prefix on each of its lines (a stack trace is several lines). */
export function journalLines(level: LogLevel, message: string): string {
  return message.split('\n').map((line) => `<${PRIORITY[level]}>${line}`).join('\n');
}

/** A log to stdout (info, debug) and stderr (error, warning) that drops what is below `threshold`. */
export function journalLog(threshold: LogLevel = 'info'): Log {
  const shown = (level: LogLevel) => PRIORITY[level] <= PRIORITY[threshold];
  const write = (level: LogLevel, stream: NodeJS.WriteStream) => (message: string) => {
    if (shown(level)) stream.write(`${journalLines(level, message)}\n`);
  };
  return {
    error: write('error', process.stderr),
    warn: write('warning', process.stderr),
    info: write('info', process.stdout),
    debug: write('debug', process.stdout),
  };
}

/** The daemon's log at its default level. */
export const consoleLog: Log = journalLog('info');

/** The message of anything thrown, for a log line or an error text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The stack of anything thrown, where it has one: for the log only, never for a caller. */
export function errorDetail(err: unknown): string {
  return err instanceof Error ? err.stack ?? err.message : String(err);
}
