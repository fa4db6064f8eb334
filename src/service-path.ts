// SPDX-License-Identifier: GPL-2.0-or-later
// A program that D-Bus activated without systemd starts with an empty environment: with no PATH,
// execvp looks only in /bin and /usr/bin, and ip, nft, iptables, dnsmasq and iproute2's `bridge`
// (in /usr/sbin on Debian) are not found. The daemon and the routed agent take systemd's PATH for
// services then, as they would get under systemd.

/** systemd's PATH for services. */
export const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Gives this process systemd's PATH for services unless it was started with one. */
export function ensureServicePath(): void {
  process.env['PATH'] ??= SERVICE_PATH;
}
