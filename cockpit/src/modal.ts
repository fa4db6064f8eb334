// SPDX-License-Identifier: GPL-2.0-or-later
// A PatternFly modal box in a native <dialog>: showModal() makes the rest of the page inert,
// keeps keyboard focus inside, and Escape closes it; focus returns to where it was.
import { h, icon, replaceChildren } from './dom';
import { _ } from './i18n';

export interface Modal {
  readonly body: HTMLElement;
  readonly footer: HTMLElement;
  /** While true, Escape and the close button do nothing (a change is running). */
  setBusy(busy: boolean): void;
  close(): void;
}

let counter = 0;

export function openModal(title: string, onClosed: () => void, variant: 'default' | 'warning' = 'default'): Modal {
  const titleId = `si-modal-title-${++counter}`;
  const body = h('div', { class: 'pf-v6-c-modal-box__body' });
  const footer = h('footer', { class: 'pf-v6-c-modal-box__footer' });
  let busy = false;
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
  const dialog = h('dialog', { class: 'si-dialog', 'aria-labelledby': titleId });
  const closeButton = h('button', { type: 'button', class: 'pf-v6-c-button pf-m-plain', 'aria-label': _('Close'), onclick: () => { if (!busy) dialog.close(); } },
    h('span', { class: 'pf-v6-c-button__icon' }, icon('close')));
  replaceChildren(dialog,
    h('div', { class: `pf-v6-c-modal-box pf-m-md${variant === 'warning' ? ' pf-m-warning' : ''}` },
      h('div', { class: 'pf-v6-c-modal-box__close' }, closeButton),
      h('header', { class: 'pf-v6-c-modal-box__header' },
        h('h1', { class: 'pf-v6-c-modal-box__title', id: titleId },
          variant === 'warning' ? h('span', { class: 'pf-v6-c-modal-box__title-icon' }, icon('warning')) : null,
          h('span', { class: 'pf-v6-c-modal-box__title-text' }, title))),
      body,
      footer));
  dialog.addEventListener('cancel', (event) => { if (busy) event.preventDefault(); });
  dialog.addEventListener('close', () => {
    dialog.remove();
    opener?.focus();
    onClosed();
  });
  document.body.append(dialog);
  dialog.showModal();
  return {
    body,
    footer,
    setBusy(value: boolean) {
      busy = value;
      closeButton.disabled = value;
    },
    close() { dialog.close(); },
  };
}
