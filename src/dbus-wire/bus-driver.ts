// SPDX-License-Identifier: GPL-2.0-or-later
// The bus driver (org.freedesktop.DBus): its name and object, and the few of its methods the
// connection's users need, read from the D-Bus specification: who a caller is, owning a name.
import { BusCallError, ERROR_FAILED, type BusCall, type PeerCredentials } from './bus-messages';

export const BUS_DRIVER_NAME = 'org.freedesktop.DBus';
/** Where the driver's methods are called. */
export const DRIVER = { destination: BUS_DRIVER_NAME, path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;
/** Where the driver's signals (NameOwnerChanged) come from. */
export const DRIVER_SIGNAL = { sender: BUS_DRIVER_NAME, path: DRIVER.path, interface: DRIVER.interface } as const;

// RequestName's flag and replies.
const NAME_FLAG_DO_NOT_QUEUE = 4;
const REQUEST_NAME_REPLY_PRIMARY_OWNER = 1;
const REQUEST_NAME_REPLY_ALREADY_OWNER = 4;

type Call = (call: BusCall) => Promise<unknown[]>;

/** A well-known name (not a unique name, not the driver's): whose owner changes and is tracked. */
export function isWellKnownName(name: string): boolean {
  return !name.startsWith(':') && name !== BUS_DRIVER_NAME;
}

/** The bus's credentials of a peer's connection (GetConnectionCredentials). */
export async function connectionCredentials(call: Call, busName: string): Promise<PeerCredentials> {
  const [reply] = await call({ ...DRIVER, member: 'GetConnectionCredentials', signature: 's', body: [busName] });
  const field = (key: string): number | undefined => {
    const value = typeof reply === 'object' && reply !== null ? (reply as Record<string, unknown>)[key] : undefined;
    const inner = typeof value === 'object' && value !== null ? (value as { signature?: unknown; value?: unknown }) : undefined;
    return inner?.signature === 'u' && typeof inner.value === 'number' ? inner.value : undefined;
  };
  const uid = field('UnixUserID');
  if (uid === undefined) throw new BusCallError(ERROR_FAILED, `the bus did not say which user ${busName} is`);
  return { uid, pid: field('ProcessID') };
}

/** Requests a well-known name, refusing to queue; resolves true when we own it. */
export async function requestName(call: Call, name: string): Promise<boolean> {
  const [reply] = await call({ ...DRIVER, member: 'RequestName', signature: 'su', body: [name, NAME_FLAG_DO_NOT_QUEUE] });
  return reply === REQUEST_NAME_REPLY_PRIMARY_OWNER || reply === REQUEST_NAME_REPLY_ALREADY_OWNER;
}
