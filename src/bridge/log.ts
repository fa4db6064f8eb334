// How every part of the service logs: one line per event; stderr for errors (the journal keeps both).
export interface Log {
  info(message: string): void;
  /** Something went wrong and was handled (a refused message, a change rolled back). */
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLog: Log = {
  info: (message) => console.log(message),
  warn: (message) => console.error(message),
  error: (message) => console.error(message),
};

/** The message of anything thrown, for a log line or an error text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The stack of anything thrown, where it has one: for the log only, never for a caller. */
export function errorDetail(err: unknown): string {
  return err instanceof Error ? err.stack ?? err.message : String(err);
}
