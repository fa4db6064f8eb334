// The one path by which the service asks polkit whether a caller may change the host. polkit
// unreachable or confused means "no", never "allow".
import { BusCallError, type BusConnection } from '../bus/bus-connection';
import * as t from '../bus/bus-value';
import type { Caller } from './interface-definition';

export class AuthorizationError extends Error {
  constructor(readonly errorName: string, message: string) {
    super(message);
    this.name = 'AuthorizationError';
  }
}

export interface Authority {
  /** Resolves when `caller` may perform `action`; rejects with AuthorizationError otherwise. */
  authorize(caller: Caller, action: string): Promise<void>;
}

const CHECK_ALLOW_USER_INTERACTION = 0x1;
// An admin typing a password can take a while; polkit's own agents wait minutes.
const INTERACTIVE_TIMEOUT_MS = 5 * 60_000;
const checkResult = t.struct<[boolean, boolean, Map<string, string>]>(t.boolean, t.boolean, t.dict(t.string));

export class PolkitAuthority implements Authority {
  constructor(private readonly bus: BusConnection) {}

  async authorize(caller: Caller, action: string): Promise<void> {
    const subject: [string, Map<string, t.Variant>] = ['system-bus-name', new Map([['name', t.makeVariant('s', caller.busName)]])];
    let reply: unknown[];
    try {
      reply = await this.bus.call({
        destination: 'org.freedesktop.PolicyKit1',
        path: '/org/freedesktop/PolicyKit1/Authority',
        interface: 'org.freedesktop.PolicyKit1.Authority',
        member: 'CheckAuthorization',
        signature: '(sa{sv})sa{ss}us',
        body: [
          t.struct<[string, Map<string, t.Variant>]>(t.string, t.vardict).encode(subject),
          action,
          {},
          caller.allowInteraction ? CHECK_ALLOW_USER_INTERACTION : 0,
          '',
        ],
        timeoutMs: caller.allowInteraction ? INTERACTIVE_TIMEOUT_MS : 25_000,
      });
    } catch (err) {
      const why = err instanceof BusCallError ? `${err.errorName}: ${err.message}` : String(err);
      throw new AuthorizationError('org.freedesktop.DBus.Error.AccessDenied', `cannot check authorization with polkit (${why}); refusing`);
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
