// SPDX-License-Identifier: GPL-2.0-or-later
// The page's words go through Cockpit's gettext: `_()` for a fixed text, `format(_('… $0 …'), x)`
// for one with values (translators may move $0). The build extracts every `_()` literal into
// po/shared-interface-cockpit.pot (cockpit/extract-pot.mjs); a test finds any text left out.

export const _ = (text: string): string => cockpit.gettext(text);

export function format(template: string, ...values: readonly (string | number)[]): string {
  return cockpit.format(template, [...values]);
}
