// Types for the one part of @particle/dbus-next 0.11.4 (pinned) that src/bus uses: its Variant.
// We require that file directly, never the package's index: the index loads MessageBus
// (lib/bus.js), which loads xml2js, xmlbuilder and sax (megabytes of RSS).
// Only src/bus may import this module.

declare module '@particle/dbus-next/lib/variant' {
  /** The library's variant: what our reader produces for 'v' and what our marshaller takes. */
  export class Variant<T = unknown> {
    constructor(signature: string, value: T);
    signature: string;
    value: T;
  }
}
