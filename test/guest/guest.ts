// SPDX-License-Identifier: GPL-2.0-or-later
// A tiny real VM guest for lab tests: builds it (build-guest.sh), boots it with qemu on a tap
// device the caller attached to a bridge, and reads what it reports on its serial console
// (guest-init.sh): the DHCP lease it got, then that it powers off.
//
// Typical use in a lab test:
//   const image = await buildGuest();
//   await createTap({ tap: 'tap0', bridge: 'br0', exec: lab.exec });
//   const guest = await bootGuest({ ...image, tap: 'tap0', mac: '52:54:00:12:34:56',
//     uptimeSeconds: 20, exec: lab.exec, logPath: `${dir}/guest.log` });
//   try { const lease = await guest.waitForLease(60_000); ... } finally { await guest.kill(); }

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, promises as fs, constants as fsConstants, type WriteStream } from 'node:fs';
import * as path from 'node:path';

export type GuestErrorCode =
  /** build-guest.sh failed (package install, download, unpacking, packing). */
  | 'BuildFailed'
  /** qemu could not be started, or a precondition failed (tap missing, bad MAC). */
  | 'BootFailed'
  /** The guest reported GUEST-NO-LEASE: DHCP gave it no address. */
  | 'NoLease'
  /** qemu exited before the awaited event. */
  | 'Exited'
  /** The awaited event did not happen in time; the guest keeps running until kill(). */
  | 'Timeout';

export class GuestError extends Error {
  override readonly name = 'GuestError';
  readonly code: GuestErrorCode;

  constructor(code: GuestErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface GuestImage {
  readonly kernel: string;
  readonly initrd: string;
  readonly kernelRelease: string;
}

/**
 * How to run a command inside the lab's namespaces: either an argv prefix such as
 * `['nsenter', '-t', pid, '-a']` or a function that wraps a whole argv.
 * `[]` means "right here", which is only correct when this process already is in the lab.
 */
export type ExecWrapper = readonly string[] | ((argv: readonly string[]) => readonly string[]);

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  readonly kernel: string;
  readonly initrd: string;
  /** An existing tap device in the target network namespace (see createTap). */
  readonly tap: string;
  /** Unicast MAC of the guest NIC, e.g. 52:54:00:12:34:56. */
  readonly mac: string;
  /** How long the guest stays up after its lease, answering pings; default 30. */
  readonly uptimeSeconds?: number;
  /** Where qemu runs; default: directly in this process's namespaces. */
  readonly exec?: ExecWrapper;
  /** The serial console (and qemu's stderr) is appended to this file. */
  readonly logPath?: string;
  /** Default: probeAccel's answer. */
  readonly accel?: Accel;
  /** DHCP discover attempts and the seconds between them; defaults 10 and 2. */
  readonly dhcpTries?: number;
  readonly dhcpTimeoutSeconds?: number;
  /** After its lease the guest pings this address (a host on the LAN) and reports the answer. */
  readonly pingAddress?: string;
  readonly memoryMiB?: number;
}

export interface GuestLease {
  readonly mac: string;
  /** The address the guest configured, without prefix. */
  readonly address: string;
  readonly prefixLength: number;
  /** The first router from the lease, null when the lease had none. */
  readonly router: string | null;
}

export interface GuestExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The guest printed GUEST-POWEROFF, i.e. it ended on its own as planned. */
  readonly poweredOff: boolean;
}

export interface GuestHandle {
  /** Pid of the spawned process (qemu, or the exec wrapper in front of it). */
  readonly pid: number;
  readonly argv: readonly string[];
  waitForLease(timeoutMs: number): Promise<GuestLease>;
  /** What the guest's ping of BootOptions.pingAddress gave: true when the address answered. */
  waitForPing(timeoutMs: number): Promise<boolean>;
  waitForExit(timeoutMs?: number): Promise<GuestExit>;
  /** SIGKILLs qemu (if still running) and resolves once it is gone. Safe to call twice. */
  kill(): Promise<GuestExit>;
  /** The serial console output so far. */
  serialOutput(): string;
}

const MAC_PATTERN = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/i;
const IFNAME_PATTERN = /^[A-Za-z0-9_.-]{1,15}$/;
const LEASE_LINE = /^GUEST-LEASE mac=(\S+) ip=([0-9.]+)\/(\d+) router=(\S+)$/;
const NO_LEASE_LINE = /^GUEST-NO-LEASE (.*)$/;
const BOOTED_LINE = /^GUEST-BOOTED kernel=(\S+)$/;
const PING_LINE = /^GUEST-PING (\S+) (ok|failed)$/;
const BUILD_TIMEOUT_MS = 15 * 60_000;
// TCG reaches /init in ~3 s on these machines; a KVM guest that has not after this long hangs
// (and spins a core in the kernel meanwhile), so waiting longer can only pick the slower one.
const PROBE_TIMEOUT_MS = 8_000;
const PROBE_CACHE = '/run/shared-interface-guest/accel.json';
// The serial console is the guest's only output; panic=-1 turns a panic into a reboot, which
// -no-reboot (or libvirt's on_reboot=destroy) turns into an exit. no_timer_check, as cloud
// images boot: on a loaded host a TCG guest's timer interrupt is late for the kernel's IO-APIC
// check, which then panics ("IO-APIC + timer doesn't work!"), seen here at load 23 on 2 cores.
const CONSOLE_ARGS = 'console=ttyS0 quiet panic=-1 no_timer_check';

/** One line of the guest's console that means something to the host (see guest-init.sh). */
export type ConsoleEvent =
  | { readonly kind: 'booted'; readonly kernelRelease: string }
  | { readonly kind: 'lease'; readonly lease: GuestLease }
  | { readonly kind: 'no-lease'; readonly reason: string }
  | { readonly kind: 'ping'; readonly address: string; readonly ok: boolean }
  | { readonly kind: 'poweroff' };

export function parseConsoleLine(raw: string): ConsoleEvent | undefined {
  const line = raw.replace(/\r/g, '').trim();
  const lease = LEASE_LINE.exec(line);
  if (lease !== null) {
    const [, mac = '', address = '', prefix = '', router = ''] = lease;
    return { kind: 'lease', lease: { mac, address, prefixLength: Number(prefix), router: router === 'none' ? null : router } };
  }
  const noLease = NO_LEASE_LINE.exec(line);
  if (noLease !== null) return { kind: 'no-lease', reason: noLease[1] ?? '' };
  const ping = PING_LINE.exec(line);
  if (ping !== null) return { kind: 'ping', address: ping[1] ?? '', ok: ping[2] === 'ok' };
  const booted = BOOTED_LINE.exec(line);
  if (booted !== null) return { kind: 'booted', kernelRelease: booted[1] ?? '' };
  return line === 'GUEST-POWEROFF' ? { kind: 'poweroff' } : undefined;
}

/** What a whole console transcript says (a console written to a file, e.g. by libvirt). */
export interface ConsoleReport {
  readonly kernelRelease?: string;
  readonly lease?: GuestLease;
  readonly noLease?: string;
  readonly poweredOff: boolean;
}

export function parseConsole(text: string): ConsoleReport {
  let report: ConsoleReport = { poweredOff: false };
  for (const line of text.split('\n')) {
    const event = parseConsoleLine(line);
    if (event?.kind === 'booted') report = { ...report, kernelRelease: event.kernelRelease };
    else if (event?.kind === 'lease') report = { ...report, lease: event.lease };
    else if (event?.kind === 'no-lease') report = { ...report, noLease: event.reason };
    else if (event?.kind === 'poweroff') report = { ...report, poweredOff: true };
  }
  return report;
}

function locateScript(name: string): string {
  // Compiled to dist/test/guest/; the shell scripts stay in test/guest/ (or SI_GUEST_DIR).
  const dirs = [process.env['SI_GUEST_DIR'], __dirname, path.resolve(__dirname, '../../../test/guest')];
  const candidates = dirs.flatMap((dir) => (dir === undefined || dir === '' ? [] : [path.join(dir, name)]));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) {
    throw new GuestError('BuildFailed', `cannot find ${name} (looked in ${candidates.join(', ')})`);
  }
  return found;
}

function wrap(exec: ExecWrapper | undefined, argv: readonly string[]): readonly string[] {
  if (exec === undefined) return argv;
  return typeof exec === 'function' ? exec(argv) : [...exec, ...argv];
}

function tail(text: string, lines = 15): string {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '').slice(-lines).join('\n');
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(argv: readonly string[], timeoutMs: number): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new GuestError('BootFailed', 'empty command'));
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
    });
  });
}

let buildPromise: Promise<GuestImage> | undefined;

/** Builds the guest, or finds it in the cache; once per process. Needs root. */
export function buildGuest(): Promise<GuestImage> {
  buildPromise ??= buildGuestUncached();
  const current = buildPromise;
  // A failed build is not cached, so a later call retries.
  current.catch(() => {
    if (buildPromise === current) buildPromise = undefined;
  });
  return current;
}

async function buildGuestUncached(): Promise<GuestImage> {
  const script = locateScript('build-guest.sh');
  const result = await run(['bash', script], BUILD_TIMEOUT_MS);
  if (result.code !== 0) {
    throw new GuestError('BuildFailed', `${script} failed (exit ${String(result.code)}):\n${tail(result.stderr)}`);
  }
  const values = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], match[2]);
  }
  const kernel = values.get('KERNEL');
  const initrd = values.get('INITRD');
  const kernelRelease = values.get('KERNEL_RELEASE');
  if (kernel === undefined || initrd === undefined || kernelRelease === undefined) {
    throw new GuestError('BuildFailed', `${script} printed no KERNEL/INITRD/KERNEL_RELEASE:\n${result.stdout}`);
  }
  return { kernel, initrd, kernelRelease };
}

function qemuArgv(options: {
  readonly kernel: string;
  readonly initrd: string;
  readonly accel: Accel;
  readonly append: string;
  readonly memoryMiB: number;
  readonly net: readonly string[];
}): string[] {
  return [
    'qemu-system-x86_64',
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-serial',
    'stdio',
    '-accel',
    options.accel,
    // The default CPU model hangs early under KVM on some hosts; `host` is what works where KVM works.
    ...(options.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp',
    '1',
    '-m',
    String(options.memoryMiB),
    '-no-reboot',
    '-kernel',
    options.kernel,
    '-initrd',
    options.initrd,
    '-append',
    `${CONSOLE_ARGS} ${options.append}`,
    ...options.net,
  ];
}

/**
 * Kills qemu when its parent dies (test runner crash, kill() on an exec wrapper that forks,
 * like nsenter into a pid namespace), so no guest outlives the test.
 */
function withParentDeathSignal(argv: readonly string[]): string[] {
  return ['setpriv', '--pdeathsig', 'KILL', '--', ...argv];
}

let accelPromise: Promise<Accel> | undefined;

/**
 * KVM when a short boot under KVM really reaches /init, TCG otherwise. /dev/kvm can exist and still
 * hang the guest (nested virtualization), so its presence proves nothing. The answer is kept for
 * this process and, in /run, for this host boot. SI_GUEST_ACCEL=kvm|tcg skips the probe.
 */
export function probeAccel(image: Pick<GuestImage, 'kernel' | 'initrd'>): Promise<Accel> {
  accelPromise ??= probeAccelUncached(image);
  return accelPromise;
}

async function probeAccelUncached(image: Pick<GuestImage, 'kernel' | 'initrd'>): Promise<Accel> {
  const forced = process.env['SI_GUEST_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (forced !== undefined && forced !== '') {
    throw new GuestError('BootFailed', `SI_GUEST_ACCEL must be kvm or tcg, not '${forced}'`);
  }
  try {
    await fs.access('/dev/kvm', fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    return 'tcg'; // no usable /dev/kvm
  }
  const bootId = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const cached = await readProbeCache(bootId);
  if (cached !== undefined) return cached;

  const argv = qemuArgv({ ...image, accel: 'kvm', append: 'si.mode=probe', memoryMiB: 128, net: ['-nic', 'none'] });
  const result = await run(withParentDeathSignal(argv), PROBE_TIMEOUT_MS);
  const accel: Accel = /^GUEST-BOOTED /m.test(result.stdout) ? 'kvm' : 'tcg';
  await fs.mkdir(path.dirname(PROBE_CACHE), { recursive: true });
  const temporary = `${PROBE_CACHE}.${String(process.pid)}`;
  await fs.writeFile(temporary, JSON.stringify({ bootId, accel }));
  await fs.rename(temporary, PROBE_CACHE);
  return accel;
}

async function readProbeCache(bootId: string): Promise<Accel | undefined> {
  let text: string;
  try {
    text = await fs.readFile(PROBE_CACHE, 'utf8');
  } catch {
    return undefined; // not probed yet on this boot
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined; // a torn write: probe again
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as { bootId?: unknown; accel?: unknown };
  if (record.bootId !== bootId) return undefined;
  return record.accel === 'kvm' || record.accel === 'tcg' ? record.accel : undefined;
}

function checkName(kind: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value)) throw new GuestError('BootFailed', `invalid ${kind} '${value}'`);
}

function checkCount(kind: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new GuestError('BootFailed', `${kind} must be an integer >= ${String(min)}, not ${String(value)}`);
  }
}

/** Creates a tap device and enslaves it to a bridge, as libvirt does for <interface type='bridge'>. */
export async function createTap(options: { readonly tap: string; readonly bridge: string; readonly exec: ExecWrapper }): Promise<void> {
  checkName('tap name', options.tap, IFNAME_PATTERN);
  checkName('bridge name', options.bridge, IFNAME_PATTERN);
  for (const argv of [
    ['ip', 'tuntap', 'add', 'dev', options.tap, 'mode', 'tap'],
    ['ip', 'link', 'set', 'dev', options.tap, 'master', options.bridge, 'up'],
  ]) {
    const result = await run(wrap(options.exec, argv), 30_000);
    if (result.code !== 0) throw new GuestError('BootFailed', `${argv.join(' ')} failed: ${result.stderr.trim()}`);
  }
}

export async function removeTap(options: { readonly tap: string; readonly exec: ExecWrapper }): Promise<void> {
  checkName('tap name', options.tap, IFNAME_PATTERN);
  const result = await run(wrap(options.exec, ['ip', 'link', 'del', 'dev', options.tap]), 30_000);
  if (result.code !== 0) throw new GuestError('BootFailed', `ip link del ${options.tap} failed: ${result.stderr.trim()}`);
}

/** What the guest does once booted (guest-init.sh's si.* parameters). */
export type GuestBehaviour = Pick<BootOptions, 'uptimeSeconds' | 'dhcpTries' | 'dhcpTimeoutSeconds' | 'pingAddress'>;

function guestParameters(options: GuestBehaviour): string {
  const uptime = options.uptimeSeconds ?? 30;
  const dhcpTries = options.dhcpTries ?? 10;
  const dhcpTimeout = options.dhcpTimeoutSeconds ?? 2;
  checkCount('uptimeSeconds', uptime, 0);
  checkCount('dhcpTries', dhcpTries, 1);
  checkCount('dhcpTimeoutSeconds', dhcpTimeout, 1);
  if (options.pingAddress !== undefined) checkName('address to ping', options.pingAddress, /^\d{1,3}(\.\d{1,3}){3}$/);
  const ping = options.pingAddress === undefined ? '' : ` si.ping=${options.pingAddress}`;
  return `si.uptime=${String(uptime)} si.dhcp_tries=${String(dhcpTries)} si.dhcp_timeout=${String(dhcpTimeout)}${ping}`;
}

/**
 * The kernel command line bootGuest gives the guest, for launchers of its own (libvirt's
 * <os><cmdline>): console on ttyS0 (the first serial port), then guest-init.sh's parameters.
 */
export function guestCommandLine(options: GuestBehaviour = {}): string {
  return `${CONSOLE_ARGS} ${guestParameters(options)}`;
}

/** Boots the guest on an existing tap device. The caller must kill() it in a finally. */
export async function bootGuest(options: BootOptions): Promise<GuestHandle> {
  checkName('MAC (unicast, xx:xx:xx:xx:xx:xx)', options.mac, MAC_PATTERN);
  checkName('tap name', options.tap, IFNAME_PATTERN);
  const append = guestParameters(options);

  // qemu would create a missing tap itself, in whatever namespace it runs in: refuse instead.
  const tapCheck = await run(wrap(options.exec, ['ip', '-d', '-o', 'link', 'show', 'dev', options.tap]), 30_000);
  if (tapCheck.code !== 0 || !/\btun type tap\b/.test(tapCheck.stdout)) {
    throw new GuestError(
      'BootFailed',
      `no tap device '${options.tap}' in the guest's network namespace (create it with createTap first): ${tapCheck.stderr.trim()}`,
    );
  }

  const accel = options.accel ?? (await probeAccel(options));
  const qemu = qemuArgv({
    kernel: options.kernel,
    initrd: options.initrd,
    accel,
    append,
    memoryMiB: options.memoryMiB ?? 256,
    net: [
      '-netdev',
      `tap,id=n0,ifname=${options.tap},script=no,downscript=no`,
      // romfile= : no iPXE option ROM, we boot the kernel directly.
      '-device',
      `virtio-net-pci,netdev=n0,mac=${options.mac},romfile=`,
    ],
  });
  const inner = withParentDeathSignal(qemu);
  const argv = options.exec === undefined || (Array.isArray(options.exec) && options.exec.length === 0)
    ? inner
    : withParentDeathSignal(wrap(options.exec, inner));
  return GuestProcess.start(argv, options.logPath === undefined ? undefined : await openLog(options.logPath));
}

async function openLog(logPath: string): Promise<WriteStream> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(logPath, 'a');
  } catch (error) {
    throw new GuestError('BootFailed', `cannot open the log ${logPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const log = createWriteStream('', { fd: handle });
  // A failing log (disk full) must not crash the test runner; the console is also kept in memory.
  log.on('error', (error) => process.emitWarning(`guest log ${logPath}: ${error.message}`));
  return log;
}

type Waiter = { readonly settle: () => boolean };

class GuestProcess implements GuestHandle {
  readonly pid: number;
  readonly argv: readonly string[];
  private readonly child: ChildProcess;
  private readonly log: WriteStream | undefined;
  private serial = '';
  private stderr = '';
  private pending = '';
  private lease: GuestLease | undefined;
  private noLease: string | undefined;
  private ping: boolean | undefined;
  private poweredOff = false;
  private exit: GuestExit | undefined;
  private spawnError: Error | undefined;
  private readonly exited: Promise<GuestExit>;
  private readonly waiters = new Set<Waiter>();

  static async start(argv: readonly string[], log: WriteStream | undefined): Promise<GuestProcess> {
    const guest = new GuestProcess(argv, log);
    await new Promise<void>((resolve, reject) => {
      guest.child.once('spawn', () => resolve());
      guest.child.once('error', (error) => {
        reject(new GuestError('BootFailed', `cannot start ${argv[0] ?? '?'}: ${error.message}`));
      });
    });
    return guest;
  }

  private constructor(argv: readonly string[], log: WriteStream | undefined) {
    const [file, ...args] = argv;
    if (file === undefined) throw new GuestError('BootFailed', 'empty qemu command');
    this.argv = argv;
    this.log = log;
    this.log?.write(`--- ${new Date().toISOString()} ${argv.join(' ')}\n`);
    this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid ?? -1;
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => this.onSerial(chunk));
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.log?.write(chunk);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.spawnError = error;
      });
      // 'close': the process is gone and its output is fully read.
      this.child.once('close', (code, signal) => {
        if (this.pending !== '') this.onLine(this.pending);
        this.exit = { code, signal, poweredOff: this.poweredOff };
        this.notify();
        const done = (): void => resolve(this.exit ?? { code, signal, poweredOff: this.poweredOff });
        if (this.log === undefined) done();
        else this.log.end(done);
      });
    });
  }

  private onSerial(chunk: string): void {
    this.serial += chunk;
    this.log?.write(chunk);
    const lines = (this.pending + chunk).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.onLine(line);
    this.notify();
  }

  private onLine(raw: string): void {
    const event = parseConsoleLine(raw);
    if (event?.kind === 'lease') this.lease = event.lease;
    else if (event?.kind === 'no-lease') this.noLease = event.reason;
    else if (event?.kind === 'ping') this.ping = event.ok;
    else if (event?.kind === 'poweroff') this.poweredOff = true;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.settle()) this.waiters.delete(waiter);
    }
  }

  /** Resolves when `check` returns a value, rejects when it throws or after timeoutMs. */
  private waitFor<T>(what: string, timeoutMs: number | undefined, check: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        settle: () => {
          let value: T | undefined;
          try {
            value = check();
          } catch (error) {
            if (timer !== undefined) clearTimeout(timer);
            reject(error);
            return true;
          }
          if (value === undefined) return false;
          if (timer !== undefined) clearTimeout(timer);
          resolve(value);
          return true;
        },
      };
      if (waiter.settle()) return;
      this.waiters.add(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new GuestError('Timeout', `no ${what} within ${String(timeoutMs)} ms; console:\n${tail(this.serial)}`));
        }, timeoutMs);
      }
    });
  }

  waitForLease(timeoutMs: number): Promise<GuestLease> {
    return this.waitFor('lease', timeoutMs, () => {
      if (this.lease !== undefined) return this.lease;
      if (this.noLease !== undefined) {
        throw new GuestError('NoLease', `guest got no DHCP lease (${this.noLease}); console:\n${tail(this.serial)}`);
      }
      if (this.exit !== undefined) throw this.exitedError('before its lease');
      return undefined;
    });
  }

  waitForPing(timeoutMs: number): Promise<boolean> {
    return this.waitFor('ping report', timeoutMs, () => {
      if (this.ping !== undefined) return this.ping;
      if (this.exit !== undefined) throw this.exitedError('before its ping report');
      return undefined;
    });
  }

  async waitForExit(timeoutMs?: number): Promise<GuestExit> {
    await this.waitFor('exit', timeoutMs, () => this.exit);
    return this.exited;
  }

  async kill(): Promise<GuestExit> {
    if (this.exit === undefined) this.child.kill('SIGKILL');
    return this.exited;
  }

  serialOutput(): string {
    return this.serial;
  }

  private exitedError(when: string): GuestError {
    const how = this.spawnError !== undefined
      ? this.spawnError.message
      : `code ${String(this.exit?.code ?? null)}, signal ${String(this.exit?.signal ?? null)}`;
    return new GuestError(
      'Exited',
      `qemu exited ${when} (${how}); stderr:\n${tail(this.stderr)}\nconsole:\n${tail(this.serial)}`,
    );
  }
}
