// SPDX-License-Identifier: GPL-2.0-or-later
// How an error's message and its hint travel in the one string a D-Bus error carries: the message,
// then the hint on a line of its own that starts with "Hint: " (the API's man page says so). The
// service formats it once, at the wire; clients (the CLI, the Cockpit page) parse it back once.
// Pure, with no imports, so the page's bundle can take it too.

export const HINT_PREFIX = 'Hint: ';

/** A message a user reads, and what they can do about it. */
export interface ErrorText {
  readonly message: string;
  readonly hint?: string;
}

/** The wire text of a message and an optional hint. */
export function formatErrorMessage(message: string, hint?: string): string {
  return hint === undefined ? message : `${message}\n${HINT_PREFIX}${hint}`;
}

/** The message and hint of a wire text; another service's message (no "Hint: " line) is all message. */
export function parseErrorMessage(text: string): ErrorText {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(HINT_PREFIX));
  if (at < 0) return { message: text };
  const hint = lines.slice(at).map((l) => (l.startsWith(HINT_PREFIX) ? l.slice(HINT_PREFIX.length) : l)).join('\n');
  return { message: lines.slice(0, at).join('\n'), hint };
}
