// SPDX-License-Identifier: GPL-2.0-or-later
// A caller that asks and never reads: CONNECTIONS connections, each authenticated (SASL, Hello),
// then sending MEMBER calls to the daemon as fast as the bus takes them, without reading a byte
// of what comes back. Everything the daemon answers waits in dbus-daemon's queue for it. Run as
// uid 65534 inside a lab by stalled-reader.test.ts; prints 'stalling' once every connection is
// up, and on SIGTERM one line of JSON: how many calls it sent.
// Usage: node stalling-caller.js CONNECTIONS [Introspect|ListInterfaces]
import type { Socket } from 'node:net';
import { openAuthenticated } from '../../src/dbus-wire/bus-connection';
import { marshalMessage, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN } from '../../src/dbus-wire/bus-marshal';
import { MessageFramer } from '../../src/dbus-wire/bus-unmarshal';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';

const ADDRESS = process.env['DBUS_SYSTEM_BUS_ADDRESS'] ?? 'unix:path=/run/dbus/system_bus_socket';

/** Authenticates and says Hello, then stops reading: nothing the bus sends from then on is read. */
async function stalledConnection(): Promise<Socket> {
  const socket = await openAuthenticated(ADDRESS, 30_000);
  await new Promise<void>((resolve, reject) => {
    const framer = new MessageFramer({
      decide: (h) => h.type === MESSAGE_TYPE_METHOD_RETURN && h.replySerial === 1,
      message: () => resolve(),
      unreadable: () => undefined,
    });
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    socket.once('close', () => reject(new Error('the bus closed the connection')));
    socket.write(marshalMessage({
      type: MESSAGE_TYPE_METHOD_CALL, serial: 1, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus', member: 'Hello', signature: '', body: [],
    }));
  });
  socket.removeAllListeners('data');
  socket.pause();
  return socket;
}

async function main(): Promise<void> {
  const connections = Number(process.argv[2] ?? '4');
  const member = process.argv[3] ?? 'Introspect';
  const call = member === 'Introspect'
    ? { path: OBJECT_PATH, interface: 'org.freedesktop.DBus.Introspectable', member }
    : { path: OBJECT_PATH, interface: INTERFACE_NAME, member };
  let sent = 0;
  let running = true;
  const sockets = await Promise.all(Array.from({ length: connections }, () => stalledConnection()));
  process.on('SIGTERM', () => {
    running = false;
    console.log(JSON.stringify({ sent }));
    process.exit(0);
  });
  console.log('stalling');
  await Promise.all(sockets.map(async (socket) => {
    for (let serial = 2; running && !socket.destroyed; serial++) {
      const data = marshalMessage({ type: MESSAGE_TYPE_METHOD_CALL, serial, destination: BUS_NAME, ...call, signature: '', body: [] });
      sent++;
      // The bus's pace: wait while it does not take our calls (it stops reading from us too).
      if (!socket.write(data)) await new Promise((resolve) => socket.once('drain', resolve));
    }
  }));
}

main().catch((err: unknown) => {
  console.error(`stalling caller: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
