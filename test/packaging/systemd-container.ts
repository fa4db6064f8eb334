// SPDX-License-Identifier: GPL-2.0-or-later
// A real systemd (this machine's own, from its /usr) booted by systemd-nspawn inside a lab: the
// container shares the lab's network namespace, so every device stays out of the host's network.
import { readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor, type ExecResult, type LabProcess } from '../lab/lab';

export class SystemdContainer {
  private constructor(readonly lab: Lab, readonly boot: LabProcess, readonly pid: string, readonly cgroup: string) {}

  /** Boots a container in `lab` with `bindDir` at /run/si-pkg; resolves when systemd has finished starting. */
  static async boot(lab: Lab, bindDir: string): Promise<SystemdContainer> {
    const cgroup = `si-nspawn-${process.pid}-${Date.now()}`;
    const boot = lab.spawn([join(REPO_ROOT, 'test', 'packaging', 'nspawn-boot.sh'), cgroup, bindDir]);
    const pid = await waitFor('the container\'s systemd', async () => {
      if (!boot.running) throw new Error(`systemd-nspawn exited:\n${boot.output}`);
      const found = (await lab.sh('pgrep -P "$(pgrep -x systemd-nspawn || echo 0)" -x systemd || true')).trim();
      return found || undefined;
    }, 60_000);
    const container = new SystemdContainer(lab, boot, pid, cgroup);
    await waitFor('systemd to finish starting', async () => {
      const state = (await container.exec('systemctl is-system-running --wait 2>/dev/null || true')).stdout.trim();
      return state === 'running' || state === 'degraded' ? state : undefined;
    }, 120_000);
    return container;
  }

  /** A bash script run inside the container (all of its namespaces). */
  exec(script: string, timeoutMs = 180_000): Promise<ExecResult> {
    return this.lab.exec(['nsenter', '-t', this.pid, '-a', 'bash', '-c', script], { allowFailure: true, timeoutMs });
  }

  async sh(script: string): Promise<string> {
    const r = await this.exec(`set -euo pipefail; ${script}`);
    if (r.code !== 0) throw new Error(`in the container (exit ${r.code}): ${script}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Powers the container off and removes its cgroup; the lab is the caller's to stop. */
  async stop(): Promise<void> {
    await this.exec('systemctl poweroff --no-block', 30_000).catch(() => undefined);
    await waitFor('systemd-nspawn to exit', () => (this.boot.running ? undefined : true), 60_000).catch(() => this.boot.kill('SIGKILL'));
    removeCgroup(this.cgroup);
  }
}

/** The host's cgroup v2 mount (on a v1 hybrid host, e.g. /sys/fs/cgroup/unified). */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mount, fs] = line.split(' - ');
    if (fs?.startsWith('cgroup2 ')) return mount?.split(' ')[4];
  }
  return undefined;
}

/** Removes the container's (by now empty) cgroup tree, leaves first. */
export function removeCgroup(name: string): void {
  const root = cgroup2Mount();
  if (root === undefined) return;
  const remove = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone already
    }
    for (const e of entries) if (e.isDirectory()) remove(join(dir, e.name));
    rmdirSync(dir);
  };
  remove(join(root, name));
}
