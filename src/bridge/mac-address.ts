// SPDX-License-Identifier: GPL-2.0-or-later
// The one pattern for a MAC address as the kernel, iproute2, NetworkManager and ifcfg files write
// it: six pairs of hex digits separated by ':'.
const MAC = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

export function isMacAddress(text: string): boolean {
  return MAC.test(text);
}
