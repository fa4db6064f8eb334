// SPDX-License-Identifier: GPL-2.0-or-later
// What the connection and its users exchange: a call to make, an incoming call or signal (its body
// decoded, still unchecked), a subscription's match, an error reply, a caller's credentials; the
// header flags and the standard error names the wire layer answers with.

export interface BusCall {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly signature?: string;
  readonly body?: readonly unknown[];
  /** Milliseconds; defaults to the connection's call timeout. */
  readonly timeoutMs?: number;
  /** Sets ALLOW_INTERACTIVE_AUTHORIZATION on the message. */
  readonly allowInteractiveAuthorization?: boolean;
  /** Sets NO_AUTO_START: don't bus-activate the destination. */
  readonly noAutoStart?: boolean;
  /**
   * Don't take a slot of the pool of calls in flight: for calls that may wait minutes (polkit's
   * interactive checks) and are limited by their caller, so they can't starve the others.
   */
  readonly outsidePool?: boolean;
}

/** An incoming method call or signal, its body decoded (in the library's shapes, still unchecked). */
export interface BusMessage {
  readonly serial: number;
  readonly sender: string;
  readonly destination: string | undefined;
  readonly path: string;
  readonly interface: string | undefined;
  readonly member: string;
  readonly signature: string;
  readonly body: readonly unknown[];
  readonly flags: number;
}

export const MESSAGE_FLAG_NO_REPLY_EXPECTED = 0x1;
export const MESSAGE_FLAG_NO_AUTO_START = 0x2;
export const MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

export const ERROR_FAILED = 'org.freedesktop.DBus.Error.Failed';
export const ERROR_DISCONNECTED = 'org.freedesktop.DBus.Error.Disconnected';
export const ERROR_INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';
export const ERROR_LIMITS_EXCEEDED = 'org.freedesktop.DBus.Error.LimitsExceeded';

/** An error reply from a peer (or our own deadline: org.freedesktop.DBus.Error.Timeout). */
export class BusCallError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    /** Who sent the error reply (a peer, or the bus driver on its behalf); undefined for our own errors. */
    readonly sender?: string,
  ) {
    super(message);
    this.name = 'BusCallError';
  }
}

export interface SignalMatch {
  /**
   * Whom the signal is believed from: a unique name, org.freedesktop.DBus (the bus driver), or a
   * well-known name, whose current owner is tracked; a signal from anyone else is dropped unread.
   */
  readonly sender: string;
  readonly path?: string;
  readonly pathNamespace?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly arg0?: string;
}

/**
 * Takes an incoming method call: true when it took the call (and answers it), false to leave it
 * to the next handler and, after the last, to the standard answers (standard-answers.ts).
 */
export type MethodCallHandler = (call: BusMessage) => boolean;

/** Who the caller of a method is, from the bus's own credentials of its connection (never from a pid's files). */
export interface PeerCredentials {
  readonly uid: number;
  /** Absent where the bus does not know it. */
  readonly pid: number | undefined;
}

