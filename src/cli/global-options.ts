// Options every command takes, before or after the command name.
import type { CliOption } from './command';

export const GLOBAL_OPTIONS: Readonly<Record<string, CliOption>> = {
  help: { type: 'boolean', short: 'h', help: 'Show this help and exit.' },
  version: { type: 'boolean', help: 'Show the versions of this command and of the service, and exit.' },
  json: { type: 'boolean', help: 'Write the result as one JSON document on stdout (with a "schema" version; see shared-interface(1)).' },
};
