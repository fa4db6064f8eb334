// SPDX-License-Identifier: GPL-2.0-or-later
// The command table: each command lives in its own file; adding one is a line here.
import type { CliCommand } from './command';
import { LIBVIRT_COMMANDS } from './libvirt-commands';
import { listCommand } from './list-command';
import { monitorCommand } from './monitor-command';
import { confirmCommand, pendingCommand, rollbackCommand } from './pending-commands';
import { shareCommand } from './share-command';
import { unshareCommand } from './unshare-command';

export const COMMANDS: readonly CliCommand[] = [
  listCommand,
  shareCommand,
  unshareCommand,
  pendingCommand,
  confirmCommand,
  rollbackCommand,
  ...LIBVIRT_COMMANDS,
  monitorCommand,
];
