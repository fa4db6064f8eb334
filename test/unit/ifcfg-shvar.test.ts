// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IfcfgError } from '../../src/settings/ifcfg/ifcfg-error';
import {
  formatShvar,
  parseShvar,
  shvarEntries,
  shvarGet,
  shvarKeys,
  shvarProblems,
  shvarSet,
  type ShvarFile,
} from '../../src/settings/ifcfg/ifcfg-shvar';
import { escapeShvarValue, unescapeShvarValue } from '../../src/settings/ifcfg/ifcfg-shvar-quoting';
import { sourceInBash } from '../fixtures/ifcfg/golden';

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ifcfg-shvar-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ifcfgCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof IfcfgError) return e.code;
    throw e;
  }
  return 'no error';
}

// raw text after KEY= → the value bash assigns
const READABLE: readonly (readonly [string, string])[] = [
  ['', ''],
  ['plain', 'plain'],
  ['a#b', 'a#b'],
  ['#x', '#x'],
  ['a=b', 'a=b'],
  ['{x,y}', '{x,y}'],
  ['a*', 'a*'],
  ["'single $(x) `y` \"z\" \\'", 'single $(x) `y` "z" \\'],
  ['"double \\$ \\` \\" \\\\"', 'double $ ` " \\'],
  ['"keep \\a \\\' \\~"', "keep \\a \\' \\~"],
  ['"it\'s ~ fine"', "it's ~ fine"],
  ['a\\ b', 'a b'],
  ['\\$HOME', '$HOME'],
  ["$'tab\\there'", 'tab\there'],
  ["$'nl\\nx'", 'nl\nx'],
  ["$'\\a\\b\\e\\E\\f\\r\\v\\?\\\"\\'\\\\'", '\x07\b\x1b\x1b\f\r\v?"\'\\'],
  ["$'\\x41\\x4a\\x4'", 'AJ\x04'],
  ["$'\\101\\60\\1'", 'A0\x01'],
  ["$'\\xc3'$'\\xa9'", 'é'],
  ["$'\\q\\x'", '\\q\\x'],
  ["a'b'\"c\"$'d'", 'abcd'],
  ['value # comment', 'value'],
  ['value;', 'value'],
  ['value ; # comment', 'value'],
  ['  # only a comment', ''],
  ['"a"#b', 'a#b'],
  ['üñí', 'üñí'],
  ['"ünï \\"q\\""', 'ünï "q"'],
  ['a\r', 'a\r'],
];

const REFUSED: readonly string[] = [
  '$HOME',
  '${HOME}',
  '$(touch p)',
  '`touch p`',
  '"$(touch p)"',
  '"`touch p`"',
  '"$HOME"',
  '~',
  'x:~/y',
  'a~b',
  'a b',
  'a;b',
  'a;;',
  'a && b',
  'a|b',
  '(a b)',
  'a>b',
  'a<b',
  "'unterminated",
  '"unterminated',
  "$'unterminated",
  'ends\\',
  '$"translated"',
  "$'\\u00e9'",
  "$'\\U000000e9'",
  "$'\\cA'",
  "$'a\\0b'",
  "$'\\x00'",
  "$'\\xff'",
  "$'\\777'",
  'nul\0',
  '\ud800',
];

test('unescapes the quoting forms the way bash does', (t) => {
  for (const [raw, value] of READABLE) {
    t.deepEqual(unescapeShvarValue(raw), { ok: true, value }, raw);
  }
});

test('refuses what bash would expand or run, and what we keep strict (any unquoted ~)', (t) => {
  for (const raw of REFUSED) {
    const r = unescapeShvarValue(raw);
    t.false(r.ok, raw);
  }
});

test('bash agrees with every value we read', (t) => {
  withTempDir((dir) => {
    const lines = READABLE.map(([raw], i) => `V${i}=${raw}`);
    const file = join(dir, 'values');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const sourced = sourceInBash(file, dir);
    t.is(sourced.stderr, '');
    t.is(sourced.status, 0);
    READABLE.forEach(([raw], i) => {
      const ours = unescapeShvarValue(raw);
      t.true(ours.ok, raw);
      if (ours.ok) t.is(sourced.vars.get(`V${i}`), ours.value, raw);
    });
    t.deepEqual(readdirSync(dir), ['values']);
  });
});

test('parses lines into assignments, comments, blanks and unknown lines', (t) => {
  const f = parseShvar('# c\n\n  KEY=v\nexport X=1\nA+=b\n\tB=\'x\'\n');
  t.deepEqual(f.lines, [
    { kind: 'comment', text: '# c' },
    { kind: 'blank', text: '' },
    { kind: 'assignment', indent: '  ', key: 'KEY', raw: 'v' },
    { kind: 'unknown', text: 'export X=1' },
    { kind: 'unknown', text: 'A+=b' },
    { kind: 'assignment', indent: '\t', key: 'B', raw: "'x'" },
  ]);
  t.true(f.finalNewline);
  t.deepEqual(shvarKeys(f), ['KEY', 'B']);
  t.deepEqual(
    shvarProblems(f).map((p) => p.line),
    [4, 5],
  );
});

test('formats an untouched file back byte for byte', (t) => {
  const texts = [
    '',
    '\n',
    'A=1',
    'A=1\n',
    'A=1\n\n\n',
    '# only\n',
    'A="x y"  # c\r\nB=2\r\n',
    "weird line (\nA='q'\n  # c\n\tB=$'\\n'\nC=$(bad)\n",
    'A=1\nA=2\n',
  ];
  for (const text of texts) t.is(formatShvar(parseShvar(text)), text, JSON.stringify(text));
});

test('the last assignment wins, as in bash', (t) => {
  const f = parseShvar('A=1\nB=x\nA=2\n');
  t.is(shvarGet(f, 'A'), '2');
  t.is(shvarGet(f, 'missing'), undefined);
  t.deepEqual([...shvarEntries(f)], [
    ['A', '2'],
    ['B', 'x'],
  ]);
});

test('shvarGet refuses a value it cannot read, naming key and line', (t) => {
  const f = parseShvar('A=1\nB=$(touch p)\n');
  const e = t.throws(() => shvarGet(f, 'B'), { instanceOf: IfcfgError });
  t.is(e?.code, 'InvalidSyntax');
  t.is(e?.key, 'B');
  t.is(e?.line, 2);
  t.is(shvarGet(f, 'A'), '1');
});

test('shvarSet rewrites in place, drops duplicates, appends new keys, removes on undefined', (t) => {
  let f: ShvarFile = parseShvar('# head\n  A=1 # note\nB=old\nA=2\nC=keep\n');
  f = shvarSet(f, 'B', 'new value');
  f = shvarSet(f, 'A', '3');
  f = shvarSet(f, 'D', 'd');
  t.is(formatShvar(f), '# head\nB="new value"\nA=3\nC=keep\nD=d\n');
  f = shvarSet(f, 'C', undefined);
  t.is(formatShvar(f), '# head\nB="new value"\nA=3\nD=d\n');
});

test('shvarSet leaves a line alone when it already holds the value', (t) => {
  const f = parseShvar('A="yes"  # keep me\n');
  t.is(shvarSet(f, 'A', 'yes'), f);
  t.is(shvarSet(f, 'Missing', undefined), f);
});

test('shvarSet adds a final newline when it appends to a file without one', (t) => {
  t.is(formatShvar(shvarSet(parseShvar('A=1'), 'B', '2')), 'A=1\nB=2\n');
  t.is(formatShvar(shvarSet(parseShvar(''), 'B', '2')), 'B=2\n');
});

test('shvarSet refuses names that are not shell variables', (t) => {
  for (const key of ['', '1A', 'A-B', 'A B', 'A=B', 'A$(x)']) {
    t.is(ifcfgCode(() => shvarSet(parseShvar(''), key, 'v')), 'InvalidValue', key);
  }
});

test('escapes machine values bare and text in double quotes like svEscape', (t) => {
  t.is(escapeShvarValue('eth0'), 'eth0');
  t.is(escapeShvarValue('192.168.1.1'), '192.168.1.1');
  t.is(escapeShvarValue('fe80::1/64'), 'fe80::1/64');
  t.is(escapeShvarValue('52:54:00:AB:CD:EF'), '52:54:00:AB:CD:EF');
  t.is(escapeShvarValue(''), '""');
  t.is(escapeShvarValue('two words'), '"two words"');
  t.is(escapeShvarValue('~'), '"~"');
  t.is(escapeShvarValue("it's"), '"it\'s"');
  t.is(escapeShvarValue('$(touch /tmp/p)'), '"\\$(touch /tmp/p)"');
  t.is(escapeShvarValue('`id`'), '"\\`id\\`"');
  t.is(escapeShvarValue('say "hi"'), '"say \\"hi\\""');
  t.is(escapeShvarValue('back\\slash'), '"back\\\\slash"');
  t.is(escapeShvarValue('#x'), '"#x"');
  t.is(escapeShvarValue('ünï'), '"ünï"');
});

test('refuses newlines and control characters instead of writing them', (t) => {
  for (const v of ['a\nb', 'a\rb', 'tab\t', '\0', '\x1b[31m', '\x7f', '\u0085', '\ud800']) {
    t.is(ifcfgCode(() => escapeShvarValue(v)), 'UnsafeValue', JSON.stringify(v));
    t.is(ifcfgCode(() => shvarSet(parseShvar(''), 'A', v)), 'UnsafeValue', JSON.stringify(v));
  }
});

const HOSTILE = [
  '$(touch pwned1)',
  '`touch pwned2`',
  '"; touch pwned3; "',
  "'; touch pwned4; '",
  '\\',
  '\\"',
  '$HOME ${HOME} $((1+1))',
  '~root',
  'a && touch pwned5 || true',
  '$\'\\x41\'',
  '!$ !! #',
  ' leading and trailing ',
  'ünïcödé € 𝄞',
  // Written bare: none of these characters is special in an assignment value.
  '%s@x+y,z=w-/:.',
  '=leading-equals',
];

test('hostile values survive being sourced by bash and run nothing', (t) => {
  withTempDir((dir) => {
    let f = parseShvar('');
    HOSTILE.forEach((v, i) => {
      f = shvarSet(f, `H${i}`, v);
    });
    const file = join(dir, 'ifcfg-hostile');
    writeFileSync(file, formatShvar(f));
    const sourced = sourceInBash(file, dir);
    t.is(sourced.stderr, '');
    t.is(sourced.status, 0);
    HOSTILE.forEach((v, i) => t.is(sourced.vars.get(`H${i}`), v, v));
    t.deepEqual(readdirSync(dir), ['ifcfg-hostile']);
    t.deepEqual(shvarEntries(parseShvar(formatShvar(f))), new Map(HOSTILE.map((v, i) => [`H${i}`, v])));
  });
});

test('formatShvar refuses a file that would not read back the same', (t) => {
  const broken: ShvarFile = {
    lines: [{ kind: 'assignment', indent: '', key: 'A', raw: 'x\nB=injected' }],
    finalNewline: true,
  };
  t.is(ifcfgCode(() => formatShvar(broken)), 'Internal');
  const fakeComment: ShvarFile = { lines: [{ kind: 'comment', text: 'A=1' }], finalNewline: true };
  t.is(ifcfgCode(() => formatShvar(fakeComment)), 'Internal');
});
