// SPDX-License-Identifier: GPL-2.0-or-later
// The one path by which the service asks whether a caller may change the host. As systemd's
// bus_verify_polkit_async does: a privileged caller (uid 0, from the bus's credentials of its
// connection, as sd_bus_query_sender_privilege reads them) needs no polkit, so root can use the
// service where polkitd is absent; everyone else is asked about through polkit, with the
// caller's bus name as subject. polkit unreachable or confused means "no", never "allow".
// Authorization has limits of its own, apart from the pool of bus calls in flight: an
// interactive check may wait minutes for a password, and checks that wait must not starve other
// callers or NetworkManager's checkpoint calls. One pending check per caller connection, a few
// per user; a user's first check always has room (a few users holding every slot must not make
// everyone else Busy), further ones only while fewer than a few dozen wait in all. A check is
// cancelled (CancelCheckAuthorization, so polkit drops its agent's prompt too) when its caller
// leaves the bus and when our own deadline passes.
import { BUS_DRIVER_NAME, BusCallError, type BusConnection, type PeerCredentials } from '../dbus-wire/bus-connection';
import * as t from '../dbus-wire/bus-value';
import { type Log, errorMessage } from '../log';
import type { Caller } from './interface-definition';
import { errorNameOf } from './shared-interface-spec';

export class AuthorizationError extends Error {
  constructor(readonly errorName: string, message: string) {
    super(message);
    this.name = 'AuthorizationError';
  }
}

export interface Authority {
  /** Resolves when `caller` may perform `action`; rejects with AuthorizationError otherwise. */
  authorize(caller: Caller, credentials: PeerCredentials, action: string): Promise<void>;
}

const CHECK_ALLOW_USER_INTERACTION = 0x1;
// An admin typing a password can take a while; polkit's own agents wait minutes.
export const DEFAULT_INTERACTIVE_TIMEOUT_SECONDS = 5 * 60;
/** Checks waiting for polkit at once: from one user; beyond each user's first, from everyone. */
export const MAX_PENDING_PER_USER = 4;
export const MAX_PENDING = 32;
/** Users with a check waiting (each has its first one whatever the others hold): far more than log in at once. */
export const MAX_USERS_PENDING = 256;
const checkResult = t.struct<[boolean, boolean, Map<string, string>]>(t.boolean, t.boolean, t.dict(t.string));
const POLKIT = { destination: 'org.freedesktop.PolicyKit1', path: '/org/freedesktop/PolicyKit1/Authority', interface: 'org.freedesktop.PolicyKit1.Authority' } as const;
const DRIVER = { destination: BUS_DRIVER_NAME, path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;

export class PolkitAuthority implements Authority {
  private readonly pendingCallers = new Set<string>();
  private readonly pendingByUser = new Map<number, number>();
  private lastCancellationId = 0;

  constructor(
    private readonly bus: BusConnection,
    private readonly log: Log,
    private readonly interactiveTimeoutMs = DEFAULT_INTERACTIVE_TIMEOUT_SECONDS * 1000,
  ) {}

  async authorize(caller: Caller, credentials: PeerCredentials, action: string): Promise<void> {
    if (credentials.uid === 0) return;
    const busy = (why: string) => new AuthorizationError(errorNameOf('Busy'), why);
    if (this.pendingCallers.has(caller.busName)) {
      throw busy('an authorization for an earlier call from this connection is still waiting (answer or dismiss the authentication prompt first)');
    }
    const byUser = this.pendingByUser.get(credentials.uid) ?? 0;
    if (byUser >= MAX_PENDING_PER_USER) {
      throw busy(`${byUser} authorizations of this user are waiting for an answer; try again once they are answered`);
    }
    // A user's first check only counts users, so a few users holding the shared slots starve no one else.
    if (byUser === 0 ? this.pendingByUser.size >= MAX_USERS_PENDING : this.pendingCallers.size >= MAX_PENDING) {
      throw busy('too many authorizations are waiting for an answer; try again once they are answered');
    }
    this.pendingCallers.add(caller.busName);
    this.pendingByUser.set(credentials.uid, byUser + 1);
    try {
      await this.check(caller, action);
    } finally {
      this.pendingCallers.delete(caller.busName);
      const left = (this.pendingByUser.get(credentials.uid) ?? 1) - 1;
      if (left > 0) this.pendingByUser.set(credentials.uid, left);
      else this.pendingByUser.delete(credentials.uid);
    }
  }

  private async check(caller: Caller, action: string): Promise<void> {
    const cancellationId = `shared-interface-${++this.lastCancellationId}`;
    let reply: unknown[];
    let stopWatching = async (): Promise<void> => undefined;
    let asked = false;
    const cancel = (why: string): void => {
      this.log.info(`${why}: cancelling its authorization check`);
      this.bus.call({ ...POLKIT, member: 'CancelCheckAuthorization', signature: 's', body: [cancellationId], outsidePool: true })
        .catch((err: unknown) => this.log.warn(`cancelling the authorization check of ${caller.busName}: ${errorMessage(err)}`));
    };
    try {
      // The caller leaving the bus cancels its check (a silent agent must not hold it for minutes).
      stopWatching = await this.bus.subscribe(
        { sender: BUS_DRIVER_NAME, path: DRIVER.path, interface: DRIVER.interface, member: 'NameOwnerChanged', arg0: caller.busName },
        (msg) => {
          if (msg.body[2] === '') cancel(`${caller.busName} left the bus`);
        },
      );
      // Gone before the watch began: no NameOwnerChanged will come.
      const [present] = await this.bus.call({ ...DRIVER, member: 'NameHasOwner', signature: 's', body: [caller.busName] });
      if (present !== true) throw new BusCallError('org.freedesktop.DBus.Error.NameHasNoOwner', `${caller.busName} left the bus`);
      const subject: [string, Map<string, t.Variant>] = ['system-bus-name', new Map([['name', t.makeVariant('s', caller.busName)]])];
      asked = true;
      reply = await this.bus.call({
        ...POLKIT,
        member: 'CheckAuthorization',
        signature: '(sa{sv})sa{ss}us',
        body: [
          t.struct<[string, Map<string, t.Variant>]>(t.string, t.vardict).encode(subject),
          action,
          {},
          caller.allowInteraction ? CHECK_ALLOW_USER_INTERACTION : 0,
          cancellationId,
        ],
        timeoutMs: caller.allowInteraction ? this.interactiveTimeoutMs : 25_000,
        // Limited above, per caller and per user: not from the pool the other calls share.
        outsidePool: true,
      });
    } catch (err) {
      // Our deadline passed: polkit would go on waiting for the agent (and hold its prompt open) otherwise.
      if (asked && err instanceof BusCallError && err.errorName === 'org.freedesktop.DBus.Error.Timeout') cancel(`the authorization of ${caller.busName} took too long`);
      const why = err instanceof BusCallError ? `${err.errorName}: ${err.message}` : String(err);
      throw new AuthorizationError('org.freedesktop.DBus.Error.AccessDenied', `cannot check authorization with polkit (${why}); refusing`);
    } finally {
      await stopWatching().catch((err: unknown) => this.log.warn(`removing the watch on ${caller.busName}: ${errorMessage(err)}`));
    }
    const [authorized, challenge] = checkResult.decode(reply[0], 'CheckAuthorization reply');
    if (authorized) return;
    if (challenge && !caller.allowInteraction) {
      throw new AuthorizationError('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired',
        `authentication is required to ${describeAction(action)}; call again allowing interactive authorization (e.g. busctl --allow-interactive-authorization=yes) with a polkit agent running`);
    }
    if (challenge) {
      // polkit answers "challenge" even with interaction allowed when no agent serves the caller.
      throw new AuthorizationError('org.freedesktop.DBus.Error.AccessDenied',
        `not authorized to ${describeAction(action)}: authentication is required and no polkit authentication agent is available to ask (use a desktop session or pkttyagent, or ask an administrator for a polkit rule)`);
    }
    throw new AuthorizationError('org.freedesktop.DBus.Error.AccessDenied', `not authorized to ${describeAction(action)}`);
  }
}

function describeAction(action: string): string {
  return action.endsWith('.share-interface') ? 'share or unshare network interfaces' : `perform ${action}`;
}
