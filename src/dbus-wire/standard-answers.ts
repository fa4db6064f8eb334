// SPDX-License-Identifier: GPL-2.0-or-later
// The standard answers: what the connection answers for a method call no handler took (see
// MethodCallHandler). A handler relies on them by leaving a call (leaveToStandardAnswers):
//   - org.freedesktop.DBus.Peer: Ping and GetMachineId, on every path, as the specification says
//     every connection does (the service's dispatcher leaves Peer to this: one reader of the
//     machine id serves every object);
//   - Introspectable.Introspect of a path nobody exports: an empty node (what MessageBus answered);
//   - Properties there: UnknownObject;
//   - anything else: UnknownMethod.
import { readFileSync } from 'node:fs';
import { ERROR_FAILED, type BusMessage } from './bus-messages';

export const PEER = 'org.freedesktop.DBus.Peer';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PROPERTIES = 'org.freedesktop.DBus.Properties';

const EMPTY_NODE_XML = '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
  + ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n<node/>\n';

/** How the standard answers are sent (the connection's reply and replyError). */
export interface Answerer {
  reply(call: BusMessage, signature: string, body: readonly unknown[]): void;
  replyError(call: BusMessage, errorName: string, text: string): void;
}

/**
 * What a MethodCallHandler returns for a call it leaves to the standard answers above (after any
 * later handler): the seam a handler relies on, named so that reliance can be found.
 */
export function leaveToStandardAnswers(_call: BusMessage): false {
  return false;
}

/** Answers a call no handler took, as the header of this file lists. */
export function answerStandardCall(call: BusMessage, out: Answerer): void {
  if (call.interface === PEER && call.signature === '') {
    if (call.member === 'Ping') return out.reply(call, '', []);
    if (call.member === 'GetMachineId') {
      const id = readMachineId();
      if (id !== undefined) return out.reply(call, 's', [id]);
      return out.replyError(call, ERROR_FAILED, 'cannot read the machine id (/etc/machine-id)');
    }
  }
  if (call.interface === INTROSPECTABLE && call.member === 'Introspect' && call.signature === '') {
    return out.reply(call, 's', [EMPTY_NODE_XML]);
  }
  if (call.interface === PROPERTIES && (call.member === 'Get' || call.member === 'Set' || call.member === 'GetAll')) {
    return out.replyError(call, 'org.freedesktop.DBus.Error.UnknownObject', `No object at path '${call.path}'`);
  }
  out.replyError(call, 'org.freedesktop.DBus.Error.UnknownMethod', `Method '${call.member}' on interface '${call.interface ?? '(none)'}' does not exist`);
}

let machineId: string | undefined;

/** The machine id, as Peer.GetMachineId answers it (read once); undefined where there is none. */
export function readMachineId(): string | undefined {
  if (machineId !== undefined) return machineId;
  // /var/lib/dbus/machine-id is the older place (the one MessageBus read).
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id !== '') return (machineId = id);
    } catch {
      // Not there: try the next place; no id at all is answered as an error.
    }
  }
  return undefined;
}
