// SPDX-License-Identifier: GPL-2.0-or-later
// The list of the host's interfaces: a PatternFly table that becomes a grid of labelled cells at
// narrow widths (pf-m-grid-md), with Share/Unshare buttons only when the session may change the
// network.
import type { ListedInterface, PendingChange } from './api';
import { button, h } from './dom';
import { _, format } from './i18n';

export interface TableActions {
  readonly share: (nic: ListedInterface) => void;
  readonly unshare: (nic: ListedInterface) => void;
  readonly settle: (nic: ListedInterface, how: 'Confirm' | 'Rollback') => void;
}

function awaiting(change: PendingChange): HTMLElement {
  const until = new Date(change.deadline).toLocaleTimeString();
  const what = change.operation === 'unshare' ? format(_('Unshared, awaiting confirmation: undone at $0'), until) : format(_('Shared through $0, awaiting confirmation: undone at $1'), change.bridge, until);
  return h('span', { class: 'pf-v6-c-label pf-m-orange', 'data-state': 'pending' },
    h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, what)));
}

function sharing(nic: ListedInterface): HTMLElement {
  if (nic.bridge !== '') {
    const routed = nic.mode === 'routed';
    return h('span', { class: 'pf-v6-c-label pf-m-green', 'data-state': 'shared', 'data-mode': routed ? 'routed' : 'bridge' },
      h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, format(routed ? _('Shared routed through $0') : _('Shared through $0'), nic.bridge))));
  }
  if (nic.shareable) {
    return h('span', { class: 'pf-v6-c-label pf-m-blue', 'data-state': 'shareable' },
      h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, _('Can be shared'))));
  }
  return h('span', { class: 'si-not-shareable', 'data-state': 'not-shareable' },
    h('span', { class: 'pf-v6-c-label pf-m-outline' }, h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, _('Not shareable')))),
    ' ', h('span', { class: 'si-reason' }, nic.reason));
}

function cell(label: string, ...content: (Node | string)[]): HTMLTableCellElement {
  return h('td', { class: 'pf-v6-c-table__td', role: 'cell', 'data-label': label }, ...content);
}

function row(nic: ListedInterface, pending: PendingChange | undefined, writable: boolean, busy: ReadonlySet<string>, actions: TableActions): HTMLTableRowElement {
  const actionCell = h('td', { class: 'pf-v6-c-table__td pf-v6-c-table__action', role: 'cell' });
  if (writable && pending !== undefined) {
    actionCell.append(h('span', { class: 'si-actions' },
      button(_('Keep'), 'primary', () => actions.settle(nic, 'Confirm'), { 'aria-label': format(_('Keep the change of $0'), nic.name), disabled: busy.has(nic.name) }),
      button(_('Undo'), 'secondary', () => actions.settle(nic, 'Rollback'), { 'aria-label': format(_('Undo the change of $0'), nic.name), disabled: busy.has(nic.name) })));
  } else if (writable && nic.bridge !== '') {
    actionCell.append(button(_('Unshare'), 'secondary', () => actions.unshare(nic), { 'aria-label': format(_('Unshare $0'), nic.name), disabled: busy.has(nic.name) }));
  } else if (writable && nic.shareable) {
    actionCell.append(button(_('Share'), 'secondary', () => actions.share(nic), { 'aria-label': format(_('Share $0'), nic.name), disabled: busy.has(nic.name) }));
  }
  const notes = nic.notes.length > 0 && nic.bridge === ''
    ? h('ul', { class: 'si-notes pf-v6-c-helper-text' }, ...nic.notes.map((n) => h('li', { class: 'pf-v6-c-helper-text__item pf-m-warning' }, h('span', { class: 'pf-v6-c-helper-text__item-text' }, n))))
    : '';
  return h('tr', { class: 'pf-v6-c-table__tr', role: 'row', 'data-interface': nic.name },
    h('th', { class: 'pf-v6-c-table__th', role: 'rowheader', 'data-label': _('Interface'), scope: 'row' },
      h('span', { class: 'si-name' }, nic.name), h('span', { class: 'si-type' }, nic.type)),
    cell(_('MAC'), h('span', { class: 'si-mono si-nowrap' }, nic.mac === '' ? '—' : nic.mac)),
    cell(_('Addresses'), nic.addresses.length === 0 ? '—' : h('ul', { class: 'si-addresses' }, ...nic.addresses.map((a) => h('li', { class: 'si-mono' }, a)))),
    cell(_('Carrier'), nic.carrier ? _('Yes') : _('No')),
    cell(_('Sharing'), pending === undefined ? sharing(nic) : awaiting(pending), notes),
    actionCell);
}

export function interfaceTable(interfaces: readonly ListedInterface[], pending: ReadonlyMap<string, PendingChange>, writable: boolean, busy: ReadonlySet<string>, actions: TableActions): HTMLTableElement {
  const heads = [_('Interface'), _('MAC'), _('Addresses'), _('Carrier'), _('Sharing')];
  return h('table', { class: 'pf-v6-c-table pf-m-grid-md pf-m-compact', role: 'grid', 'aria-label': _('Network interfaces'), id: 'interfaces' },
    h('thead', { class: 'pf-v6-c-table__thead' },
      h('tr', { class: 'pf-v6-c-table__tr', role: 'row' },
        ...heads.map((text) => h('th', { class: 'pf-v6-c-table__th', role: 'columnheader', scope: 'col' }, text)),
        h('td', { class: 'pf-v6-c-table__td' }, h('span', { class: 'pf-v6-screen-reader' }, _('Actions'))))),
    h('tbody', { class: 'pf-v6-c-table__tbody', role: 'rowgroup' }, ...interfaces.map((nic) => row(nic, pending.get(nic.name), writable, busy, actions))));
}
