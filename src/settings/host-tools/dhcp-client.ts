// SPDX-License-Identifier: GPL-2.0-or-later
// DHCP clients: which processes serve a device (found through /proc, whoever started them), which
// client the system has, and starting one that outlives us (in a unit of its own under systemd).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../../log';
import { ensurePrivateDir, readIfExists, writeFileAtomic } from '../durable-file';
import { findProgram, underSystemd } from './systemd-run';
import { UDHCPC_SCRIPT } from './udhcpc-script';
import { isInterfaceName } from '../../bridge/interface-name';

const DHCP_PROGRAMS = new Set(['udhcpc', 'dhclient', 'dhcpcd']);

/** Whether a command line (argv) is a DHCP client serving `device`. */
export function isDhcpClientFor(argv: readonly string[], device: string): boolean {
  const program = (argv[0] ?? '').split('/').pop() ?? '';
  const args = program === 'busybox' ? argv.slice(2) : argv.slice(1);
  const applet = program === 'busybox' ? argv[1] ?? '' : program;
  if (!DHCP_PROGRAMS.has(applet)) return false;
  return args.some((a, i) => a === device || a === `-i${device}` || a === `--interface=${device}` || ((args[i - 1] === '-i' || args[i - 1] === '--interface') && a === device));
}

/** Finds, starts and stops the DHCP clients of a device (whoever started them). */
export class DhcpClients {
  constructor(private readonly stateDir: string, private readonly log: Log) {}

  /** The client we would start, or undefined when the system has none. */
  static available(): { readonly program: string; readonly argv0: readonly string[]; readonly kind: 'dhclient' | 'udhcpc' } | undefined {
    const dhclient = findProgram('dhclient');
    if (dhclient !== undefined) return { program: dhclient, argv0: [], kind: 'dhclient' };
    const udhcpc = findProgram('udhcpc');
    if (udhcpc !== undefined) return { program: udhcpc, argv0: [], kind: 'udhcpc' };
    const busybox = findProgram('busybox');
    if (busybox !== undefined) return { program: busybox, argv0: ['udhcpc'], kind: 'udhcpc' };
    return undefined;
  }

  async running(device: string): Promise<number[]> {
    const pids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      const cmdline = await readFile(join('/proc', entry, 'cmdline')).catch(() => undefined);
      if (cmdline === undefined || cmdline.length === 0) continue;
      const argv = cmdline.toString('utf8').split('\0');
      if (argv[argv.length - 1] === '') argv.pop();
      if (isDhcpClientFor(argv, device)) pids.push(Number(entry));
    }
    return pids;
  }

  /** Stops every DHCP client of `device`: TERM, then KILL for those still there after 3 s. */
  async stop(device: string): Promise<void> {
    const pids = await this.running(device);
    if (pids.length === 0) return;
    this.log.info(`stopping the DHCP client of ${device} (pid ${pids.join(', ')})`);
    for (const pid of pids) signal(pid, 'SIGTERM');
    const deadline = Date.now() + 3000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(50);
    for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  }

  /**
   * Starts a DHCP client on `device` that outlives us (it renews the lease after we exit). Returns
   * once it has a lease or has gone to the background still asking; the caller verifies the result.
   */
  async start(device: string): Promise<void> {
    if (!isInterfaceName(device)) throw new Error(`not an interface name: ${device}`);
    const client = DhcpClients.available();
    if (client === undefined) throw new Error('no DHCP client is installed (dhclient, or busybox udhcpc)');
    await ensurePrivateDir(this.stateDir);
    const pidFile = join(this.stateDir, `${client.kind}-${device}.pid`);
    // Under systemd, the processes of our own unit die with it (idle exit, KillMode=control-group)
    // and its sandbox has no AF_PACKET: the client gets a transient unit of its own instead.
    const systemdRun = underSystemd()?.systemdRun;
    const foreground = systemdRun !== undefined;
    let args: string[];
    if (client.kind === 'dhclient') {
      // -nw: go to the background at once (-d: stay in the foreground); dhclient-script configures the device.
      args = [foreground ? '-d' : '-nw', '-pf', pidFile, '-lf', join(this.stateDir, `dhclient-${device}.leases`), device];
    } else {
      const script = await this.udhcpcScript();
      // -b: go to the background after three unanswered discovers, and keep asking there.
      args = [...client.argv0, '-i', device, '-s', script, '-p', pidFile, foreground ? '-f' : '-b', '-t', '3', '-T', '2', '-A', '5'];
    }
    let argv: string[] = [client.program, ...args];
    if (systemdRun !== undefined) {
      const unit = `shared-interface-dhcp-${device}-${randomBytes(3).toString('hex')}`;
      argv = [systemdRun, '--quiet', '--collect', `--unit=${unit}`, `--description=DHCP client of ${device} (shared-interface)`, '--', ...argv];
    }
    this.log.info(`starting ${client.kind} on ${device}${systemdRun !== undefined ? ' in a unit of its own' : ''}`);
    const [program = client.program, ...rest] = argv;
    const child = spawn(program, rest, { detached: true, stdio: 'ignore' });
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.unref();
        resolvePromise();
      }, 20_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise();
        else reject(new Error(`${client.kind} on ${device} exited with status ${String(code)}`));
      });
    });
  }

  /** Our udhcpc event script, written into the state directory (busybox ships none). */
  private async udhcpcScript(): Promise<string> {
    const path = join(this.stateDir, 'udhcpc.script');
    const current = await readIfExists(path);
    if (current === undefined || current.toString('utf8') !== UDHCPC_SCRIPT) await writeFileAtomic(path, Buffer.from(UDHCPC_SCRIPT), 0o700);
    return path;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: it is gone (a zombie of someone else's still counts as alive, briefly)
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
