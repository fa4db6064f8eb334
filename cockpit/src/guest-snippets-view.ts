// SPDX-License-Identifier: GPL-2.0-or-later
// For each shared interface: how to attach a guest to its bridge, with copy buttons.
import { guestSnippets } from './api';
import { h, icon } from './dom';
import { jumpLink, type ShellPages } from './shell-pages';
import { _, format } from './i18n';

async function copyText(text: string, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = _('Copied');
  } catch {
    // Outside a secure context the Clipboard API is absent: the user copies by hand.
    status.textContent = _('Select the text and copy it');
  }
  setTimeout(() => { status.textContent = ''; }, 3000);
}

function codeBlock(label: string, text: string): HTMLElement {
  const status = h('span', { class: 'si-copy-status', role: 'status', 'aria-live': 'polite' });
  return h('div', { class: 'pf-v6-c-code-block' },
    h('div', { class: 'pf-v6-c-code-block__header' },
      h('div', { class: 'pf-v6-c-code-block__header-main' }, h('span', { class: 'si-code-label' }, label)),
      h('div', { class: 'pf-v6-c-code-block__actions' },
        status,
        h('div', { class: 'pf-v6-c-code-block__actions-item' },
          h('button', { type: 'button', class: 'pf-v6-c-button pf-m-plain', 'aria-label': format(_('Copy $0'), label), onclick: () => { void copyText(text, status); } },
            h('span', { class: 'pf-v6-c-button__icon' }, icon('copy')))))),
    h('div', { class: 'pf-v6-c-code-block__content' },
      h('pre', { class: 'pf-v6-c-code-block__pre' }, h('code', { class: 'pf-v6-c-code-block__code' }, text))));
}

export function guestSnippetsView(nic: string, bridge: string, pages: ShellPages): HTMLElement {
  const { xml, virtInstall } = guestSnippets(bridge);
  return h('section', { class: 'pf-v6-c-card si-guest', 'data-bridge': bridge, 'aria-labelledby': `guest-${bridge}` },
    h('div', { class: 'pf-v6-c-card__title' }, h('h2', { class: 'pf-v6-c-card__title-text', id: `guest-${bridge}` }, format(_('Attach a guest to $0'), bridge))),
    h('div', { class: 'pf-v6-c-card__body' },
      h('p', {}, format(_('Guests on $0 are on the same network as the host\'s $1. In the guest\'s libvirt domain XML:'), bridge, nic)),
      codeBlock(_('libvirt XML'), xml),
      h('p', {}, _('Or when creating it with virt-install (add your other options):')),
      codeBlock(_('virt-install option'), virtInstall),
      pages.networking || pages.machines
        ? h('p', { class: 'si-jumps' },
          pages.networking ? jumpLink(format(_('$0 in Networking'), bridge), `/network#/${bridge}`) : null,
          pages.machines ? jumpLink(_('Virtual machines'), '/machines') : null)
        : null));
}
