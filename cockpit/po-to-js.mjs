// SPDX-License-Identifier: GPL-2.0-or-later
// A translator's po/LANG.po as the script cockpit-ws serves to the page for its po.js in that
// language: po.LANG.js, which hands Cockpit's gettext the catalogue (cockpit.locale), in the form
// Cockpit's own po2json writes. Only what the page uses: msgid and msgstr, no plurals or contexts.
import { readFileSync } from 'node:fs';

function unquote(line) {
  return JSON.parse(line.trim());
}

/** msgid → msgstr of a PO file's translated entries (untranslated and fuzzy ones are left out). */
export function parsePo(text) {
  const entries = new Map();
  let msgid, msgstr, field, fuzzy = false;
  const flush = () => {
    if (msgid !== undefined && msgid !== '' && msgstr !== undefined && msgstr !== '' && !fuzzy) entries.set(msgid, msgstr);
    msgid = undefined; msgstr = undefined; field = undefined; fuzzy = false;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#,') && line.includes('fuzzy')) fuzzy = true;
    if (line.startsWith('msgid ')) { if (msgstr !== undefined) flush(); msgid = unquote(line.slice(6)); field = 'msgid'; }
    else if (line.startsWith('msgstr ')) { msgstr = unquote(line.slice(7)); field = 'msgstr'; }
    else if (line.startsWith('"')) { if (field === 'msgid') msgid += unquote(line); else if (field === 'msgstr') msgstr += unquote(line); }
    else if (line.trim() === '') flush();
  }
  flush();
  return entries;
}

export function poScript(language, entries) {
  const data = { '': { language } };
  for (const [id, str] of entries) data[id] = [null, str];
  return `cockpit.locale(${JSON.stringify(data, null, 1)});\n`;
}

export function poFileScript(language, path) {
  return poScript(language, parsePo(readFileSync(path, 'utf8')));
}
