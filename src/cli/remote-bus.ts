// SPDX-License-Identifier: GPL-2.0-or-later
// -H, --host [USER@]HOST: the service on another machine, reached as busctl -H and hostnamectl -H
// reach it: `ssh -xT [USER@]HOST systemd-stdio-bridge`, a unixexec: bus address. ssh's own
// configuration (keys, known hosts, jump hosts) applies; its messages go to our stderr.
import { unixexecAddress } from '../dbus-wire/bus-address';

/** Why `host` can't be handed to ssh, or undefined. */
export function hostProblem(host: string): string | undefined {
  if (!/^(?:[A-Za-z0-9._-]+@)?(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])$/.test(host) || host.startsWith('-')) {
    return `'${host}' is not [USER@]HOST`;
  }
  return undefined;
}

/** The bus address of the system bus on `host`, through ssh; undefined: the local system bus. */
export function busAddressFor(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  // The brackets of an IPv6 literal are ours (busctl's syntax too), not ssh's.
  const target = host.replace(/\[([^\]]*)\]$/, '$1');
  return unixexecAddress('ssh', ['-xT', '--', target, 'systemd-stdio-bridge']);
}
