// SPDX-License-Identifier: GPL-2.0-or-later
// The CLI's exit codes: one table, read by the code, `--help` and the man page. nmcli's documented
// numbers are reused where the meaning matches (2 usage, 3 timeout, 4 activation failed,
// 8 NetworkManager not running, 10 not found); nmcli has none for "not authorized", so that one is
// sysexits.h's EX_NOPERM.
import { ERROR_PREFIX } from '../service/shared-interface-spec';

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  busy: 3,
  rolledBack: 4,
  unavailable: 8,
  notFound: 10,
  accessDenied: 77,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE_DOCS: ReadonlyArray<readonly [ExitCode, string]> = [
  [EXIT.ok, 'Success.'],
  [EXIT.failed, 'The operation failed for another reason (the message says which).'],
  [EXIT.usage, 'Invalid command line, or an argument the service refused as invalid.'],
  [EXIT.busy, 'The interface is busy (another change in progress, guests still attached) or the call timed out.'],
  [EXIT.rolledBack, 'The change could not be verified and everything was put back as it was.'],
  [EXIT.unavailable, 'The system bus, the service or its backend (NetworkManager or ifcfg) is not available.'],
  [EXIT.notFound, 'No such interface, the interface is not shared, or no change of it awaits confirmation.'],
  [EXIT.accessDenied, 'Not authorized (polkit or the bus policy refused).'],
];

const BY_ERROR_NAME: ReadonlyMap<string, ExitCode> = new Map<string, ExitCode>([
  ['org.freedesktop.DBus.Error.InvalidArgs', EXIT.usage],
  [`${ERROR_PREFIX}.NoSuchInterface`, EXIT.notFound],
  [`${ERROR_PREFIX}.NotShared`, EXIT.notFound],
  [`${ERROR_PREFIX}.NotPending`, EXIT.notFound],
  [`${ERROR_PREFIX}.Busy`, EXIT.busy],
  ['org.freedesktop.DBus.Error.NoReply', EXIT.busy],
  ['org.freedesktop.DBus.Error.Timeout', EXIT.busy],
  ['org.freedesktop.DBus.Error.TimedOut', EXIT.busy],
  ['org.freedesktop.DBus.Error.LimitsExceeded', EXIT.busy],
  [`${ERROR_PREFIX}.RolledBack`, EXIT.rolledBack],
  [`${ERROR_PREFIX}.BackendUnavailable`, EXIT.unavailable],
  ['org.freedesktop.DBus.Error.NoServer', EXIT.unavailable],
  ['org.freedesktop.DBus.Error.ServiceUnknown', EXIT.unavailable],
  ['org.freedesktop.DBus.Error.NameHasNoOwner', EXIT.unavailable],
  ['org.freedesktop.DBus.Error.Disconnected', EXIT.unavailable],
  ['org.freedesktop.DBus.Error.AccessDenied', EXIT.accessDenied],
  ['org.freedesktop.DBus.Error.AuthFailed', EXIT.accessDenied],
  ['org.freedesktop.DBus.Error.InteractiveAuthorizationRequired', EXIT.accessDenied],
]);

/** The exit code for a D-Bus error the service (or the bus) answered. */
export function exitCodeForError(errorName: string): ExitCode {
  // dbus-daemon's activation failures (org.freedesktop.DBus.Error.Spawn.*): the service can't start.
  if (errorName.startsWith('org.freedesktop.DBus.Error.Spawn.')) return EXIT.unavailable;
  return BY_ERROR_NAME.get(errorName) ?? EXIT.failed;
}
