// SPDX-License-Identifier: GPL-2.0-or-later
// A plan's refusal as the tests compare it: the ShareError's code, message and hint.
import { ShareError } from '../../src/bridge/share-error';

export function refusal(fn: () => unknown): { code: string; message: string; hint: string | undefined } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ShareError) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('no refusal');
}
