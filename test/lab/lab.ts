// SPDX-License-Identifier: GPL-2.0-or-later
// The sealed lab, for tests: each Lab is its own set of namespaces (net, mount, uts, ipc, pid)
// with a private system bus, a real NetworkManager (unless asked not to), and a LAN namespace
// with dnsmasq serving DHCP. lab-init.sh builds it; this class drives it from outside with
// nsenter. Killing the lab's PID 1 ends every process and device in it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BusConnection } from '../../src/dbus-wire/bus-connection';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const LAB_INIT = join(REPO_ROOT, 'test', 'lab', 'lab-init.sh');
const BUS_POLICY = join(REPO_ROOT, 'dbus-services', 'org.fedoraproject.SharedInterface.conf');

export interface LabOptions {
  /** Start NetworkManager (default true). */
  readonly networkManager?: boolean;
  /** The profile NM gets for eth0 at start: DHCP (default), DHCP for IPv4 only (ipv6.method
   *  disabled), static, or none. */
  readonly nicProfile?: 'dhcp' | 'dhcp4' | 'static' | 'none';
  /** Overlay /usr, /etc and /var on a tmpfs, so the test may install files into them. */
  readonly overlay?: boolean;
  /** Include the repo's bus policy in the lab's system bus (default true). */
  readonly busPolicy?: boolean;
  /** Give the lab's polkit the repo's actions (default true; false: a test installs them itself). */
  readonly polkitPolicy?: boolean;
  /** 'external': no LAN of its own; eth0's peer waits as `lan0` in the lab for lab-fleet.ts to plug
   *  into a shared LAN, and the DHCP profile connects then (default 'own': a LAN with dnsmasq). */
  readonly lan?: 'own' | 'external';
  /** eth0's MAC (default 52:54:00:12:34:56): labs on one LAN need one each. */
  readonly mac?: string;
  /** The lab's hostname (default "lab"). */
  readonly hostname?: string;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Resolve instead of reject on a non-zero exit. */
  readonly allowFailure?: boolean;
}

export class LabCommandError extends Error {
  constructor(readonly argv: readonly string[], readonly result: ExecResult) {
    super(`lab command failed (exit ${result.code}): ${argv.join(' ')}\n${result.stderr}${result.stdout}`);
  }
}

/** What every command in the lab gets: its own TMPDIR, HOME and the lab's system bus. */
const LAB_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  TMPDIR: '/tmp',
  HOME: '/root',
  LANG: 'C.UTF-8',
  DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/run/dbus/system_bus_socket',
  DBUS_SESSION_BUS_ADDRESS: 'disabled:',
  SYSTEMD_COLORS: '0',
  SYSTEMD_PAGER: '',
};

export class Lab {
  private daemons: LabProcess[] = [];

  private constructor(
    readonly dir: string,
    private readonly unshare: ChildProcess,
    readonly pid: number,
  ) {}

  static async start(options: LabOptions = {}): Promise<Lab> {
    const dir = mkdtempSync(join(tmpdir(), 'shared-interface-lab.'));
    mkdirSync(join(dir, 'overlay'));
    const env: Record<string, string> = {
      ...LAB_ENV,
      LAB_NM: options.networkManager === false ? '0' : '1',
      LAB_NIC_PROFILE: options.nicProfile ?? 'dhcp',
      LAB_OVERLAY: options.overlay ? '1' : '0',
      LAB_EXTRA_BUS_CONF: options.busPolicy === false ? '' : `<include>${BUS_POLICY}</include>`,
      LAB_POLKIT_ACTIONS: options.polkitPolicy === false ? '' : join(REPO_ROOT, 'polkit'),
      LAB_LAN: options.lan ?? 'own',
      ...(options.mac === undefined ? {} : { LAB_MAC: options.mac }),
      ...(options.hostname === undefined ? {} : { LAB_HOSTNAME: options.hostname }),
    };
    // stdin stays open as long as this process lives: if the test runner dies, lab-init sees
    // EOF and the whole lab goes with it.
    const unshare = spawn('unshare', ['--net', '--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--mount-proc', 'bash', LAB_INIT, dir], {
      env, stdio: ['pipe', 'ignore', 'ignore'],
    });
    const deadline = Date.now() + 90_000;
    while (!existsSync(join(dir, 'ready'))) {
      if (existsSync(join(dir, 'failed')) || unshare.exitCode !== null || Date.now() > deadline) {
        const log = readIfExists(join(dir, 'lab.log')) + readIfExists(join(dir, 'nm.log')).slice(-3000);
        unshare.kill('SIGKILL');
        if (process.env['LAB_KEEP'] !== '1') rmSync(dir, { recursive: true, force: true });
        throw new Error(`the lab did not start: ${readIfExists(join(dir, 'failed'))}\n${log}`);
      }
      await sleep(50);
    }
    const children = readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim();
    const pid = Number(children.split(/\s+/)[0]);
    if (!Number.isInteger(pid) || pid <= 1) throw new Error(`cannot find the lab's PID 1 (children: '${children}')`);
    return new Lab(dir, unshare, pid);
  }

  /** The daemon's state directory in this lab (startDaemon's default). */
  get stateDir(): string {
    return join(this.dir, 'state');
  }

  /** A D-Bus address reaching the lab's system bus from outside the lab. */
  get busAddress(): string {
    return `unix:path=${join(this.dir, 'system_bus_socket')}`;
  }

  connect(): Promise<BusConnection> {
    return BusConnection.connect({ address: this.busAddress });
  }

  private nsenterArgv(argv: readonly string[], env: Readonly<Record<string, string>> = {}): string[] {
    const vars = Object.entries({ ...LAB_ENV, ...env }).map(([k, v]) => `${k}=${v}`);
    return ['-t', String(this.pid), '-a', '--', 'env', '-i', ...vars, ...argv];
  }

  /** Runs a command inside the lab (all its namespaces) and collects its output. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn('nsenter', this.nsenterArgv(argv, options.env), { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
        if (result.code !== 0 && !options.allowFailure) reject(new LabCommandError(argv, result));
        else resolvePromise(result);
      });
      // A command may exit without reading its input (EPIPE): its exit status is the answer.
      child.stdin.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') reject(err); });
      // A command that exits before reading its input closes the pipe: that is not our failure.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
    });
  }

  /** Runs a command inside the lab on our own terminal (lab-shell.ts); resolves with its exit status. */
  interactive(argv: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<number> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn('nsenter', this.nsenterArgv(argv, env), { stdio: 'inherit' });
      child.on('error', reject);
      child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
    });
  }

  /** Runs a bash script inside the lab; resolves with its stdout. */
  async sh(script: string, options: ExecOptions = {}): Promise<string> {
    return (await this.exec(['bash', '-euo', 'pipefail', '-c', script], options)).stdout;
  }

  /** Starts a long-running process inside the lab; it is killed by stop() at the latest. */
  spawn(argv: readonly string[], env: Readonly<Record<string, string>> = {}): LabProcess {
    const child = spawn('nsenter', this.nsenterArgv(argv, env), { stdio: ['ignore', 'pipe', 'pipe'] });
    const process = new LabProcess(child);
    this.daemons.push(process);
    return process;
  }

  /** Starts our daemon inside the lab and waits until it serves (its name owned, its backend's first reading done). */
  async startDaemon(args: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<LabProcess> {
    // Run the script itself, so its #! line (with the daemon's V8 flags) is honoured.
    // Its state (change records, ifcfg snapshots) in the lab's directory, never the host's /var/lib.
    const state = args.some((a) => a.startsWith('--state-dir')) ? [] : [`--state-dir=${this.stateDir}`];
    const daemon = this.spawn([join(REPO_ROOT, 'bin', 'shared-interfaced'), ...state, ...args], env);
    await daemon.waitForOutput(/^<6>serving \(backend: /m, 30_000);
    return daemon;
  }

  async stopNetworkManager(): Promise<void> {
    await this.sh(`kill "$(cat ${this.dir}/nm.pid)"; while kill -0 "$(cat ${this.dir}/nm.pid)" 2>/dev/null; do sleep 0.1; done`);
  }

  async startNetworkManager(): Promise<void> {
    await this.sh(`NetworkManager --no-daemon >>${this.dir}/nm.log 2>&1 & echo $! >${this.dir}/nm.pid; nm-online -s -q -t 30`);
  }

  async restartNetworkManager(): Promise<void> {
    await this.stopNetworkManager();
    await this.startNetworkManager();
  }

  /** `ip -j …` inside the lab, parsed. */
  async ipJson(args: string): Promise<unknown> {
    return JSON.parse(await this.sh(`ip -j ${args}`)) as unknown;
  }

  log(name: string): string {
    return readIfExists(join(this.dir, name));
  }

  async stop(): Promise<void> {
    for (const daemon of this.daemons) daemon.kill();
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone: the lab's PID 1 exited by itself, which ended the lab just the same
    }
    if (this.unshare.exitCode === null && this.unshare.signalCode === null) {
      await new Promise((r) => this.unshare.once('exit', r));
    }
    if (process.env['LAB_KEEP'] !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A process running inside the lab, with its output collected. */
export class LabProcess {
  output = '';
  private exited: Promise<number>;

  constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => { this.output += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.exited = new Promise((r) => child.on('close', (code, signal) => r(code ?? (signal ? 128 : 1))));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  waitForExit(): Promise<number> {
    return this.exited;
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (!this.running) throw new Error(`process exited before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${this.output}`);
      await sleep(50);
    }
  }

  /**
   * The host PID of the program itself: down from nsenter through what only starts it (nsenter's
   * fork, env, setpriv), never one of the program's own children (the daemon's `ip` processes).
   */
  pid(): number {
    let pid = this.child.pid;
    if (pid === undefined) throw new Error('the process has no PID');
    for (;;) {
      if (!['nsenter', 'env', 'setpriv'].includes(readIfExists(`/proc/${pid}/comm`).trim())) return pid;
      const first: string | undefined = readIfExists(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)[0];
      if (first === undefined || first === '') return pid;
      pid = Number(first);
    }
  }

  /** Signals the process inside the lab (nsenter forwards nothing, so find the real one). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.pid === undefined || !this.running) return;
    for (const pid of descendants(this.child.pid)) {
      try { process.kill(pid, signal); } catch { /* exited meanwhile */ }
    }
    try { this.child.kill(signal); } catch { /* exited meanwhile */ }
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const children = readIfExists(`/proc/${pid}/task/${pid}/children`).trim();
  for (const c of children ? children.split(/\s+/).map(Number) : []) out.push(...descendants(c), c);
  return out;
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(100);
  }
}
