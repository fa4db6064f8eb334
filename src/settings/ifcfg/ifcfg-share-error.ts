// SPDX-License-Identifier: GPL-2.0-or-later
// The one place where the ifcfg backend's failures become the domain's ShareError (as nm-errors.ts
// does for NetworkManager's). Codes are mapped, never messages matched.
import { ShareError, isShareError, type ShareErrorCode } from '../../bridge/share-error';
import { IfcfgError, type IfcfgErrorCode } from './ifcfg-error';
import { errorMessage } from '../../log';

const CODES: Readonly<Record<IfcfgErrorCode, ShareErrorCode>> = {
  // A file or a name that cannot be written or read safely: the request is refused as it stands.
  InvalidSyntax: 'InvalidArgs',
  InvalidValue: 'InvalidArgs',
  UnsafeValue: 'InvalidArgs',
  Unsupported: 'NotSupported',
  // The NIC's file describes another device: that NIC cannot be shared until the file is fixed.
  Mismatch: 'NotShareable',
  Internal: 'Failed',
};

export function translateIfcfgError(err: unknown, doing: string): ShareError {
  if (isShareError(err)) return err;
  if (err instanceof IfcfgError) {
    const where = err.line !== undefined && !err.message.includes(`line ${err.line}`) ? ` (line ${err.line})` : '';
    return new ShareError(CODES[err.code], `${doing}: ${err.message}${where}`, err.hint);
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    return new ShareError('Failed', `${doing}: ${errorMessage(err)}`, 'the service must run as root with the ifcfg directory writable');
  }
  return new ShareError('Failed', `${doing}: ${errorMessage(err)}`);
}
