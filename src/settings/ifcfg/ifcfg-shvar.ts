// SPDX-License-Identifier: GPL-2.0-or-later
// Reader and writer for the shell-variable files of initscripts (ifcfg-*), modelled on
// NetworkManager's ifcfg-rh shvar.c: the file is kept as its list of lines so a rewrite only touches
// the keys we set, and values are unescaped without ever running a shell.
//
// Each value is quoted and unquoted by ifcfg-shvar-quoting.ts.

import { IfcfgError } from './ifcfg-error';
import { escapeShvarValue, unescapeShvarValue } from './ifcfg-shvar-quoting';

export type ShvarLine =
  | { readonly kind: 'assignment'; readonly indent: string; readonly key: string; readonly raw: string }
  | { readonly kind: 'blank'; readonly text: string }
  | { readonly kind: 'comment'; readonly text: string }
  /** Not a blank, a comment or `KEY=value`: kept byte for byte, never interpreted. */
  | { readonly kind: 'unknown'; readonly text: string };

export interface ShvarFile {
  readonly lines: readonly ShvarLine[];
  /** Whether the text ended with a newline, so an untouched file formats back byte for byte. */
  readonly finalNewline: boolean;
}

export interface ShvarProblem {
  /** 1-based, counted in the file as parsed. */
  readonly line: number;
  readonly key: string | undefined;
  readonly message: string;
}

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = /^([ \t]*)([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const BLANK = /^[ \t]*$/;
const COMMENT = /^[ \t]*#/;

export function parseShvar(text: string): ShvarFile {
  const parts = text.split('\n');
  const finalNewline = parts.length > 1 && parts[parts.length - 1] === '';
  if (finalNewline || text === '') parts.pop();
  return { lines: parts.map(parseLine), finalNewline };
}

function parseLine(text: string): ShvarLine {
  const m = ASSIGNMENT.exec(text);
  if (m) return { kind: 'assignment', indent: m[1] ?? '', key: m[2] ?? '', raw: m[3] ?? '' };
  if (BLANK.test(text)) return { kind: 'blank', text };
  if (COMMENT.test(text)) return { kind: 'comment', text };
  return { kind: 'unknown', text };
}

export function isShellName(key: string): boolean {
  return SHELL_NAME.test(key);
}

function lastAssignment(file: ShvarFile, key: string): number {
  for (let i = file.lines.length - 1; i >= 0; i--) {
    const line = file.lines[i];
    if (line?.kind === 'assignment' && line.key === key) return i;
  }
  return -1;
}

/** The value of `key` (the last assignment wins, as in bash), or undefined when it is not set. */
export function shvarGet(file: ShvarFile, key: string): string | undefined {
  const idx = lastAssignment(file, key);
  const line = file.lines[idx];
  if (line?.kind !== 'assignment') return undefined;
  const r = unescapeShvarValue(line.raw);
  if (!r.ok) {
    throw new IfcfgError('InvalidSyntax', `${key} on line ${idx + 1} ${r.reason}.`, {
      key,
      line: idx + 1,
      hint: 'Quote the value with single quotes, or simplify it.',
    });
  }
  return r.value;
}

/** Keys that are set, in the order they first appear. */
export function shvarKeys(file: ShvarFile): string[] {
  const seen = new Set<string>();
  for (const line of file.lines) if (line.kind === 'assignment') seen.add(line.key);
  return [...seen];
}

/** Every key with its value; throws like shvarGet on a value we cannot read. */
export function shvarEntries(file: ShvarFile): Map<string, string> {
  const entries = new Map<string, string>();
  for (const key of shvarKeys(file)) {
    const v = shvarGet(file, key);
    if (v !== undefined) entries.set(key, v);
  }
  return entries;
}

/** Lines bash would treat differently from us: unknown lines and values we cannot read. */
export function shvarProblems(file: ShvarFile): ShvarProblem[] {
  const problems: ShvarProblem[] = [];
  file.lines.forEach((line, idx) => {
    if (line.kind === 'unknown') {
      problems.push({ line: idx + 1, key: undefined, message: `line ${idx + 1} is not a KEY=value assignment` });
    } else if (line.kind === 'assignment') {
      const r = unescapeShvarValue(line.raw);
      if (!r.ok) problems.push({ line: idx + 1, key: line.key, message: `${line.key} on line ${idx + 1} ${r.reason}` });
    }
  });
  return problems;
}

/**
 * Sets `key` to `value`, or removes it when `value` is undefined. Like svSetValue: the last occurrence
 * is rewritten in place and earlier duplicates dropped; a new key goes at the end. A line that already
 * holds the same value is left exactly as it was.
 */
export function shvarSet(file: ShvarFile, key: string, value: string | undefined): ShvarFile {
  if (!isShellName(key)) {
    throw new IfcfgError('InvalidValue', `${JSON.stringify(key)} is not a valid variable name.`, { key });
  }
  if (value === undefined) {
    const lines = file.lines.filter((l) => !(l.kind === 'assignment' && l.key === key));
    return lines.length === file.lines.length ? file : { lines, finalNewline: file.finalNewline };
  }

  const raw = escapeShvarValue(value);
  const idx = lastAssignment(file, key);
  const existing = file.lines[idx];
  if (existing?.kind === 'assignment') {
    const current = unescapeShvarValue(existing.raw);
    const duplicates = file.lines.some((l, i) => i !== idx && l.kind === 'assignment' && l.key === key);
    if (current.ok && current.value === value && !duplicates) return file;
    const lines: ShvarLine[] = [];
    file.lines.forEach((l, i) => {
      if (i === idx) lines.push({ kind: 'assignment', indent: '', key, raw });
      else if (!(l.kind === 'assignment' && l.key === key)) lines.push(l);
    });
    return { lines, finalNewline: file.finalNewline };
  }
  return { lines: [...file.lines, { kind: 'assignment', indent: '', key, raw }], finalNewline: true };
}

function lineText(line: ShvarLine): string {
  return line.kind === 'assignment' ? `${line.indent}${line.key}=${line.raw}` : line.text;
}

function sameLine(a: ShvarLine, b: ShvarLine | undefined): boolean {
  if (b === undefined || a.kind !== b.kind) return false;
  if (a.kind === 'assignment' && b.kind === 'assignment') {
    return a.indent === b.indent && a.key === b.key && a.raw === b.raw;
  }
  return lineText(a) === lineText(b);
}

/**
 * The file's text. It reads itself back before returning: the same lines and the same value for
 * every key, or an Internal error (a line that grew a newline would otherwise turn into two).
 */
export function formatShvar(file: ShvarFile): string {
  const body = file.lines.map(lineText).join('\n');
  const text = file.lines.length > 0 && file.finalNewline ? `${body}\n` : body;

  const back = parseShvar(text);
  const sameLines = back.lines.length === file.lines.length && file.lines.every((l, i) => sameLine(l, back.lines[i]));
  if (!sameLines || !sameValues(file, back)) {
    throw new IfcfgError('Internal', 'The formatted ifcfg file did not read back unchanged.');
  }
  return text;
}

function sameValues(a: ShvarFile, b: ShvarFile): boolean {
  const ka = shvarKeys(a);
  const kb = shvarKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => {
    const ra = rawValue(a, k);
    const rb = rawValue(b, k);
    const va = unescapeShvarValue(ra);
    const vb = unescapeShvarValue(rb);
    // Values we cannot read (kept verbatim from the input) must at least keep their exact text.
    return va.ok && vb.ok ? va.value === vb.value : !va.ok && !vb.ok && ra === rb;
  });
}

function rawValue(file: ShvarFile, key: string): string {
  const line = file.lines[lastAssignment(file, key)];
  return line?.kind === 'assignment' ? line.raw : '';
}
