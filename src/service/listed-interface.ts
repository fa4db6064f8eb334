// SPDX-License-Identifier: GPL-2.0-or-later
// One interface as ListInterfaces describes it: the one definition for the codec next to the spec
// (interface-listing.ts) and for the Cockpit page, which decodes cockpit.dbus's JSON itself. No
// imports, so the page's bundle can take it as it is.

/** One interface as ListInterfaces describes it. */
export interface ListedInterface {
  readonly name: string;
  /** The bridge it is shared through, or ''. */
  readonly bridge: string;
  readonly type: string;
  readonly mac: string;
  readonly carrier: boolean;
  readonly shareable: boolean;
  /** Why it is not shareable; '' when it is. */
  readonly reason: string;
  /** CIDR. */
  readonly addresses: readonly string[];
  /** What sharing would change that a user may not expect. */
  readonly notes: readonly string[];
  /** How it is shared ('bridge' or 'routed'), or how Share with mode auto would share it; '' when it can't be. */
  readonly mode: string;
}
