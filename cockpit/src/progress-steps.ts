// SPDX-License-Identifier: GPL-2.0-or-later
// The steps of one change as it runs: the service's Progress signals, and the page's own
// confirmation over a new channel. Shown in the change's dialog, then under "What was done" in
// the notice that follows it (the last steps, e.g. "committed", may come after the reply). A
// step that waits (for polkit, a lease, a confirmation) or failed (rolled back) says so: only a
// step that is done has a check mark.
import type { ProgressStep } from './api';
import { h } from './dom';
import { _ } from './i18n';

export type StepStatus = 'done' | 'waiting' | 'failed';

/** What a step of the service's Progress is: a wait until a later step ends it, a failure, or done. */
export function stepStatus(step: string): StepStatus {
  switch (step) {
    case 'authorizing':
    case 'waiting-for-lease':
    case 'awaiting-confirmation':
    case 'page-confirm':
      return 'waiting';
    case 'rolled-back':
      return 'failed';
    default:
      return 'done';
  }
}

function statusText(status: StepStatus): string {
  switch (status) {
    case 'done': return _('Done:');
    case 'waiting': return _('Waiting:');
    case 'failed': return _('Failed:');
  }
}

export class StepList {
  readonly element = h('ol', { class: 'si-steps' });

  constructor(readonly nic: string) {}

  add(step: ProgressStep): void {
    this.append(step.step, step.message);
  }

  confirming(): void {
    this.append('page-confirm', _('this browser reached the host again over a new channel: confirming the change'));
  }

  clear(): void {
    this.element.replaceChildren();
  }

  get empty(): boolean {
    return this.element.childElementCount === 0;
  }

  private append(step: string, message: string): void {
    const status = stepStatus(step);
    this.element.append(h('li', { 'data-step': step, 'data-status': status },
      h('span', { class: 'pf-v6-screen-reader' }, statusText(status)), ' ', message));
  }
}
