// SPDX-License-Identifier: GPL-2.0-or-later
// What a change reports while it runs, step by step (the D-Bus adapter turns each report into a
// Progress signal): clients show it, nobody has to poll.

/** The steps of a change, in the order they happen; a step may be skipped. */
export const PROGRESS_STEPS = [
  'authorizing',
  'mode-chosen',
  'checkpoint',
  'profiles-added',
  'routing',
  'probe-leased',
  'bridge-up',
  'nic-restored',
  'waiting-for-lease',
  'gateway-answers',
  'awaiting-confirmation',
  'committed',
  'rolled-back',
] as const;

export type ProgressStep = (typeof PROGRESS_STEPS)[number];

/** Reports one step of a change of one NIC, with a line a user can read. */
export type Progress = (step: ProgressStep, message: string) => void;
