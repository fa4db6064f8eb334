// Types for the parts of @particle/dbus-next 0.11.4 (pinned) that src/bus uses: its low-level
// connection and its Variant. We require these files directly, never the package's index: the
// index loads MessageBus (lib/bus.js), which loads xml2js, xmlbuilder and sax (megabytes of RSS).
// Only src/bus may import these modules.

declare module '@particle/dbus-next/lib/connection' {
  import type { Socket } from 'node:net';

  namespace createConnection {
    interface Options {
      /** A D-Bus address ('unix:path=…', 'unix:abstract=…', 'tcp:host=…,port=…'); ';' separates fallbacks. */
      busAddress: string;
      /** Off unless asked for; we never send fds, so we never ask. */
      negotiateUnixFd?: boolean;
    }

    /** An incoming message, as lib/message-type.js's Message after marshall-compat's messageToJsFmt. */
    interface IncomingMessage {
      /** 1 method call, 2 method return, 3 error, 4 signal. */
      readonly type: number;
      readonly serial: number | null;
      readonly flags: number;
      readonly path?: string;
      readonly interface?: string;
      readonly member?: string;
      readonly errorName?: string;
      readonly replySerial?: number;
      readonly destination?: string;
      readonly sender?: string;
      /** '' when there is no body. */
      readonly signature: string;
      /** Values in the library's shapes (a{..} as plain objects, 'v' as Variant, 'x'/'t' as bigint). */
      readonly body: unknown[];
    }

    interface Connection {
      /** The socket (net.createConnection): the SASL handshake and, after it, messages go over it. */
      readonly stream: Socket;
      /** After the SASL handshake (the bus said OK and we said BEGIN); messages flow from then on. */
      on(event: 'connect', listener: () => void): this;
      on(event: 'message', listener: (message: IncomingMessage) => void): this;
      /**
       * Socket and handshake errors come with `err` only. A message that could not be turned into
       * a Message comes with a second argument (a description) and is dropped; the stream goes on.
       */
      on(event: 'error', listener: (err: unknown, context?: string) => void): this;
      /** The bus closed its end of the socket. */
      on(event: 'end', listener: () => void): this;
    }
  }

  /** Parses the address and opens the socket; throws for an address it cannot use. */
  function createConnection(options: createConnection.Options): createConnection.Connection;
  export = createConnection;
}

declare module '@particle/dbus-next/lib/variant' {
  /** The library's variant: what its unmarshaller produces for 'v' and what our marshaller takes. */
  export class Variant<T = unknown> {
    constructor(signature: string, value: T);
    signature: string;
    value: T;
  }
}
