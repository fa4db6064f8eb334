// SPDX-License-Identifier: GPL-2.0-or-later
// The calls we made and wait on: serials, each call's deadline, the reply (or error) handed to the
// call it answers, and the pool that caps how many calls are in flight at once.
import { BusCallError, ERROR_DISCONNECTED } from './bus-messages';

interface PendingCall {
  readonly destination: string;
  readonly resolve: (body: unknown[]) => void;
  readonly reject: (err: BusCallError) => void;
  readonly timer: NodeJS.Timeout | undefined;
}

export class PendingCalls {
  private lastSerial = 0;
  /** Method calls we sent whose reply has not come yet, by serial. */
  private readonly waiting = new Map<number, PendingCall>();
  private callsInFlight = 0;
  private readonly waitingForSlot: Array<() => void> = [];

  constructor(private readonly maxCallsInFlight: number) {}

  /** Serials are never 0; after 2^32 - 1 they start over at 1. */
  nextSerial(): number {
    this.lastSerial = this.lastSerial >= 0xffff_ffff ? 1 : this.lastSerial + 1;
    return this.lastSerial;
  }

  /**
   * Waits for the reply to the call sent as `serial` (after `send`, called once it is registered).
   * Past `timeoutMs` (none when undefined) it fails with `timedOut()`; a reply coming after that
   * finds no pending call and is dropped.
   */
  expect(serial: number, destination: string, timeoutMs: number | undefined, timedOut: () => BusCallError, send: () => void): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.waiting.delete(serial);
        reject(timedOut());
      }, timeoutMs);
      this.waiting.set(serial, { destination, resolve, reject, timer });
      send();
    });
  }

  /** To whom the call sent as `serial` went, while its reply is awaited. */
  destinationOf(serial: number): string | undefined {
    return this.waiting.get(serial)?.destination;
  }

  /** Hands a reply's body to the call waiting for it. */
  resolve(serial: number, body: unknown[]): void {
    this.take(serial)?.resolve(body);
  }

  /** Fails the call waiting for `serial` (an error reply, or a reply we could not take). */
  fail(serial: number, err: BusCallError): void {
    this.take(serial)?.reject(err);
  }

  /** Fails every waiting call: the connection is gone. */
  failAll(reason: string): void {
    for (const pending of this.waiting.values()) {
      clearTimeout(pending.timer);
      pending.reject(new BusCallError(ERROR_DISCONNECTED, `no reply: ${reason}`));
    }
    this.waiting.clear();
  }

  takeSlot(): Promise<void> {
    if (this.callsInFlight < this.maxCallsInFlight) {
      this.callsInFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waitingForSlot.push(() => { this.callsInFlight++; resolve(); }));
  }

  releaseSlot(): void {
    this.callsInFlight--;
    this.waitingForSlot.shift()?.();
  }

  private take(serial: number): PendingCall | undefined {
    const pending = this.waiting.get(serial);
    if (pending === undefined) return undefined;
    this.waiting.delete(serial);
    clearTimeout(pending.timer);
    return pending;
  }
}
