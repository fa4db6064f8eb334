// SPDX-License-Identifier: GPL-2.0-or-later
// The steps of one change as it runs: the service's Progress signals, and the page's own
// confirmation over a new channel. Shown in the change's dialog, then under "What was done" in
// the notice that follows it (the last steps, e.g. "committed", may come after the reply).
import type { ProgressStep } from './api';
import { h } from './dom';

export class StepList {
  readonly element = h('ol', { class: 'si-steps' });

  constructor(readonly nic: string) {}

  add(step: ProgressStep): void {
    this.element.append(h('li', { 'data-step': step.step }, step.message));
  }

  confirming(): void {
    this.element.append(h('li', { 'data-step': 'page-confirm' }, 'this browser reached the host again over a new channel: confirming the change'));
  }

  clear(): void {
    this.element.replaceChildren();
  }

  get empty(): boolean {
    return this.element.childElementCount === 0;
  }
}
