// SPDX-License-Identifier: GPL-2.0-or-later
// The list of the host's interfaces: a PatternFly table that becomes a grid of labelled cells at
// narrow widths (pf-m-grid-md), with Share/Unshare buttons only when the session may change the
// network.
import type { ListedInterface, PendingChange } from './api';
import { button, h } from './dom';

export interface TableActions {
  readonly share: (nic: ListedInterface) => void;
  readonly unshare: (nic: ListedInterface) => void;
  readonly settle: (nic: ListedInterface, how: 'Confirm' | 'Rollback') => void;
}

function awaiting(change: PendingChange): HTMLElement {
  const until = new Date(change.deadline).toLocaleTimeString();
  const what = change.operation === 'unshare' ? 'Unshared' : `Shared through ${change.bridge}`;
  return h('span', { class: 'pf-v6-c-label pf-m-orange', 'data-state': 'pending' },
    h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, `${what}, awaiting confirmation: undone at ${until}`)));
}

function sharing(nic: ListedInterface): HTMLElement {
  if (nic.bridge !== '') {
    return h('span', { class: 'pf-v6-c-label pf-m-green', 'data-state': 'shared' },
      h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, `Shared through ${nic.bridge}`)));
  }
  if (nic.shareable) {
    return h('span', { class: 'pf-v6-c-label pf-m-blue', 'data-state': 'shareable' },
      h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, 'Can be shared')));
  }
  return h('span', { class: 'si-not-shareable', 'data-state': 'not-shareable' },
    h('span', { class: 'pf-v6-c-label pf-m-outline' }, h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, 'Not shareable'))),
    ' ', h('span', { class: 'si-reason' }, nic.reason));
}

function cell(label: string, ...content: (Node | string)[]): HTMLTableCellElement {
  return h('td', { class: 'pf-v6-c-table__td', role: 'cell', 'data-label': label }, ...content);
}

function row(nic: ListedInterface, pending: PendingChange | undefined, writable: boolean, busy: ReadonlySet<string>, actions: TableActions): HTMLTableRowElement {
  const actionCell = h('td', { class: 'pf-v6-c-table__td pf-v6-c-table__action', role: 'cell' });
  if (writable && pending !== undefined) {
    actionCell.append(h('span', { class: 'si-actions' },
      button('Keep', 'primary', () => actions.settle(nic, 'Confirm'), { 'aria-label': `Keep the change of ${nic.name}`, disabled: busy.has(nic.name) }),
      button('Undo', 'secondary', () => actions.settle(nic, 'Rollback'), { 'aria-label': `Undo the change of ${nic.name}`, disabled: busy.has(nic.name) })));
  } else if (writable && nic.bridge !== '') {
    actionCell.append(button('Unshare', 'secondary', () => actions.unshare(nic), { 'aria-label': `Unshare ${nic.name}`, disabled: busy.has(nic.name) }));
  } else if (writable && nic.shareable) {
    actionCell.append(button('Share', 'secondary', () => actions.share(nic), { 'aria-label': `Share ${nic.name}`, disabled: busy.has(nic.name) }));
  }
  const notes = nic.notes.length > 0 && nic.bridge === ''
    ? h('ul', { class: 'si-notes pf-v6-c-helper-text' }, ...nic.notes.map((n) => h('li', { class: 'pf-v6-c-helper-text__item pf-m-warning' }, h('span', { class: 'pf-v6-c-helper-text__item-text' }, n))))
    : '';
  return h('tr', { class: 'pf-v6-c-table__tr', role: 'row', 'data-interface': nic.name },
    h('th', { class: 'pf-v6-c-table__th', role: 'rowheader', 'data-label': 'Interface', scope: 'row' },
      h('span', { class: 'si-name' }, nic.name), h('span', { class: 'si-type' }, nic.type)),
    cell('MAC', h('span', { class: 'si-mono si-nowrap' }, nic.mac === '' ? '—' : nic.mac)),
    cell('Addresses', nic.addresses.length === 0 ? '—' : h('ul', { class: 'si-addresses' }, ...nic.addresses.map((a) => h('li', { class: 'si-mono' }, a)))),
    cell('Carrier', nic.carrier ? 'Yes' : 'No'),
    cell('Sharing', pending === undefined ? sharing(nic) : awaiting(pending), notes),
    actionCell);
}

export function interfaceTable(interfaces: readonly ListedInterface[], pending: ReadonlyMap<string, PendingChange>, writable: boolean, busy: ReadonlySet<string>, actions: TableActions): HTMLTableElement {
  const heads = ['Interface', 'MAC', 'Addresses', 'Carrier', 'Sharing'];
  return h('table', { class: 'pf-v6-c-table pf-m-grid-md pf-m-compact', role: 'grid', 'aria-label': 'Network interfaces', id: 'interfaces' },
    h('thead', { class: 'pf-v6-c-table__thead' },
      h('tr', { class: 'pf-v6-c-table__tr', role: 'row' },
        ...heads.map((text) => h('th', { class: 'pf-v6-c-table__th', role: 'columnheader', scope: 'col' }, text)),
        h('td', { class: 'pf-v6-c-table__td' }, h('span', { class: 'pf-v6-screen-reader' }, 'Actions')))),
    h('tbody', { class: 'pf-v6-c-table__tbody', role: 'rowgroup' }, ...interfaces.map((nic) => row(nic, pending.get(nic.name), writable, busy, actions))));
}
