// SPDX-License-Identifier: GPL-2.0-or-later
// How the CLI writes: JSON documents with a schema version, tables that fit the terminal, wrapped text.
import type { CliOutput } from './command';

/**
 * The version of every --json document's layout. Bumped only when a field changes meaning or goes
 * away; new fields may appear without a bump (readers ignore what they don't know).
 */
export const JSON_SCHEMA = 1;

export function writeJson(output: CliOutput, document: Record<string, unknown>): void {
  output.out(JSON.stringify({ schema: JSON_SCHEMA, ...document }));
}

/** The terminal's width: COLUMNS, else the tty's, else 80 (a pipe). */
export function terminalColumns(env: NodeJS.ProcessEnv, ttyColumns: number | undefined): number {
  const fromEnv = Number(env['COLUMNS']);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return ttyColumns !== undefined && ttyColumns > 0 ? ttyColumns : 80;
}

const MIN_LAST_COLUMN = 8;

/**
 * A table whose cells may hold several lines (one address per line). When a row is wider than
 * `columns`, the last column is cut with '…' (not below its header's width): the earlier ones stay
 * whole so rows stay readable.
 */
export function formatTable(header: readonly string[] | undefined, rows: ReadonlyArray<ReadonlyArray<readonly string[]>>, columns: number): string[] {
  const all = header === undefined ? rows : [header.map((h) => [h]), ...rows];
  const count = all[0]?.length ?? 0;
  const widths = Array.from({ length: count }, (_, col) => Math.max(0, ...all.map((row) => Math.max(0, ...(row[col] ?? []).map((l) => l.length)))));
  const before = widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0);
  // The header is never cut: a column whose name is unreadable is worse than a wide line.
  const last = Math.max(MIN_LAST_COLUMN, header?.[count - 1]?.length ?? 0, columns - before);
  const lines: string[] = [];
  for (const row of all) {
    const height = Math.max(1, ...row.map((cell) => cell.length));
    for (let i = 0; i < height; i++) {
      const cells = row.map((cell, col) => {
        const text = cell[i] ?? '';
        if (col < count - 1) return text.padEnd(widths[col] ?? 0);
        return text.length > last ? `${text.slice(0, last - 1)}…` : text;
      });
      lines.push(cells.join('  ').trimEnd());
    }
  }
  return lines;
}

/** Words wrapped to `columns`, continuation lines indented by `indent` spaces. */
export function wrap(text: string, columns: number, indent = 2): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w)) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (candidate.length > columns && line.trim() !== '') {
      lines.push(line);
      line = `${' '.repeat(indent)}${word}`;
    } else {
      line = candidate;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
