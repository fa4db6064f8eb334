// SPDX-License-Identifier: GPL-2.0-or-later
// Unshare: says what will happen and asks; when the service answers Busy because guests are
// still attached to the bridge, names them and offers to cut them off (force).
import { ERROR_PREFIX, attachedGuests, type ListedInterface } from './api';
import { alert, button, h, replaceChildren, spinner } from './dom';
import { errorAlert } from './error-alert';
import type { StepList } from './progress-steps';
import { openModal } from './modal';
import { _, format } from './i18n';
import type { SharedInterfaceService } from './service';

const BUSY = `${ERROR_PREFIX}.Busy`;

export function openUnshareDialog(service: SharedInterfaceService, nic: ListedInterface, steps: StepList, done: (unshared: boolean) => void): void {
  let unshared = false;
  const modal = openModal(format(_('Unshare $0?'), nic.name), () => done(unshared), 'warning');
  const status = h('div', { class: 'si-status', 'aria-live': 'polite' });
  const unshareButton = button(_('Unshare'), 'danger', () => { void run(false); });
  const cancelButton = button(_('Cancel'), 'link', () => modal.close());
  replaceChildren(modal.body,
    h('p', {}, format(_('The bridge $0 is removed and $1 gets its own network configuration back. Guests attached to $0 lose their network.'), nic.bridge, nic.name)),
    status);
  replaceChildren(modal.footer, unshareButton, cancelButton);
  unshareButton.focus();

  async function run(force: boolean): Promise<void> {
    modal.setBusy(true);
    for (const b of modal.footer.querySelectorAll('button')) b.disabled = true;
    steps.clear();
    replaceChildren(status, h('div', { class: 'si-running' }, spinner(_('Unsharing')), h('span', {}, format(_('Unsharing $0…'), nic.name))), steps.element);
    try {
      await service.unshare(nic.name, force, () => steps.confirming());
      unshared = true;
      modal.setBusy(false);
      modal.close();
    } catch (err) {
      modal.setBusy(false);
      const e = err as cockpit.DBusError;
      const guests = e.name === BUSY ? attachedGuests(e.message ?? '') : [];
      if (guests.length > 0) {
        replaceChildren(status, alert('warning', format(_('Guests are still attached to $0'), nic.bridge),
          h('ul', { class: 'si-guests' }, ...guests.map((g) => h('li', {}, g))),
          h('p', {}, _('Unsharing anyway cuts them off the network. Stop them first, or unshare anyway.'))));
        const force = button(_('Unshare anyway'), 'danger', () => { void run(true); });
        replaceChildren(modal.footer, force, button(_('Cancel'), 'link', () => modal.close()));
        force.focus();
        return;
      }
      replaceChildren(status, errorAlert(err));
      for (const b of modal.footer.querySelectorAll('button')) b.disabled = false;
    }
  }

}
