// SPDX-License-Identifier: GPL-2.0-or-later
// The one function that turns NetworkManager's errors into the domain's.
import { BusCallError } from '../../dbus-wire/bus-connection';
import { ShareError, isShareError } from '../../bridge/share-error';
import { errorMessage } from '../../log';

export function translateNmError(err: unknown, doing: string): ShareError {
  if (isShareError(err)) return err;
  if (err instanceof BusCallError) {
    const name = err.errorName;
    if (name === 'org.freedesktop.DBus.Error.ServiceUnknown' || name === 'org.freedesktop.DBus.Error.NameHasNoOwner' || name === 'org.freedesktop.DBus.Error.NoReply') {
      return new ShareError('BackendUnavailable', `NetworkManager went away while ${doing}`, 'check that NetworkManager is running');
    }
    if (name === 'org.freedesktop.DBus.Error.Timeout') return new ShareError('Failed', `NetworkManager did not answer while ${doing}`);
    if (name.startsWith('org.freedesktop.NetworkManager.Settings.Connection.InvalidProperty') || name.endsWith('.InvalidSetting')) {
      return new ShareError('InvalidArgs', `NetworkManager refused the settings while ${doing}: ${err.message}`);
    }
    if (doing === 'creating a checkpoint' && /already/i.test(err.message)) {
      return new ShareError('Busy', `NetworkManager refused a checkpoint: ${err.message}`, 'another change covers the same devices; try again later');
    }
    return new ShareError('Failed', `NetworkManager failed while ${doing}: ${err.message} (${name})`);
  }
  return new ShareError('Failed', `unexpected failure while ${doing}: ${errorMessage(err)}`);
}
