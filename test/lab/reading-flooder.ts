// SPDX-License-Identifier: GPL-2.0-or-later
// An unprivileged user's flood of readings that cost the daemon work: CONNECTIONS connections,
// each keeping CALLS GetInterfaceXML (live) calls of eth0 in flight, each sent again as soon as
// it is answered. Run as uid 65534 inside a lab by reading-flood.ts. On SIGTERM prints one line
// of JSON: how the calls were answered (by error name, 'ok' for a reply).
// Usage: node reading-flooder.js CONNECTIONS CALLS
import { BusCallError, BusConnection } from '../../src/dbus-wire/bus-connection';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';

async function main(): Promise<void> {
  const connections = Number(process.argv[2] ?? '16');
  const calls = Number(process.argv[3] ?? '8');
  const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
  const answers: Record<string, number> = {};
  let running = true;
  const buses = await Promise.all(Array.from({ length: connections }, () => BusConnection.connect({ maxCallsInFlight: calls, log: quiet })));
  const loop = async (bus: BusConnection): Promise<void> => {
    while (running) {
      let outcome = 'ok';
      try {
        await bus.call({ destination: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'GetInterfaceXML', signature: 'sa{sv}', body: ['eth0', {}], timeoutMs: 60_000 });
      } catch (err) {
        outcome = err instanceof BusCallError ? err.errorName : String(err);
      }
      answers[outcome] = (answers[outcome] ?? 0) + 1;
    }
  };
  process.on('SIGTERM', () => {
    running = false;
    console.log(JSON.stringify(answers));
    process.exit(0);
  });
  console.log('flooding');
  await Promise.all(buses.flatMap((bus) => Array.from({ length: calls }, () => loop(bus))));
}

main().catch((err: unknown) => {
  console.error(`flooder: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
