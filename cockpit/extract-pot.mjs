// SPDX-License-Identifier: GPL-2.0-or-later
// The page's translation template: every `_('…')` and `N_('…')` literal in cockpit/src, and the
// manifest's label and keywords (the shell shows those), into po/shared-interface.pot, with
// where each is used. TypeScript's own parser reads the sources (xgettext's JavaScript lexer
// does not know TypeScript). `--check` writes nothing: it fails when a text a user would read is
// not marked (a string literal with words, outside `_()`), or when `_()` is given anything but
// one literal (an extractor cannot see a computed text).
import ts from 'typescript';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
export const POT_PATH = join(root, 'po', 'shared-interface.pot');
const MARKERS = new Set(['_', 'N_']);

// Strings that are not for people: CSS classes and selectors, element and attribute names,
// D-Bus names, signatures, option keys, paths, identifiers. Anything else with two words, or a
// capitalized word, is a text someone reads.
const NOT_TEXT = [
  /^(pf-v6-|si-)/, /^org\.freedesktop\./, /^[a-z][a-z0-9-]*$/, /^[a-z]+(\{.*\}|\(.*\))?$/, /^\.\.?\//,
  /^[a-z]+:[a-z-]+$/, /^[#/]/, /^http:\/\/www\.w3\.org\//, /^[A-Za-z]+ ?[{(]/, /^\(.*\)$/,
];

// Files whose strings are for programs, not people: the D-Bus client (member and property
// names), and the API's decoding (a malformed reply's message is for a developer, as the
// service's own messages are untranslated; its texts for people are marked N_()).
const NOT_FOR_PEOPLE = new Set(['service.ts', 'api.ts']);

// What puts a text on the page: a single word given to one of these is a label ("Copied").
const SHOWN_BY = new Set(['h', 'button', 'alert', 'spinner', 'openModal', 'field', 'jumpLink', 'codeBlock']);

function shown(node) {
  const parent = node.parent;
  if (parent === undefined) return false;
  if (ts.isCallExpression(parent) && ts.isIdentifier(parent.expression)) return SHOWN_BY.has(parent.expression.text);
  return ts.isBinaryExpression(parent) && ts.isPropertyAccessExpression(parent.left) && parent.left.name.text === 'textContent';
}

function looksLikeText(text, node) {
  if (NOT_TEXT.some((re) => re.test(text))) return false;
  // Words with spaces between them, or one capitalized word where the page shows it.
  return /\p{L}{2,}[\s,:;.!?…]+\p{L}/u.test(text) || (/^\p{Lu}\p{Ll}+$/u.test(text) && shown(node));
}

function sources() {
  const dir = join(here, 'src');
  return readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort().map((f) => join(dir, f));
}

/** The marked texts, each with where it is used; and the problems --check reports. */
export function scan() {
  const messages = new Map();
  const problems = [];
  const add = (text, where) => {
    if (!messages.has(text)) messages.set(text, []);
    messages.get(text).push(where);
  };
  for (const file of sources()) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const at = (node) => `${relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
    const visit = (node, marked) => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && MARKERS.has(node.expression.text)) {
        const [text] = node.arguments;
        if (node.arguments.length === 1 && text !== undefined && (ts.isStringLiteral(text) || ts.isNoSubstitutionTemplateLiteral(text))) add(text.text, at(node));
        // The markers' own declarations pass their parameter on; a constant or a property
        // (FORWARD_DELAY_HELP, view.title) is a text marked N_() where it was made.
        else if (!(text !== undefined && (ts.isIdentifier(text) || ts.isPropertyAccessExpression(text)))) problems.push(`${at(node)}: ${node.expression.text}() takes one string literal, so that it can be extracted`);
        return;
      }
      if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isLiteralTypeNode(node)) return;
      const literal = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) ? node.text
        : ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node) ? node.text : undefined;
      // Property names and keys of objects are identifiers, not texts.
      const isKey = node.parent !== undefined && (ts.isPropertyAssignment(node.parent) || ts.isComputedPropertyName(node.parent)) && node.parent.name === node;
      if (literal !== undefined && !marked && !isKey && !NOT_FOR_PEOPLE.has(basename(file)) && looksLikeText(literal, node)) problems.push(`${at(node)}: a text outside _(): ${JSON.stringify(literal)}`);
      ts.forEachChild(node, (child) => visit(child, marked));
    };
    visit(source, false);
  }
  const manifest = JSON.parse(readFileSync(join(here, 'manifest.json'), 'utf8'));
  for (const [name, entry] of Object.entries(manifest.menu ?? {})) {
    if (typeof entry.label === 'string') add(entry.label, `cockpit/manifest.json:menu.${name}.label`);
    for (const keywords of entry.keywords ?? []) for (const word of keywords.matches ?? []) add(word, `cockpit/manifest.json:menu.${name}.keywords`);
  }
  return { messages, problems };
}

function quote(text) {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function potText(messages) {
  const lines = [
    '# Translation template of the shared-interface Cockpit page.',
    '# Written by cockpit/extract-pot.mjs (npm run build:page); do not edit.',
    '# SPDX-License-Identifier: GPL-2.0-or-later',
    'msgid ""',
    'msgstr ""',
    '"Project-Id-Version: shared-interface\\n"',
    '"MIME-Version: 1.0\\n"',
    '"Content-Type: text/plain; charset=UTF-8\\n"',
    '"Content-Transfer-Encoding: 8bit\\n"',
    '',
  ];
  for (const [text, places] of [...messages].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const place of places) lines.push(`#: ${place}`);
    if (text.includes('$0')) lines.push('#. $0, $1…: values the page puts in, in any order the language needs');
    lines.push(`msgid ${quote(text)}`, 'msgstr ""', '');
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { messages, problems } = scan();
  if (process.argv.includes('--check')) {
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    const stale = readFileSync(POT_PATH, 'utf8') !== potText(messages);
    if (stale) process.stderr.write(`${relative(root, POT_PATH)} is stale: npm run build:page writes it\n`);
    process.exit(problems.length > 0 || stale ? 1 : 0);
  }
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  mkdirSync(dirname(POT_PATH), { recursive: true });
  writeFileSync(POT_PATH, potText(messages));
}
