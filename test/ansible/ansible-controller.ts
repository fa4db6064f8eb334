// SPDX-License-Identifier: GPL-2.0-or-later
// Debian's ansible-core on a lab fleet's controller, over SSH to every host: a lab key, each
// host's own sshd and host key (test/lab/lab-ssh.ts), our collection from this checkout. HOME,
// ansible.cfg, the inventory, known_hosts and Ansible's temporary files all live in the
// controller's lab directory; on the hosts, Ansible's remote temporary files go to the lab's /tmp.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabFleet } from '../lab/lab-fleet';
import { REPO_ROOT, type ExecResult } from '../lab/lab';
import { makeSshKey, startSshd, writeSshClientConfig, type SshServer } from '../lab/lab-ssh';

export const COLLECTION = 'fedoraproject.shared_interface';
export const COLLECTION_DIR = join(REPO_ROOT, 'ansible');

/** One host's line of the PLAY RECAP. */
export interface Recap {
  readonly ok: number;
  readonly changed: number;
  readonly unreachable: number;
  readonly failed: number;
}

export interface AnsibleRun extends ExecResult {
  /** host → its recap; a host missing here never ran. */
  readonly recap: ReadonlyMap<string, Recap>;
}

/** Each host's inventory variables, by host name; the group is `hypervisors`. */
export type HostVars = Readonly<Record<string, Readonly<Record<string, string>>>>;

export class AnsibleController {
  private constructor(
    private readonly fleet: LabFleet,
    readonly dir: string,
    /** host name → its sshd. */
    readonly sshd: ReadonlyMap<string, SshServer>,
  ) {}

  /** Starts sshd on every host of `fleet` and configures Ansible on its controller. */
  static async start(fleet: LabFleet): Promise<AnsibleController> {
    const controller = fleet.controller;
    const dir = join(controller.dir, 'ansible');
    for (const sub of ['home', 'tmp', 'collections/ansible_collections/fedoraproject']) mkdirSync(join(dir, sub), { recursive: true });
    symlinkSync(COLLECTION_DIR, join(dir, 'collections/ansible_collections/fedoraproject/shared_interface'));
    const key = await makeSshKey(controller, 'id_ed25519');
    const known = new Map<string, string>();
    const sshd = new Map<string, SshServer>();
    for (const host of fleet.hosts) {
      const server = await startSshd(host.lab, [key.publicKey]);
      sshd.set(host.name, server);
      known.set(host.address, server.hostKey);
    }
    const sshConfig = await writeSshClientConfig(controller, key, known);
    writeFileSync(join(dir, 'ansible.cfg'), [
      '[defaults]',
      `inventory = ${dir}/inventory.json`,
      `collections_path = ${dir}/collections`,
      `local_tmp = ${dir}/tmp`,
      // On a host: its lab's own /tmp (root's ~ there is this machine's /root).
      'remote_tmp = /tmp/.ansible-remote',
      'interpreter_python = /usr/bin/python3',
      'host_key_checking = True',
      'retry_files_enabled = False',
      'forks = 5',
      'nocolor = True',
      'timeout = 60',
      '[ssh_connection]',
      `ssh_args = -F ${sshConfig} -o ControlMaster=auto -o ControlPersist=120s`,
      `control_path_dir = ${dir}/cp`,
      'pipelining = True',
      '',
    ].join('\n'));
    return new AnsibleController(fleet, dir, sshd);
  }

  /** Writes the inventory: every fleet host in `hypervisors`, at its leased address, with `vars`. */
  writeInventory(vars: HostVars): void {
    const hosts = Object.fromEntries(this.fleet.hosts.map((h) => [h.name, { ansible_host: h.address, ...vars[h.name] }]));
    writeFileSync(join(this.dir, 'inventory.json'), `${JSON.stringify({ hypervisors: { hosts } }, null, 2)}\n`);
  }

  /** Runs an Ansible command (ansible-playbook, ansible, ansible-doc) on the controller. */
  run(argv: readonly string[]): Promise<ExecResult> {
    return this.fleet.controller.exec(argv, {
      env: { HOME: join(this.dir, 'home'), ANSIBLE_CONFIG: join(this.dir, 'ansible.cfg'), ANSIBLE_FORCE_COLOR: '0', PYTHONDONTWRITEBYTECODE: '1' },
      allowFailure: true,
      timeoutMs: 600_000,
    });
  }

  async playbook(playbook: string, args: readonly string[] = []): Promise<AnsibleRun> {
    const result = await this.run(['ansible-playbook', playbook, ...args]);
    return { ...result, recap: parseRecap(result.stdout) };
  }
}

/** The PLAY RECAP's lines: `host1 : ok=1 changed=1 unreachable=0 failed=0 skipped=0 …`. */
export function parseRecap(output: string): Map<string, Recap> {
  const recap = new Map<string, Recap>();
  const start = output.lastIndexOf('PLAY RECAP');
  if (start < 0) return recap;
  for (const line of output.slice(start).split('\n').slice(1)) {
    const match = line.match(/^(\S+)\s+:\s+(.*)$/);
    if (!match?.[1] || match[2] === undefined) continue;
    const counts = Object.fromEntries([...match[2].matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    recap.set(match[1], { ok: counts['ok'] ?? -1, changed: counts['changed'] ?? -1, unreachable: counts['unreachable'] ?? -1, failed: counts['failed'] ?? -1 });
  }
  return recap;
}
