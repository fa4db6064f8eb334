// SPDX-License-Identifier: GPL-2.0-or-later
// Above the table: a filter box, the "Show all interfaces" switch (ListInterfacesFiltered's all:
// also the loopback, taps, veths unmanaged or with both ends here, and ports), and how many rows are shown of how many.
// Below it: "Show more" while rows are left out. PatternFly's toolbar, text input group and switch.
import { button, h, icon } from './dom';
import { _, format } from './i18n';
import { ROWS_PER_PAGE, type ListingView } from './listing-view';

export interface ListingControls {
  readonly filter: string;
  readonly showAll: boolean;
  readonly filterChanged: (filter: string) => void;
  readonly showAllChanged: (showAll: boolean) => void;
}

function filterBox(controls: ListingControls): HTMLElement {
  const input = h('input', {
    class: 'pf-v6-c-text-input-group__text-input', type: 'search', id: 'si-filter', 'aria-label': _('Filter interfaces'),
    placeholder: _('Filter by name, type or address'), autocomplete: 'off', spellcheck: 'false',
  });
  input.value = controls.filter;
  input.addEventListener('input', () => controls.filterChanged(input.value));
  return h('div', { class: 'pf-v6-c-text-input-group' },
    h('div', { class: 'pf-v6-c-text-input-group__main pf-m-icon' },
      h('span', { class: 'pf-v6-c-text-input-group__text' },
        h('span', { class: 'pf-v6-c-text-input-group__icon' }, icon('search')), input)));
}

function showAllSwitch(controls: ListingControls): HTMLElement {
  const input = h('input', { class: 'pf-v6-c-switch__input', type: 'checkbox', role: 'switch', id: 'si-show-all', 'aria-label': _('Show all interfaces') });
  input.checked = controls.showAll;
  input.addEventListener('change', () => controls.showAllChanged(input.checked));
  return h('label', { class: 'pf-v6-c-switch', for: 'si-show-all', title: _('Also the loopback, tun and tap devices, veths unmanaged or with their other end on this host, and ports of bridges, bonds and teams') },
    input,
    h('span', { class: 'pf-v6-c-switch__toggle' }),
    h('span', { class: 'pf-v6-c-switch__label', 'aria-hidden': 'true' }, _('Show all interfaces')));
}

/** What the table shows of what there is (worded without plurals: one text for any count). */
function countText(view: ListingView, filter: string): string {
  if (filter.trim() === '') {
    return view.rows.length === view.total ? format(_('Interfaces: $0'), view.total) : format(_('Showing $0 of $1 interfaces'), view.rows.length, view.total);
  }
  return view.rows.length === view.matching
    ? format(_('Matching: $0 of $1'), view.matching, view.total)
    : format(_('Showing $0 of $1 matching ($2 in all)'), view.rows.length, view.matching, view.total);
}

export function listingToolbar(view: ListingView, controls: ListingControls): HTMLElement {
  return h('div', { class: 'pf-v6-c-toolbar si-toolbar' },
    h('div', { class: 'pf-v6-c-toolbar__content' },
      h('div', { class: 'pf-v6-c-toolbar__content-section' },
        h('div', { class: 'pf-v6-c-toolbar__item si-filter' }, filterBox(controls)),
        h('div', { class: 'pf-v6-c-toolbar__item' }, showAllSwitch(controls)),
        h('div', { class: 'pf-v6-c-toolbar__item pf-m-align-end si-count', role: 'status', id: 'si-count' }, countText(view, controls.filter)))));
}

/** Below the table while rows are left out: a button for the next page of them. */
export function moreRows(view: ListingView, showMore: () => void): HTMLElement | null {
  const left = view.matching - view.rows.length;
  if (left <= 0) return null;
  return h('div', { class: 'si-more' },
    button(format(_('Show $0 more'), Math.min(left, ROWS_PER_PAGE)), 'link', showMore, { 'aria-label': _('Show more interfaces') }));
}

/** In place of the rows when the filter matches none. */
export function noMatch(filter: string): HTMLElement {
  return h('div', { class: 'si-no-match', role: 'status' }, format(_('No interface matches “$0”.'), filter.trim()));
}
