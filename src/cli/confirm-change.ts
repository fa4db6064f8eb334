// SPDX-License-Identifier: GPL-2.0-or-later
// --confirm: after Share or Unshare replied, prove the host is still reachable the way the
// administrator came in: a NEW connection (with -H, a new SSH session over the network as it is
// now) calls Confirm. If that can't be done in time, the host rolls the change back by itself.
import { type Cancel, type Clock, systemClock } from '../clock';
import { BusCallError, type BusConnection } from '../dbus-wire/bus-connection';
import { errorMessage } from '../log';
import { ERROR_PREFIX } from '../service/shared-interface-spec';
import { callService } from './cli-service';

// Between attempts: a new SSH session while the network settles.
const RETRY_MS = 1000;

export type ConfirmOutcome =
  | { readonly confirmed: true }
  | { readonly confirmed: false; readonly why: string; readonly rolledBack: boolean };

/** Connects anew and calls Confirm(iface), retrying until `deadline` (ms since the epoch). */
export async function confirmChange(connect: () => Promise<BusConnection>, iface: string, deadline: number, clock: Clock = systemClock): Promise<ConfirmOutcome> {
  let why = 'no attempt was made';
  while (clock.now() < deadline) {
    let bus: BusConnection | undefined;
    try {
      bus = await connectBefore(connect, deadline, clock);
      await callService(bus, 'Confirm', 's', [iface], Math.max(1000, deadline - clock.now()));
      return { confirmed: true };
    } catch (err) {
      if (err instanceof BusCallError && err.errorName === `${ERROR_PREFIX}.NotPending`) {
        return { confirmed: false, why: err.message.split('\n')[0] ?? '', rolledBack: true };
      }
      why = errorMessage(err).split('\n')[0] ?? '';
    } finally {
      bus?.close();
    }
    await clock.sleep(Math.min(RETRY_MS, Math.max(0, deadline - clock.now())));
  }
  return { confirmed: false, why, rolledBack: false };
}

/** A connection made before `deadline`; one that comes too late is closed, not leaked. */
function connectBefore(connect: () => Promise<BusConnection>, deadline: number, clock: Clock): Promise<BusConnection> {
  let cancelLate: Cancel | undefined;
  const late = new Promise<never>((_, reject) => {
    cancelLate = clock.schedule(Math.max(0, deadline - clock.now()), () => reject(new Error('no connection before the deadline')));
  });
  const connecting = connect();
  connecting.then((bus) => { if (clock.now() >= deadline) bus.close(); }, () => undefined);
  return Promise.race([connecting, late]).finally(() => cancelLate?.());
}
