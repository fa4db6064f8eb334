// SPDX-License-Identifier: GPL-2.0-or-later
// The host's programs, and systemd-run for what must run outside our own unit.
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface SystemdTools {
  readonly systemdRun: string;
  readonly systemctl: string;
}

/**
 * systemd-run and systemctl when systemd is the service manager. Then what must outlive us or
 * leave our sandbox (a DHCP client, ifup and what it starts) runs in a transient unit of its own:
 * our unit's processes die with it (idle exit, KillMode=control-group), and its sandbox has no
 * AF_PACKET and a read-only /run and /var/lib/dhclient.
 */
export function underSystemd(): SystemdTools | undefined {
  if (!existsSync('/run/systemd/system')) return undefined;
  const systemdRun = findProgram('systemd-run');
  const systemctl = findProgram('systemctl');
  return systemdRun === undefined || systemctl === undefined ? undefined : { systemdRun, systemctl };
}

/** The program's path in PATH (and the sbin directories a daemon's PATH may lack), if executable. */
export function findProgram(name: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // not in this directory: try the next one
    }
  }
  return undefined;
}
