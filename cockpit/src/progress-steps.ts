// The steps of a change in progress, in its dialog: the service's Progress signals, and the
// page's own last step, the confirmation through a new channel.
import type { ProgressStep } from './api';
import { h } from './dom';

export function progressStep(steps: HTMLElement, step: ProgressStep): void {
  steps.append(h('li', { 'data-step': step.step }, step.message));
}

export function confirming(steps: HTMLElement): void {
  steps.append(h('li', { 'data-step': 'page-confirm' }, 'Reached the host again over a new channel: confirming the change'));
}
