// SPDX-License-Identifier: GPL-2.0-or-later
// What the domain says of a settings backend, given as data by the backend itself: the domain
// never tests for a backend by its name, so a new backend needs no change in the domain.

export interface BackendDescription {
  /** How users and the log know it (the Backend property): 'NetworkManager', 'ifcfg'. */
  readonly name: string;
  /** Its transaction's safety net, as the Progress step 'checkpoint' names it ("checkpoint"). */
  readonly safetyNet: string;
  /** What a user does so that the backend manages `iface`, which it leaves alone; undefined: no advice. */
  manageHint?(iface: string): string;
}
