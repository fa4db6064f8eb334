// SPDX-License-Identifier: GPL-2.0-or-later
// An SSH server inside a sealed lab, and the client side to reach it: Debian's OpenSSH
// (test/lab/ensure-ssh.sh installs it) with a host key, an sshd_config and authorized keys that
// live in the lab's directory. The host's /etc/ssh, its sshd and root's ~/.ssh are never used:
// sshd reads only the config given here, the client only the files named in clientConfig().
import { join } from 'node:path';
import type { Lab, LabProcess } from './lab';

export interface SshServer {
  /** The host's public key, "ssh-ed25519 AAAA…", for a client's known_hosts. */
  readonly hostKey: string;
  readonly process: LabProcess;
  /** sshd's pid file (the listener's PID in the lab): killing that process stops new connections
   *  and leaves the sessions already open. */
  readonly pidFile: string;
}

export interface SshKey {
  /** The private key's path (in the lab's directory). */
  readonly path: string;
  /** The public key, one authorized_keys line. */
  readonly publicKey: string;
}

/** Generates a key pair without a passphrase in `lab`'s directory (ssh-keygen runs inside the lab). */
export async function makeSshKey(lab: Lab, name: string): Promise<SshKey> {
  const path = join(lab.dir, 'ssh', name);
  await lab.sh(`mkdir -p ${lab.dir}/ssh && ssh-keygen -q -t ed25519 -N '' -C ${name}@${lab.dir.split('/').pop() ?? 'lab'} -f ${path}`);
  return { path, publicKey: (await lab.sh(`cat ${path}.pub`)).trim() };
}

/**
 * Starts sshd in `lab` on port 22 of every address, letting root in with any of `authorizedKeys`
 * (and nothing else: no passwords, no PAM). Resolves once it listens; the lab's stop() ends it.
 */
export async function startSshd(lab: Lab, authorizedKeys: readonly string[]): Promise<SshServer> {
  const ssh = join(lab.dir, 'ssh');
  const hostKey = await makeSshKey(lab, 'ssh_host_ed25519_key');
  const config = [
    'Port 22',
    'ListenAddress 0.0.0.0',
    'ListenAddress ::',
    `HostKey ${hostKey.path}`,
    `PidFile ${ssh}/sshd.pid`,
    `AuthorizedKeysFile ${ssh}/authorized_keys`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The lab's directory lies under the world-writable /tmp, which StrictModes refuses.
    'StrictModes no',
    'PrintMotd no',
    'PrintLastLog no',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
  ].join('\n');
  await lab.sh(`
    printf '%s\\n' ${shellQuote(config)} >${ssh}/sshd_config
    printf '%s\\n' ${shellQuote(authorizedKeys.join('\n'))} >${ssh}/authorized_keys
    mkdir -p -m 0755 /run/sshd
  `);
  // -D: stay in the foreground (the lab owns the process); -e: log to stderr, collected here.
  const process = lab.spawn(['/usr/sbin/sshd', '-D', '-e', '-f', `${ssh}/sshd_config`]);
  await process.waitForOutput(/Server listening on 0\.0\.0\.0 port 22/, 30_000);
  return { hostKey: hostKey.publicKey.split(' ').slice(0, 2).join(' '), process, pidFile: `${ssh}/sshd.pid` };
}

/**
 * An ssh_config for a client of lab sshds: this key, root, and exactly these known hosts
 * (address → host key) in a file of its own, checked strictly.
 */
export async function writeSshClientConfig(lab: Lab, key: SshKey, knownHosts: ReadonlyMap<string, string>): Promise<string> {
  const ssh = join(lab.dir, 'ssh');
  const config = [
    'Host *',
    '  User root',
    `  IdentityFile ${key.path}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${ssh}/known_hosts`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  ConnectTimeout 30',
  ].join('\n');
  const known = [...knownHosts].map(([address, hostKey]) => `${address} ${hostKey}`).join('\n');
  await lab.sh(`mkdir -p ${ssh} && printf '%s\\n' ${shellQuote(config)} >${ssh}/ssh_config && printf '%s\\n' ${shellQuote(known)} >${ssh}/known_hosts`);
  return `${ssh}/ssh_config`;
}

export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
