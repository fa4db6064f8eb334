// SPDX-License-Identifier: GPL-2.0-or-later
// Options every command takes, before or after the command name. -f, -t and -g are nmcli's, for
// the commands that print a table (table-output.ts); the others refuse them.
import type { CliOption } from './command';
import { hostProblem } from './remote-bus';

export const GLOBAL_OPTIONS: Readonly<Record<string, CliOption>> = {
  help: { type: 'boolean', short: 'h', help: 'Show this help and exit.' },
  version: { type: 'boolean', help: 'Show the versions of this command and of the service, and exit.' },
  json: { type: 'boolean', help: 'Write the result as one JSON document on stdout (with a "schema" version; see shared-interface(1)).' },
  fields: { type: 'string', short: 'f', alias: 'o', valueName: 'FIELD,...', complete: 'fields', help: 'list and pending: the columns, in order: field names, all, or common (the default); "COMMAND --help" names each command\'s fields. -o is the same.' },
  terse: { type: 'boolean', short: 't', help: 'list and pending: for scripts, as nmcli -t: no header, each row\'s values separated by ":" (":" and "\\" in a value escaped by "\\"), several values in one field by " | ", none as "".' },
  'get-values': { type: 'string', short: 'g', valueName: 'FIELD,...', complete: 'fields', help: 'list and pending: the values of these fields only, as nmcli -g: short for --terse --fields=FIELD,...' },
  host: { type: 'string', short: 'H', valueName: '[USER@]HOST', check: hostProblem, help: 'Talk to the service on HOST, over SSH (ssh -xT [USER@]HOST systemd-stdio-bridge), as busctl -H does. share and unshare then confirm the change through a second SSH session (see --confirm).' },
  'no-ask-password': { type: 'boolean', help: 'Do not start a polkit agent (pkttyagent) to ask for a password on the terminal.' },
};
