// The parts of Cockpit's base1/cockpit.js the page uses (cockpit.js is served by cockpit-ws at
// ../base1/cockpit.js and defines the global `cockpit`; it ships no typings of its own in 287).
// Cockpit's promises are thenables, so they can be awaited.
declare namespace cockpit {
  interface DBusMatch {
    readonly path?: string;
    readonly path_namespace?: string;
    readonly interface?: string;
    readonly member?: string;
  }
  interface CallOptions {
    readonly type?: string;
    readonly flags?: string;
    readonly timeout?: number;
  }
  /** A rejected call: a D-Bus error (name and message) or a Cockpit problem (no name). */
  interface DBusError {
    readonly name?: string;
    readonly message?: string;
    readonly problem?: string;
  }
  interface Subscription {
    remove(): void;
  }
  interface DBusClient {
    call(path: string, iface: string, method: string, args: readonly unknown[], options?: CallOptions): PromiseLike<unknown[]>;
    subscribe(match: DBusMatch, callback: (path: string, iface: string, signal: string, args: unknown[]) => void): Subscription;
    addEventListener(event: 'close', listener: (event: unknown, options: { problem?: string; message?: string }) => void): void;
    /** The bus name's owner changed: its unique name, or null when it has none. */
    addEventListener(event: 'owner', listener: (event: unknown, owner: string | null) => void): void;
    close(): void;
  }
  interface DBusOptions {
    readonly bus?: 'system' | 'session' | 'internal';
    readonly superuser?: 'try' | 'require';
  }
  function dbus(name: string | null, options?: DBusOptions): DBusClient;

  /** Whether the session may administer the host (Cockpit's "administrative access"). */
  interface Permission {
    /** null until known. */
    readonly allowed: boolean | null;
    addEventListener(event: 'changed', listener: () => void): void;
  }
  function permission(options: { readonly admin: boolean }): Permission;

  /** The text of a Cockpit problem code (disconnected, access-denied, …). */
  function message(problem: { readonly problem?: string; readonly message?: string }): string;
  function gettext(text: string): string;
  /** `$0`, `$1`… replaced by the values, in the order given. */
  function format(template: string, args: readonly (string | number)[]): string;
  /** Shows another page of the shell (e.g. "/network"), as its navigation would. */
  function jump(path: string, host?: string): void;
}
