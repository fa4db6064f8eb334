// How every part of the service logs: one line per event; stderr for errors (the journal keeps both).
export interface Log {
  info(message: string): void;
  error(message: string): void;
}

export const consoleLog: Log = {
  info: (message) => console.log(message),
  error: (message) => console.error(message),
};
