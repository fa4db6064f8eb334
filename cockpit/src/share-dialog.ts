// SPDX-License-Identifier: GPL-2.0-or-later
// Share: the bridge's name (its default shown), bridged or routed (routed chosen, and bridged not
// offered, where the service says only routed can work: a Wi-Fi station), STP and forward delay under "Advanced", the
// interface's notes and what will happen; then the steps while it runs, and the error with its
// hint if it fails (the dialog stays open, so the user can fix a field and try again).
import { CONFIRM_TIMEOUT_SECONDS, defaultBridgeName, FORWARD_DELAY_HELP, type ListedInterface } from './api';
import { alert, button, h, replaceChildren, spinner } from './dom';
import { errorAlert } from './error-alert';
import type { StepList } from './progress-steps';
import { openModal } from './modal';
import type { ShareOptions, SharedInterfaceService } from './service';
import { _, format } from './i18n';

function field(id: string, label: string, control: HTMLElement, helper?: string): HTMLElement {
  return h('div', { class: 'pf-v6-c-form__group' },
    h('div', { class: 'pf-v6-c-form__group-label' }, h('label', { class: 'pf-v6-c-form__label', for: id }, h('span', { class: 'pf-v6-c-form__label-text' }, label))),
    h('div', { class: 'pf-v6-c-form__group-control' }, control,
      helper === undefined ? null : h('div', { class: 'pf-v6-c-form__helper-text' }, h('div', { class: 'pf-v6-c-helper-text' },
        h('div', { class: 'pf-v6-c-helper-text__item' }, h('span', { class: 'pf-v6-c-helper-text__item-text' }, helper))))));
}

function textInput(id: string, attributes: Record<string, string>): { wrapper: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { id, ...attributes });
  return { wrapper: h('span', { class: 'pf-v6-c-form-control' }, input), input };
}

/** The steps of a Share as the backend in use takes them (the service's Backend property), bridged or routed. */
export function whatWillHappen(nic: string, bridge: string, backend: string, confirms: boolean, routed = false): string[] {
  const safety = confirms ? [format(_('This page then confirms the change over a new connection; if this browser can no longer reach the host, the host undoes the change by itself within $0 s.'), CONFIRM_TIMEOUT_SECONDS)] : [];
  if (routed) {
    return [
      format(_('A bridge $0 for the guests is created by NetworkManager; $1 and its settings stay exactly as they are.'), bridge, nic),
      format(_('The host relays the guests\' DHCP to the LAN\'s server, answers ARP for them on $0 and routes to each: every frame on $0 keeps the host\'s MAC address.'), nic),
      _('A probe guest must get an address from the LAN before the change is kept; otherwise everything is put back as it was.'),
      ...safety,
      format(_('Guests attached to $0 then get addresses from the LAN\'s DHCP server and are reachable from the LAN.'), bridge),
    ];
  }
  const created = backend === 'ifcfg'
    ? format(_('A bridge $0 is created in the network-scripts (ifcfg) files, with $1\'s IP settings and MAC address; $1 becomes its port.'), bridge, nic)
    : format(_('A bridge $0 is created by NetworkManager, with $1\'s IP settings and MAC address; $1 becomes its port.'), bridge, nic);
  return [
    created,
    format(_('The host keeps its addresses, now on $0; its network may pause for a moment.'), bridge),
    _('The result is checked; if it can\'t be verified, everything is put back as it was.'),
    ...safety,
    format(_('Guests attached to $0 are then on the same network as the host.'), bridge),
  ];
}

export function openShareDialog(service: SharedInterfaceService, nic: ListedInterface, taken: ReadonlySet<string>, backend: string, confirms: boolean, steps: StepList, done: (bridge: string | undefined, routed: boolean) => void): void {
  const suggested = defaultBridgeName(nic.name, taken);
  const bridgeInput = textInput('si-bridge', { type: 'text', name: 'bridge', value: suggested, placeholder: suggested === '' ? _('chosen by the service') : suggested, maxlength: '15', autocomplete: 'off', spellcheck: 'false' });
  // Where only routed sharing can work (the listing's mode for an unshared NIC says how Share with
  // mode auto would share it), bridged is not offered.
  const routedOnly = nic.mode === 'routed';
  const bridged = h('input', { class: 'pf-v6-c-radio__input', type: 'radio', id: 'si-mode-bridge', name: 'mode', value: 'bridge', checked: !routedOnly, disabled: routedOnly });
  const routed = h('input', { class: 'pf-v6-c-radio__input', type: 'radio', id: 'si-mode-routed', name: 'mode', value: 'routed', checked: routedOnly });
  const stp = h('input', { class: 'pf-v6-c-check__input', type: 'checkbox', id: 'si-stp', name: 'stp' });
  const delay = textInput('si-forward-delay', { type: 'number', name: 'forward-delay', min: '0', max: '30', value: '0', inputmode: 'numeric' });
  const status = h('div', { class: 'si-status', 'aria-live': 'polite' });
  const whatList = h('ul', { class: 'si-what-list' });
  const showWhat = () => replaceChildren(whatList, ...whatWillHappen(nic.name, suggested === '' ? _('the bridge') : suggested, backend, confirms, routed.checked).map((s) => h('li', {}, s)));
  showWhat();
  for (const radio of [bridged, routed]) radio.addEventListener('change', showWhat);
  let result: string | undefined;
  const modal = openModal(format(_('Share $0'), nic.name), () => done(result, routed.checked));

  const form = h('form', { class: 'pf-v6-c-form', novalidate: true, id: 'si-share-form' },
    field('si-bridge', _('Bridge name'), bridgeInput.wrapper, format(_('Default: $0. At most 15 characters.'), suggested === '' ? _('a free name chosen by the service (br0, br1, …)') : suggested)),
    h('div', { class: 'pf-v6-c-form__group', role: 'radiogroup', 'aria-labelledby': 'si-mode-label' },
      h('div', { class: 'pf-v6-c-form__group-label' }, h('span', { class: 'pf-v6-c-form__label', id: 'si-mode-label' }, h('span', { class: 'pf-v6-c-form__label-text' }, _('How guests reach the LAN')))),
      h('div', { class: 'pf-v6-c-form__group-control' },
        h('div', { class: 'pf-v6-c-radio' }, bridged, h('label', { class: 'pf-v6-c-radio__label', for: 'si-mode-bridge' }, _('Bridged')),
          h('span', { class: 'pf-v6-c-radio__description' }, format(_('$0 becomes a port of the bridge. Needs a link that accepts the guests\' own MAC addresses.'), nic.name))),
        h('div', { class: 'pf-v6-c-radio' }, routed, h('label', { class: 'pf-v6-c-radio__label', for: 'si-mode-routed' }, _('Routed')),
          h('span', { class: 'pf-v6-c-radio__description' }, format(_('$0 stays as it is; the host relays DHCP and routes for the guests. For Wi-Fi, and switch ports that accept only one MAC address.'), nic.name))))),
    h('details', { class: 'si-advanced' },
      h('summary', {}, _('Advanced')),
      h('div', { class: 'pf-v6-c-form__group' },
        h('div', { class: 'pf-v6-c-form__group-control' },
          h('div', { class: 'pf-v6-c-check' }, stp, h('label', { class: 'pf-v6-c-check__label', for: 'si-stp' }, _('Spanning tree protocol (STP)')),
            h('span', { class: 'pf-v6-c-check__description' }, _('Off by default: a single host NIC needs no loop protection.'))))),
      field('si-forward-delay', _('Forward delay (seconds)'), delay.wrapper, _(FORWARD_DELAY_HELP))),
    nic.notes.length === 0 ? null : alert('warning', _('Before you share'), h('ul', { class: 'si-notes-list' }, ...nic.notes.map((n) => h('li', {}, n)))),
    h('div', { class: 'si-what' }, h('h2', { class: 'si-subtitle' }, _('What will happen')),
      whatList),
    status);
  // A submit button of the form (Enter in a field submits too); the form's handler runs it.
  const shareButton = h('button', { type: 'submit', form: 'si-share-form', class: 'pf-v6-c-button pf-m-primary' }, h('span', { class: 'pf-v6-c-button__text' }, _('Share')));
  const cancelButton = button(_('Cancel'), 'link', () => modal.close());
  form.addEventListener('submit', (event) => { event.preventDefault(); void submit(); });
  replaceChildren(modal.body, form);
  replaceChildren(modal.footer, shareButton, cancelButton);
  bridgeInput.input.focus();
  bridgeInput.input.select();

  function options(): ShareOptions {
    const name = bridgeInput.input.value.trim();
    const seconds = Number(delay.input.value || '0');
    return {
      ...(name !== '' && name !== suggested ? { bridge: name } : {}),
      ...(routed.checked ? { mode: 'routed' as const } : {}),
      ...(stp.checked && !routed.checked ? { stp: true } : {}),
      ...(Number.isInteger(seconds) && seconds > 0 ? { forwardDelay: seconds } : {}),
    };
  }

  async function submit(): Promise<void> {
    const chosen = options();
    modal.setBusy(true);
    for (const control of [bridgeInput.input, bridged, routed, stp, delay.input, shareButton, cancelButton]) control.disabled = true;
    steps.clear();
    replaceChildren(status, h('div', { class: 'si-running' }, spinner(_('Sharing')), h('span', {}, format(_('Sharing $0…'), nic.name))), steps.element);
    try {
      result = await service.share(nic.name, chosen, () => steps.confirming());
      modal.setBusy(false);
      modal.close();
    } catch (err) {
      replaceChildren(status, errorAlert(err));
      modal.setBusy(false);
      for (const control of [bridgeInput.input, routed, stp, delay.input, shareButton, cancelButton]) control.disabled = false;
      bridged.disabled = routedOnly;
      bridgeInput.input.focus();
    }
  }

}
