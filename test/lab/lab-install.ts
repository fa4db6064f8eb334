// SPDX-License-Identifier: GPL-2.0-or-later
// The service as a package would install it, inside a lab with the overlay (Lab.start({overlay:
// true})): `make install` into the lab's own /usr, then the bus and polkit read the installed
// files. And busctl as an admin or an unprivileged user would run it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';
import { REPO_ROOT, type Lab } from './lab';

/** The daemon's V8 flags, from bin/shared-interfaced's #! line (the installed wrapper passes them). */
export const DAEMON_NODE_FLAGS = (readFileSync(join(REPO_ROOT, 'bin', 'shared-interfaced'), 'utf8').split('\n')[0] ?? '').replace(/^#!\/usr\/bin\/env -S node */, '');

export const INSTALLED = {
  daemon: '/usr/libexec/shared-interfaced',
  cli: '/usr/bin/shared-interface',
  firewallHook: '/usr/libexec/shared-interface-firewall',
  routedAgent: '/usr/libexec/shared-interface-routed',
  routedUnit: '/usr/lib/systemd/system/shared-interface-routed@.service',
  nmDispatcher: '/usr/lib/NetworkManager/dispatcher.d/50-shared-interface-firewall',
  ifupLocal: '/usr/libexec/shared-interface/ifup-local',
  ifdownLocal: '/usr/libexec/shared-interface/ifdown-local',
  appDir: '/usr/share/shared-interface',
  policy: `/usr/share/polkit-1/actions/${BUS_NAME}.policy`,
  busPolicy: `/usr/share/dbus-1/system.d/${BUS_NAME}.conf`,
  activation: `/usr/share/dbus-1/system-services/${BUS_NAME}.service`,
  unit: '/usr/lib/systemd/system/shared-interface.service',
  recoveryPath: '/usr/lib/systemd/system/shared-interface-recovery.path',
  recoveryPathWants: '/usr/lib/systemd/system/paths.target.wants/shared-interface-recovery.path',
  introspection: `/usr/share/dbus-1/interfaces/${BUS_NAME}.xml`,
  cockpitPage: '/usr/share/cockpit/shared-interface/index.html',
  cockpitScript: '/usr/share/cockpit/shared-interface/index.js',
  cockpitStyle: '/usr/share/cockpit/shared-interface/index.css',
  cockpitManifest: '/usr/share/cockpit/shared-interface/manifest.json',
  cliManPage: '/usr/share/man/man1/shared-interface.1',
  apiManPage: `/usr/share/man/man5/${BUS_NAME}.5`,
  daemonManPage: '/usr/share/man/man8/shared-interfaced.8',
  bashCompletion: '/usr/share/bash-completion/completions/shared-interface',
  zshCompletion: '/usr/share/zsh/site-functions/_shared-interface',
} as const;

/**
 * `make install` (PREFIX=/usr) into the lab's overlaid /usr, then ReloadConfig so the bus reads
 * the installed policy, as a package's scriptlet would. Never rebuilds: the tests run what
 * `tsc` built before them (and the repository is shared with other work in progress).
 */
export async function installIntoLab(lab: Lab, variables: Readonly<Record<string, string>> = {}): Promise<void> {
  const vars = Object.entries(variables).map(([k, v]) => `${k}=${v}`);
  await lab.exec(['make', '-C', REPO_ROOT, '--no-print-directory', '-o', 'dist/src/main.js', '-o', 'dist/cockpit-page/index.js', 'install', ...vars]);
  await lab.exec(['busctl', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ReloadConfig']);
}

/** Who runs a command: root, or a user name (with that user's groups) or uid:gid (no groups). */
export type RunAs = 'root' | string;

export function asUser(who: RunAs, argv: readonly string[]): string[] {
  if (who === 'root') return [...argv];
  const [uid, gid] = who.split(':');
  if (gid !== undefined) return ['setpriv', `--reuid=${uid ?? ''}`, `--regid=${gid}`, '--clear-groups', ...argv];
  return ['setpriv', `--reuid=${who}`, `--regid=${who}`, '--init-groups', ...argv];
}

export const NOBODY = '65534:65534';

export interface BusctlResult {
  /** The reply, as busctl --json=short prints it; undefined for an error. */
  readonly reply: { type: string; data: unknown[] } | undefined;
  /** The D-Bus error's name; undefined when the call succeeded. */
  readonly errorName: string | undefined;
  readonly errorMessage: string;
}

/**
 * `busctl call` of our interface as `who`. busctl allows interactive authorization by default,
 * as an admin's shell would; `interactive: false` clears the flag. busctl prints only an error's
 * message, so the name comes from its debug log.
 */
export async function callAs(lab: Lab, who: RunAs, member: string, signature = '', args: readonly string[] = [], options: { interactive?: boolean; iface?: string; destination?: string } = {}): Promise<BusctlResult> {
  const argv = ['busctl', '--json=short', `--allow-interactive-authorization=${options.interactive === false ? 'no' : 'yes'}`, 'call',
    options.destination ?? BUS_NAME, OBJECT_PATH, options.iface ?? INTERFACE_NAME, member, ...(signature ? [signature, ...args] : [])];
  const result = await lab.exec(asUser(who, argv), { env: { SYSTEMD_LOG_LEVEL: 'debug' }, allowFailure: true, timeoutMs: 180_000 });
  const error = /^Got message type=error .*? error-name=(\S+) error-message=(.*)$/m.exec(result.stderr);
  if (result.code === 0) {
    // A method without out-arguments: busctl prints nothing.
    const reply = result.stdout.trim() === '' ? { type: '', data: [] } : JSON.parse(result.stdout) as { type: string; data: unknown[] };
    return { reply, errorName: undefined, errorMessage: '' };
  }
  if (error?.[1] === undefined) throw new Error(`busctl failed without a D-Bus error (exit ${result.code}): ${result.stderr.slice(-2000)}`);
  return { reply: undefined, errorName: error[1], errorMessage: error[2] ?? '' };
}

/** A call to the bus driver (org.freedesktop.DBus) as root; resolves with busctl's JSON reply data. */
export async function busDriver(lab: Lab, member: string, signature = '', args: readonly string[] = []): Promise<unknown[]> {
  const out = await lab.sh(`busctl --json=short call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ${member} ${[signature, ...args].filter(Boolean).map(shellQuote).join(' ')}`);
  return (JSON.parse(out) as { data: unknown[] }).data;
}

/** The PID (in the lab) that owns our bus name, or undefined when nobody does. */
export async function ownerPid(lab: Lab): Promise<number | undefined> {
  const result = await lab.exec(['busctl', '--json=short', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
    'GetConnectionUnixProcessID', 's', BUS_NAME], { allowFailure: true });
  if (result.code !== 0) {
    if (/no such name|NameHasNoOwner/i.test(result.stderr)) return undefined;
    throw new Error(`GetConnectionUnixProcessID failed: ${result.stderr}`);
  }
  const [pid] = (JSON.parse(result.stdout) as { data: unknown[] }).data;
  return typeof pid === 'number' ? pid : undefined;
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
