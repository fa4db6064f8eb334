// SPDX-License-Identifier: GPL-2.0-or-later
// The one error type of the domain. Its codes are a closed set; the D-Bus adapter maps each code
// 1:1 to an error name. Backends translate their own failures into it, once, in their own module.

export const SHARE_ERROR_CODES = [
  'InvalidArgs',
  'NoSuchInterface',
  'AlreadyShared',
  'NotShared',
  'NotShareable',
  'Busy',
  'NotPending',
  'RolledBack',
  'BackendUnavailable',
  'NotSupported',
  'Failed',
] as const;

export type ShareErrorCode = (typeof SHARE_ERROR_CODES)[number];

export class ShareError extends Error {
  constructor(
    readonly code: ShareErrorCode,
    message: string,
    /** What the user can do about it; the CLI prints it under the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ShareError';
  }
}

export function isShareError(err: unknown): err is ShareError {
  return err instanceof ShareError;
}
