// SPDX-License-Identifier: GPL-2.0-or-later
// Admission at the bus edge: every incoming message is judged by its header before its body is
// read (bus-unmarshal.ts reads in those two steps), and a body that was wanted is decoded under
// limits. A method call to us with fds, an fd type or a body above MAX_CALL_BODY_BYTES is refused
// unread; a signal is read only when a subscription wants it from its sender as it is now, and one
// addressed to us (unicast) only as a subscription wants it, from that sender; a reply only for a
// call of ours waiting for it, from whom we called (or the bus driver on its behalf); a call from
// a caller over its budget of unread replies with as many calls waiting as may (stalled-readers.ts)
// is refused unread. A refused
// method call is answered with a typed error; whatever is refused is logged (refusal-log.ts).
import { BusCallError, ERROR_FAILED, ERROR_INVALID_ARGS, ERROR_LIMITS_EXCEEDED, type BusMessage } from './bus-messages';
import {
  MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, MESSAGE_TYPE_SIGNAL,
} from './bus-marshal';
import { BusUnmarshalError, decodeBody, signatureHasUnixFd, SPEC_LIMITS, type BodyLimits } from './bus-body-reader';
import type { MessageHeader } from './bus-unmarshal';
import type { RefusalLog } from './refusal-log';
import type { SignalRouting } from './signal-routing';
import type { PendingCalls } from './pending-calls';

/**
 * The largest body of a method call to us that is read: our API's arguments are a few names and
 * options, and DefineInterfaceXML's XML, itself capped at 64 KiB.
 */
export const MAX_CALL_BODY_BYTES = 128 * 1024;
/** What a method call's arguments may hold: a few dozen options, a few levels of containers. */
export const CALL_LIMITS: BodyLimits = { maxDepth: 16, maxArrayElements: 32 };
/** Signals we subscribed to, from the sender we trust (NetworkManager's are small, a profile at most). */
const MAX_SIGNAL_BODY_BYTES = 8 * 1024 * 1024;
/** Replies to our own calls (GetManagedObjects at hundreds of profiles is a few MiB). */
const MAX_REPLY_BODY_BYTES = 64 * 1024 * 1024;

/** What admission needs of the connection it guards. */
export interface AdmissionContext {
  /** Our unique name (unicast signals to anyone else are not ours). */
  readonly ownName: () => string;
  readonly pending: Pick<PendingCalls, 'destinationOf' | 'fail'>;
  readonly signals: Pick<SignalRouting, 'wants' | 'mayAnswerFor'>;
  readonly refusals: RefusalLog;
  /** Answers a refused method call. */
  readonly replyError: (call: Pick<BusMessage, 'flags' | 'serial' | 'sender'>, errorName: string, text: string) => void;
  /** Is the caller over its budget of unread replies, with its calls waiting already (stalled-readers.ts)? Refused unread. */
  readonly unread: (sender: string) => boolean;
}

export class MessageAdmission {
  constructor(private readonly context: AdmissionContext) {}

  /**
   * From the header alone: is this message's body read at all? A method call we refuse is
   * answered here; a reply we can't take fails the call waiting for it.
   */
  admit(h: MessageHeader): boolean {
    const { pending, signals, refusals, replyError } = this.context;
    const fds = h.unixFds > 0 || signatureHasUnixFd(h.signature);
    switch (h.type) {
      case MESSAGE_TYPE_METHOD_RETURN:
      case MESSAGE_TYPE_ERROR: {
        const destination = h.replySerial === undefined ? undefined : pending.destinationOf(h.replySerial);
        if (destination === undefined || h.replySerial === undefined || !signals.mayAnswerFor(destination, h.sender ?? '')) return false;
        if (!fds && h.bodyLength <= MAX_REPLY_BODY_BYTES) return true;
        pending.fail(h.replySerial, new BusCallError(ERROR_FAILED, fds
          ? `${destination} replied with unix fds, which this connection does not take`
          : `${destination} replied with ${h.bodyLength} bytes, more than the ${MAX_REPLY_BODY_BYTES} taken`));
        return false;
      }
      case MESSAGE_TYPE_SIGNAL: {
        // A signal addressed to anyone but us is not ours to read; one addressed to us is read
        // only as a subscription wants it, from the sender it trusts (a service tells its caller
        // alone what no one else may see, e.g. a step before authorization).
        if (h.destination !== undefined && h.destination !== this.context.ownName()) return false;
        if (!signals.wants(h)) return false;
        if (!fds && h.bodyLength <= MAX_SIGNAL_BODY_BYTES) return true;
        refusals.refused(`signal ${h.interface ?? ''}.${h.member ?? ''} from ${h.sender ?? ''}: ${fds ? 'unix fds' : `a body of ${h.bodyLength} bytes`}`);
        return false;
      }
      case MESSAGE_TYPE_METHOD_CALL: {
        const call = { flags: h.flags, serial: h.serial, sender: h.sender ?? '' };
        if (fds) {
          refusals.refused(`call ${h.interface ?? ''}.${h.member ?? ''} from ${call.sender}: unix fds (signature '${h.signature}', ${h.unixFds} fd(s))`);
          replyError(call, ERROR_INVALID_ARGS, 'this service takes no unix file descriptors');
          return false;
        }
        if (this.context.unread(call.sender)) {
          refusals.refused(`call ${h.interface ?? ''}.${h.member ?? ''} from ${call.sender}: it has not read its earlier replies`);
          replyError(call, ERROR_LIMITS_EXCEEDED, 'this connection has not read the replies it was sent; read them (and answer Peer.Ping) before calling again');
          return false;
        }
        if (h.bodyLength > MAX_CALL_BODY_BYTES) {
          refusals.refused(`call ${h.interface ?? ''}.${h.member ?? ''} from ${call.sender}: a body of ${h.bodyLength} bytes`);
          replyError(call, ERROR_LIMITS_EXCEEDED, `the arguments are ${h.bodyLength} bytes; this service takes at most ${MAX_CALL_BODY_BYTES}`);
          return false;
        }
        return true;
      }
      default:
        // The specification: messages of unknown types are ignored.
        return false;
    }
  }

  /**
   * Decodes a body that was wanted, under the limits for its kind; undefined when it can't be
   * read (a method call is answered InvalidArgs, a reply fails the call waiting for it).
   */
  decode(h: MessageHeader, body: Buffer): unknown[] | undefined {
    const limits = h.type === MESSAGE_TYPE_METHOD_CALL ? CALL_LIMITS : SPEC_LIMITS;
    try {
      return decodeBody(h.signature, body, h.littleEndian, limits);
    } catch (err) {
      if (!(err instanceof BusUnmarshalError)) throw err;
      const what = `${h.interface ?? ''}.${h.member ?? ''} from ${h.sender ?? ''}`;
      if (h.type === MESSAGE_TYPE_METHOD_CALL) {
        this.context.refusals.refused(`call ${what}: ${err.message}`);
        this.context.replyError({ flags: h.flags, serial: h.serial, sender: h.sender ?? '' }, ERROR_INVALID_ARGS, `cannot read the arguments: ${err.message}`);
      } else if (h.type === MESSAGE_TYPE_SIGNAL) {
        this.context.refusals.refused(`signal ${what}: ${err.message}`);
      } else if (h.replySerial !== undefined) {
        this.context.pending.fail(h.replySerial, new BusCallError(ERROR_FAILED, `cannot read the reply from ${h.sender ?? ''}: ${err.message}`));
      }
      return undefined;
    }
  }
}
