// SPDX-License-Identifier: GPL-2.0-or-later
// A polkit authentication agent that never answers, run by a lab test as an unprivileged user:
// it registers for its own process, then sends COUNT Share calls allowing interactive
// authorization, so polkit asks this agent and each check waits (up to polkit's and our
// timeouts). Prints 'registered', 'begin' for each BeginAuthentication, 'cancel' for each
// CancelAuthentication (polkit dropping a check), and 'reply N NAME' as the calls are answered.
// With CONNECTIONS > 1, each of that many connections of this process (one user, one agent)
// sends COUNT calls. Usage: node silent-polkit-agent.js COUNT [CONNECTIONS]
import { readFileSync } from 'node:fs';
import { BusCallError, BusConnection } from '../../src/dbus-wire/bus-connection';
import * as t from '../../src/dbus-wire/bus-value';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';

const AGENT_PATH = '/org/example/SilentAgent';
const AGENT_INTERFACE = 'org.freedesktop.PolicyKit1.AuthenticationAgent';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? '64');
  const connections = Number(process.argv[3] ?? '1');
  const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
  const bus = await BusConnection.connect({ maxCallsInFlight: count + 8, log: quiet });
  bus.addMethodHandler((msg) => {
    if (msg.path !== AGENT_PATH || msg.interface !== AGENT_INTERFACE) return false;
    // BeginAuthentication is never answered (an agent whose user walked away); Cancel is.
    if (msg.member === 'BeginAuthentication') {
      console.log('begin');
      return true;
    }
    if (msg.member === 'CancelAuthentication') console.log('cancel');
    bus.reply(msg, '', []);
    return true;
  });
  // /proc/self/stat's 22nd field, the start time, counted after the command's closing parenthesis.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const startTime = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '0');
  const subject = ['unix-process', {
    pid: t.makeVariant('u', process.pid), 'start-time': t.makeVariant('t', startTime), uid: t.makeVariant('i', process.getuid?.() ?? 0),
  }];
  await bus.call({
    destination: 'org.freedesktop.PolicyKit1', path: '/org/freedesktop/PolicyKit1/Authority', interface: 'org.freedesktop.PolicyKit1.Authority',
    member: 'RegisterAuthenticationAgent', signature: '(sa{sv})ss', body: [subject, 'C.UTF-8', AGENT_PATH],
  });
  console.log(`registered as ${bus.uniqueName}`);
  const callers = [bus];
  for (let c = 1; c < connections; c++) callers.push(await BusConnection.connect({ maxCallsInFlight: count + 8, log: quiet }));
  for (let i = 0; i < count * connections; i++) {
    (callers[i % connections] as BusConnection).call({
      destination: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Share', signature: 'sa{sv}', body: ['eth0', {}],
      allowInteractiveAuthorization: true, timeoutMs: 600_000,
    }).then(
      () => console.log(`reply ${i} ok`),
      (err: unknown) => console.log(`reply ${i} ${err instanceof BusCallError ? err.errorName : String(err)}`),
    );
  }
}

main().catch((err: unknown) => {
  console.error(`silent agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
