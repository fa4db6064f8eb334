// SPDX-License-Identifier: GPL-2.0-or-later
// Reader and writer for the shell-variable files of initscripts (ifcfg-*), modelled on
// NetworkManager's ifcfg-rh shvar.c: the file is kept as its list of lines so a rewrite only touches
// the keys we set, and values are unescaped without ever running a shell.
//
// Where shvar.c and bash disagree we side with bash, because ifup sources these files as root:
//  - only space and tab end an unquoted word (shvar.c also treats \r, \v, \f as blanks);
//  - unquoted `$`, backticks and `~` expand in bash, so we refuse them (shvar.c reads them literally);
//  - `"\'"` keeps its backslash (shvar.c strips it for files an old NM wrote);
//  - `$'\u…'` depends on the locale and `$'\c…'` is bash-only, so both are refused.
// A value we refuse is never guessed at: shvarGet throws and shvarProblems lists it.

import { IfcfgError } from './ifcfg-error';

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

export type ShvarUnescaped =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly reason: string };

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
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Machine values (names, addresses, numbers, yes/no) are written bare; nothing here is special to bash
// in an assignment value (no `~`, `$`, quotes, blanks or metacharacters).
const BARE_SAFE = /^[A-Za-z0-9_.,:/@%+=-]+$/;
// C0, DEL and C1: a newline would need $'…' and the rest make files lie on a terminal; we refuse them all.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const DOUBLE_QUOTE_SPECIAL = /["\\$`]/g;

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the value instead of silently dropping it.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

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

/** The value bash would assign for the text after `KEY=`, or why we will not say. */
export function unescapeShvarValue(raw: string): ShvarUnescaped {
  if (LONE_SURROGATE.test(raw)) return fail('is not valid Unicode text');
  if (raw.includes('\0')) return fail('contains a NUL character');
  if (raw.includes('\n')) return fail('spans lines');

  // Work on code points and collect bytes: $'\xHH' and octal escapes produce bytes, and a character
  // may be split across two such escapes.
  const cs = Array.from(raw);
  const at = (k: number): string => cs[k] ?? '';
  const out: number[] = [];
  const text = (s: string): void => {
    for (const b of encoder.encode(s)) out.push(b);
  };

  let i = 0;
  while (i < cs.length) {
    const c = at(i);

    if (c === ' ' || c === '\t' || c === ';') {
      // The word ends here; only blanks, one `;` and a comment may follow (as in shvar.c), else bash
      // would run the rest as a command.
      let semicolon = c === ';';
      let j = i + 1;
      for (; j < cs.length; j++) {
        const d = at(j);
        if (d === ' ' || d === '\t') continue;
        if (d === ';' && !semicolon) {
          semicolon = true;
          continue;
        }
        break;
      }
      if (j < cs.length && at(j) !== '#') return fail('has text after the value that bash would run as a command');
      break;
    }

    if (c === '\\') {
      const e = at(i + 1);
      if (e === '') return fail('ends with a backslash (line continuation is not supported)');
      text(e);
      i += 2;
      continue;
    }

    if (c === "'") {
      const end = cs.indexOf("'", i + 1);
      if (end < 0) return fail('has an unterminated single quote');
      text(cs.slice(i + 1, end).join(''));
      i = end + 1;
      continue;
    }

    if (c === '"') {
      i++;
      for (;;) {
        const d = at(i);
        if (d === '') return fail('has an unterminated double quote');
        if (d === '"') {
          i++;
          break;
        }
        if (d === '$' || d === '`') return fail('uses shell expansion inside double quotes');
        if (d === '\\') {
          const e = at(i + 1);
          if (e === '') return fail('has an unterminated double quote');
          // Inside double quotes bash only removes the backslash before these four.
          text(e === '$' || e === '`' || e === '"' || e === '\\' ? e : `\\${e}`);
          i += 2;
          continue;
        }
        text(d);
        i++;
      }
      continue;
    }

    if (c === '$') {
      if (at(i + 1) !== "'") return fail('uses unquoted $, which bash would expand');
      const r = readAnsiC(cs, i + 2, out);
      if (typeof r === 'string') return fail(r);
      i = r;
      continue;
    }

    if (c === '`') return fail('uses command substitution');
    if (c === '~') return fail('uses an unquoted ~, which bash may expand to a home directory');
    if (c === '|' || c === '&' || c === '(' || c === ')' || c === '<' || c === '>') {
      return fail(`uses the unquoted shell metacharacter ${c}`);
    }

    text(c);
    i++;
  }

  return decodeUtf8(out);
}

// Reads the body of $'…' starting after the opening quote; returns the index after the closing quote,
// or the reason it cannot be read.
function readAnsiC(cs: readonly string[], start: number, out: number[]): number | string {
  const at = (k: number): string => cs[k] ?? '';
  const byte = (b: number): string | undefined => {
    // bash ends the string at a NUL; we refuse rather than truncate.
    if (b === 0) return 'contains an escaped NUL character';
    out.push(b);
    return undefined;
  };
  const text = (s: string): void => {
    for (const b of encoder.encode(s)) out.push(b);
  };

  let i = start;
  for (;;) {
    const d = at(i);
    if (d === '') return "has an unterminated $'…' quote";
    if (d === "'") return i + 1;
    if (d !== '\\') {
      text(d);
      i++;
      continue;
    }
    const e = at(i + 1);
    if (e === '') return "has an unterminated $'…' quote";
    i += 2;
    const simple = ANSI_C_SIMPLE.get(e);
    if (simple !== undefined) {
      const err = byte(simple);
      if (err) return err;
      continue;
    }
    if (e === 'c') return "uses a $'\\c' control escape, which only bash understands";
    if (e === 'u' || e === 'U') return "uses a $'\\u' escape, whose meaning depends on the locale";
    if (e === 'x') {
      let v = 0;
      let digits = 0;
      while (digits < 2 && /^[0-9A-Fa-f]$/.test(at(i))) {
        v = v * 16 + parseInt(at(i), 16);
        i++;
        digits++;
      }
      if (digits === 0) {
        text('\\x');
        continue;
      }
      const err = byte(v);
      if (err) return err;
      continue;
    }
    if (/^[0-7]$/.test(e)) {
      let v = parseInt(e, 8);
      for (let digits = 1; digits < 3 && /^[0-7]$/.test(at(i)); digits++) {
        v = v * 8 + parseInt(at(i), 8);
        i++;
      }
      // Like bash: \777 keeps only the low byte.
      const err = byte(v & 0xff);
      if (err) return err;
      continue;
    }
    // An unknown escape stays as written, backslash included.
    text(`\\${e}`);
  }
}

const ANSI_C_SIMPLE: ReadonlyMap<string, number> = new Map([
  ['a', 0x07],
  ['b', 0x08],
  ['e', 0x1b],
  ['E', 0x1b],
  ['f', 0x0c],
  ['n', 0x0a],
  ['r', 0x0d],
  ['t', 0x09],
  ['v', 0x0b],
  ['?', 0x3f],
  ['"', 0x22],
  ["'", 0x27],
  ['\\', 0x5c],
]);

function decodeUtf8(bytes: readonly number[]): ShvarUnescaped {
  try {
    return { ok: true, value: strictDecoder.decode(Uint8Array.from(bytes)) };
  } catch (e) {
    if (e instanceof TypeError) return fail('is not valid UTF-8');
    throw e;
  }
}

function fail(reason: string): ShvarUnescaped {
  return { ok: false, reason };
}

/**
 * The text to put after `KEY=` so that bash and shvar.c both read back exactly `value`: bare when it
 * is a plain machine value, otherwise double quotes with `"` `\` `$` and backtick escaped (svEscape's
 * form). Newlines and other control characters are refused instead of using $'…': a file root sources
 * is easier to trust when every value is one visible line.
 */
export function escapeShvarValue(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new IfcfgError('UnsafeValue', 'The value is not valid Unicode text.');
  if (CONTROL.test(value)) {
    throw new IfcfgError('UnsafeValue', 'The value contains a newline or another control character.', {
      hint: 'Use a value on a single line without control characters.',
    });
  }
  let escaped: string;
  if (value === '') escaped = '""';
  else if (BARE_SAFE.test(value)) escaped = value;
  else escaped = `"${value.replace(DOUBLE_QUOTE_SPECIAL, '\\$&')}"`;

  const back = unescapeShvarValue(escaped);
  if (!back.ok || back.value !== value) {
    throw new IfcfgError('Internal', `Escaping a value did not read back unchanged (${JSON.stringify(value)}).`);
  }
  return escaped;
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
