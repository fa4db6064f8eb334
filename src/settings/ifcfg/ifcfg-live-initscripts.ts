// SPDX-License-Identifier: GPL-2.0-or-later
// The live applier with initscripts: their own ifup/ifdown, which read the files we wrote (so the
// configuration is exactly what a reboot would give). They read /etc/sysconfig/network-scripts
// only, hence only for that directory.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Log, errorMessage } from '../../log';
import { readIpState, type IpState } from '../kernel-observer';
import { linkInfo } from '../host-tools/kernel-interfaces';
import { checkNames, runIp, type LiveApplier, type SharedShape, type UnsharedShape } from '../host-tools/live-applier';
import { findProgram, underSystemd, type SystemdTools } from '../host-tools/systemd-run';
import { isInterfaceName } from './ifcfg-validate';

const run = promisify(execFile);

export const STANDARD_IFCFG_DIR = '/etc/sysconfig/network-scripts';

/** One command line, and whether its failure is the change's failure. */
export interface ScriptStep {
  readonly argv: readonly string[];
  readonly mustSucceed: boolean;
}

/**
 * How to run initscripts' `ifup`/`ifdown DEVICE`: directly, or under systemd in a transient unit.
 * ifup's unit (shared-interface-ifup-DEVICE) stays active after ifup exits, holding the DHCP client
 * ifup started; ifdown stops it once ifdown has released the lease. `suffix` makes ifdown's own
 * unit name unique.
 */
export function initscriptsSteps(command: 'ifup' | 'ifdown', device: string, program: string, systemd: SystemdTools | undefined, suffix: string): ScriptStep[] {
  if (!isInterfaceName(device)) throw new Error(`not an interface name: ${device}`);
  if (systemd === undefined) return [{ argv: [program, device], mustSucceed: command === 'ifup' }];
  const ifupUnit = `shared-interface-ifup-${device}.service`;
  // A unit left from an earlier ifup of this device (its DHCP client already stopped by ifdown).
  const stopIfupUnit: ScriptStep = { argv: [systemd.systemctl, 'stop', ifupUnit], mustSucceed: false };
  const unitArgs = ['--quiet', '--collect', `--description=${command} ${device} (shared-interface)`];
  if (command === 'ifup') {
    return [stopIfupUnit, {
      argv: [systemd.systemdRun, ...unitArgs, `--unit=${ifupUnit}`, '--property=Type=oneshot', '--property=RemainAfterExit=yes', '--', program, device],
      mustSucceed: true,
    }];
  }
  return [
    { argv: [systemd.systemdRun, ...unitArgs, `--unit=shared-interface-ifdown-${device}-${suffix}.service`, '--wait', '--', program, device], mustSucceed: false },
    stopIfupUnit,
  ];
}

/** The programs the initscripts applier runs, and how it reads the kernel: the host's, or stand-ins. */
export interface InitscriptsTools {
  readonly ifup: string;
  readonly ifdown: string;
  readonly ip: string;
  readonly systemd: SystemdTools | undefined;
  /** Makes each ifdown unit's name unique. */
  readonly unitSuffix: () => string;
  readonly readIpState: () => Promise<IpState>;
}

export function hostInitscriptsTools(): InitscriptsTools {
  return {
    ifup: findProgram('ifup') ?? 'ifup',
    ifdown: findProgram('ifdown') ?? 'ifdown',
    ip: 'ip',
    systemd: underSystemd(),
    unitSuffix: () => randomBytes(3).toString('hex'),
    readIpState,
  };
}

export class InitscriptsLive implements LiveApplier {
  readonly name = 'initscripts';

  constructor(private readonly log: Log, private readonly tools: InitscriptsTools = hostInitscriptsTools()) {}

  static installed(ifcfgDir: string): boolean {
    try {
      return realpathSync(ifcfgDir) === STANDARD_IFCFG_DIR && existsSync(join(STANDARD_IFCFG_DIR, 'ifup-eth')) && findProgram('ifup') !== undefined && findProgram('ifdown') !== undefined;
    } catch {
      // the directory does not exist: no initscripts either
      return false;
    }
  }

  canDhcp(): boolean {
    return true;
  }

  async toShared(s: SharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    await this.script('ifdown', s.nic);
    await this.script('ifup', s.bridge);
    await this.script('ifup', s.nic);
  }

  async toUnshared(s: UnsharedShape): Promise<void> {
    checkNames(s.nic, s.bridge);
    await this.script('ifdown', s.nic);
    await this.script('ifdown', s.bridge);
    // ifdown leaves the bridge device itself behind.
    if (linkInfo(await this.tools.readIpState(), s.bridge)?.kind === 'bridge') await runIp(['link', 'del', 'dev', s.bridge], this.tools.ip);
    await this.script('ifup', s.nic);
  }

  private async script(command: 'ifup' | 'ifdown', device: string): Promise<void> {
    const program = this.tools[command];
    for (const step of initscriptsSteps(command, device, program, this.tools.systemd, this.tools.unitSuffix())) {
      const [file = program, ...args] = step.argv;
      try {
        await run(file, args, { timeout: 120_000 });
      } catch (err) {
        const detail = (err as { stderr?: string }).stderr?.trim() || errorMessage(err);
        if (step.mustSucceed) throw new Error(`${step.argv.join(' ')}: ${detail}`);
        this.log.info(`${step.argv.join(' ')}: ${detail}`);
      }
    }
  }
}
