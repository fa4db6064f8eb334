// SPDX-License-Identifier: GPL-2.0-or-later
// Quoting of one shell-variable value in an ifcfg file, modelled on NetworkManager's ifcfg-rh
// shvar.c (svUnescape, svEscape), without ever running a shell.
//
// Where shvar.c and bash disagree we side with bash, because ifup sources these files as root:
//  - only space and tab end an unquoted word (shvar.c also treats \r, \v, \f as blanks);
//  - unquoted `$`, backticks and `~` expand in bash, so we refuse them (shvar.c reads them literally);
//  - `"\'"` keeps its backslash (shvar.c strips it for files an old NM wrote);
//  - `$'\u…'` depends on the locale and `$'\c…'` is bash-only, so both are refused.
// A value we refuse is never guessed at: shvarGet throws and shvarProblems lists it.

import { IfcfgError } from './ifcfg-error';

export type ShvarUnescaped =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly reason: string };

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

