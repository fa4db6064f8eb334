// SPDX-License-Identifier: GPL-2.0-or-later
// A failed call as the user sees it: a title, the service's message and its hint; a lost
// connection as Cockpit words it. Never a raw D-Bus error name alone.
import { describeError, type ErrorView } from './api';
import { alert, h } from './dom';
import { _, format } from './i18n';

export function errorView(err: unknown): ErrorView {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as cockpit.DBusError;
  if (e.name === undefined && e.problem !== undefined) return { title: _('The connection to the host failed'), message: cockpit.message(e), hint: '' };
  const view = describeError(e.name, e.message);
  // Titles and the page's own hints are English in api.ts (marked there) and translated here.
  return { title: _(view.title), message: view.message === `${view.title}.` ? `${_(view.title)}.` : view.message, hint: view.hint === '' ? '' : _(view.hint) };
}

export function errorAlert(err: unknown): HTMLElement {
  const view = errorView(err);
  return alert('danger', view.title,
    h('p', { class: 'si-error-message' }, view.message),
    view.hint === '' ? null : h('p', { class: 'si-error-hint' }, format(_('Hint: $0'), view.hint)));
}
