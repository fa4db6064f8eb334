// SPDX-License-Identifier: GPL-2.0-or-later
// The byte stream to a bus: a unix socket, or the stdin and stdout of a unixexec: program, and the
// SASL EXTERNAL handshake on it (we are who the kernel says we are). What flows after BEGIN is the
// connection's (bus-connection.ts).
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { parseBusAddress } from './bus-address';

/**
 * Opens a socket to a D-Bus address and authenticates (SASL EXTERNAL: we are who the kernel
 * says we are). Resolves once BEGIN is sent: from then on the socket carries messages.
 * Exported for tests that must speak the wire protocol themselves.
 */
export async function openAuthenticated(address: string, timeoutMs: number): Promise<Socket> {
  const parsed = parseBusAddress(address);
  if (parsed.transport !== 'unix') throw new Error(`not a unix socket address: '${address}'`);
  const socket = netConnect(parsed.socketPath);
  await authenticate(socket, new Promise((resolve) => socket.once('connect', resolve)), timeoutMs);
  return socket;
}

/**
 * The stream to a D-Bus address, authenticated: a unix socket, or the stdin and stdout of a
 * unixexec: program (e.g. `ssh -xT HOST systemd-stdio-bridge`, whose stderr is ours, so ssh can
 * say why it could not connect). The program ends when the stream does.
 */
export async function openStream(address: string, timeoutMs: number): Promise<Duplex> {
  const parsed = parseBusAddress(address);
  if (parsed.transport === 'unix') return openAuthenticated(address, timeoutMs);
  // Loaded only here: child_process costs every connection to the local bus ~4 ms of start-up.
  const { spawn } = await import('node:child_process');
  const child = spawn(parsed.path, parsed.args, { argv0: parsed.argv0, stdio: ['pipe', 'pipe', 'inherit'] });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  const spawned = new Promise<void>((resolve) => child.once('spawn', () => resolve()));
  child.once('error', (err) => stream.destroy(err));
  stream.once('close', () => { if (child.exitCode === null && child.signalCode === null) child.kill(); });
  try {
    await authenticate(stream, spawned, timeoutMs);
  } catch (err) {
    child.kill();
    throw err;
  }
  return stream;
}

/** The SASL EXTERNAL handshake on `stream`, once `opened` resolves. */
function authenticate(stream: Duplex, opened: Promise<unknown>, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      stream.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end < 0) {
        if (received.length > 512) fail('the bus sent an over-long authentication line');
        return;
      }
      const line = received.slice(0, end);
      stream.off('data', onData);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (!/^OK [0-9a-f]{32}$/.test(line)) return fail(`the bus refused authentication: ${line.slice(0, 80)}`);
      clearTimeout(timer);
      stream.write('BEGIN\r\n');
      // The bus sends nothing more until we send Hello, so nothing after the line is lost.
      resolve();
    };
    const onError = (err: Error) => fail(err.message);
    const onClose = () => fail('the bus closed the connection during authentication');
    stream.on('data', onData);
    stream.on('error', onError);
    stream.on('close', onClose);
    void opened.then(() => {
      const uid = String(process.getuid?.() ?? 0);
      stream.write(`\0AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\n`);
    });
  });
}
