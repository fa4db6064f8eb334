// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface`: a client of the D-Bus API only (it works exactly as any other client would).
// The commands are a table (cli-commands.ts); this file parses, dispatches, and turns failures into
// messages and exit codes (exit-codes.ts).
import { BusCallError, BusConnection } from '../dbus-wire/bus-connection';
import { errorMessage } from '../log';
import { VERSION } from '../version';
import { UsageError, type CliOutput, type Invocation } from './command';
import { COMMANDS } from './cli-commands';
import { commandHelp, overviewHelp, PROGRAM } from './cli-help';
import { parseCommandLine } from './cli-parser';
import { parseErrorMessage } from '../service/error-message';
import { busErrorHint, serviceVersion } from './cli-service';
import { terminalColumns, writeJson } from './cli-output';
import { EXIT, exitCodeForError } from './exit-codes';
import { GLOBAL_OPTIONS } from './global-options';
import { busAddressFor } from './remote-bus';

export interface CliEnvironment {
  readonly output: CliOutput;
  /** Connects to the bus at `address`, or the system bus. */
  connect(address?: string): Promise<BusConnection>;
}

export function processEnvironment(): CliEnvironment {
  return {
    output: {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      columns: terminalColumns(process.env, process.stdout.isTTY ? process.stdout.columns : undefined),
      terminal: process.stderr.isTTY,
    },
    connect: (address) => BusConnection.connect(address === undefined ? {} : { address }),
  };
}

/** A failure as the user sees it: message, hint, the D-Bus error name; and as JSON on stdout with --json. */
function reportFailure(output: CliOutput, json: boolean, err: unknown): number {
  if (!(err instanceof BusCallError)) {
    output.err(`${PROGRAM}: ${errorMessage(err)}`);
    if (json) writeJson(output, { error: 'org.freedesktop.DBus.Error.Failed', message: errorMessage(err), exit: EXIT.failed });
    return EXIT.failed;
  }
  // The service's message may carry a hint; the bus's errors get ours.
  const text = parseErrorMessage(err.message);
  const message = text.message;
  const hints = text.hint !== undefined ? [text.hint] : [];
  const busHint = busErrorHint(err);
  if (hints.length === 0 && busHint !== undefined) hints.push(busHint);
  const exit = exitCodeForError(err.errorName);
  output.err(`${PROGRAM}: ${message}`);
  for (const hint of hints) output.err(`hint: ${hint}`);
  output.err(`(${err.errorName})`);
  if (json) writeJson(output, { error: err.errorName, message, ...(hints.length > 0 ? { hint: hints.join('\n') } : {}), exit });
  return exit;
}

async function showVersion(env: CliEnvironment, json: boolean): Promise<number> {
  let service: string | null = null;
  let bus: BusConnection | undefined;
  try {
    bus = await env.connect();
    service = await serviceVersion(bus);
  } catch (err) {
    env.output.err(`${PROGRAM}: the service's version is unknown: ${errorMessage(err).split('\n')[0] ?? ''}`);
  } finally {
    bus?.close();
  }
  if (json) writeJson(env.output, { cli: VERSION, service });
  else env.output.out(`${PROGRAM} ${VERSION}\nservice ${service ?? 'unavailable'}`);
  return EXIT.ok;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: readonly string[], env: CliEnvironment = processEnvironment()): Promise<number> {
  const { output } = env;
  let line;
  try {
    line = parseCommandLine(argv, COMMANDS, GLOBAL_OPTIONS);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    output.err(`${PROGRAM}: ${err.message}`);
    output.err(`Try '${PROGRAM}${err.command === undefined ? '' : ` ${err.command}`} --help'.`);
    return EXIT.usage;
  }
  if (line.kind === 'help') {
    output.out(line.command === undefined ? overviewHelp(COMMANDS, GLOBAL_OPTIONS, output.columns) : commandHelp(line.command, GLOBAL_OPTIONS, output.columns));
    return EXIT.ok;
  }
  if (line.kind === 'version') return showVersion(env, line.json);
  let bus: BusConnection | undefined;
  const host = typeof line.values['host'] === 'string' ? line.values['host'] : undefined;
  const address = busAddressFor(host);
  const invocation: Invocation = {
    command: line.command,
    positionals: line.positionals,
    values: line.values,
    json: line.json,
    output,
    bus: async () => (bus ??= await env.connect(address)),
    host,
    connectAgain: () => env.connect(address),
  };
  try {
    return (await line.command.run(invocation)) ?? EXIT.ok;
  } catch (err) {
    return reportFailure(output, line.json, err);
  } finally {
    bus?.close();
  }
}
