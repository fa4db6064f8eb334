// SPDX-License-Identifier: GPL-2.0-or-later
// The one error type of the ifcfg backend. The D-Bus layer maps `code` to its own error names once;
// nothing here matches on message text.

export type IfcfgErrorCode =
  /** A file uses shell syntax we cannot read without running a shell (or cannot read the way bash would). */
  | 'InvalidSyntax'
  /** A value fails its strict pattern (interface name, MAC, address, prefix, hostname, …). */
  | 'InvalidValue'
  /** A value cannot be written safely into a file that root sources (control characters, newlines). */
  | 'UnsafeValue'
  /** Well-formed, but a configuration we deliberately do not handle (e.g. NIC already a bridge port). */
  | 'Unsupported'
  /** The NIC's ifcfg file describes a different device than the one we were asked to share. */
  | 'Mismatch'
  /** Our own output failed its read-back check: a bug in this module, never the user's fault. */
  | 'Internal';

export interface IfcfgErrorDetails {
  readonly key?: string;
  /** 1-based line number in the file being read, when the problem has one. */
  readonly line?: number;
  /** What the user can do about it, for the CLI. */
  readonly hint?: string;
}

export class IfcfgError extends Error {
  override readonly name = 'IfcfgError';
  readonly code: IfcfgErrorCode;
  readonly key: string | undefined;
  readonly line: number | undefined;
  readonly hint: string | undefined;

  constructor(code: IfcfgErrorCode, message: string, details: IfcfgErrorDetails = {}) {
    super(message);
    this.code = code;
    this.key = details.key;
    this.line = details.line;
    this.hint = details.hint;
  }
}
