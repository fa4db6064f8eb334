// SPDX-License-Identifier: GPL-2.0-or-later
// Live apply without NetworkManager: makes the running system match a shared or unshared shape
// without a reboot. The ifcfg backend uses initscripts' own ifup/ifdown where they are installed
// (ifcfg/ifcfg-live-initscripts.ts), otherwise iproute2 and the DHCP client the system has
// (iproute2-applier.ts). Every command runs with an argument vector, never through a shell;
// every value passed on comes from the kernel's JSON or from names validated before, and is
// checked again against a pattern.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { errorMessage } from '../../log';
import type { IpConfig } from './ip-config';
import { isInterfaceName } from '../../bridge/interface-name';

const run = promisify(execFile);

// The two shapes a (NIC, bridge) pair can have.

export interface SharedShape {
  readonly nic: string;
  readonly bridge: string;
  /** The NIC's MAC, pinned on the bridge. */
  readonly mac: string;
  readonly stp: boolean;
  /** Seconds. */
  readonly forwardDelay: number;
  /** What the bridge carries once shared. */
  readonly config: IpConfig;
}

export interface UnsharedShape {
  readonly nic: string;
  readonly bridge: string;
  /** What the NIC carries once unshared. */
  readonly config: IpConfig;
}

export interface LiveApplier {
  readonly name: string;
  /** Whether this applier can bring up a DHCP configuration. */
  canDhcp(): boolean;
  toShared(shape: SharedShape): Promise<void>;
  toUnshared(shape: UnsharedShape): Promise<void>;
}

/** Runs `ip ARGS` (the program `ip`, or the one given); its stderr is the error's message. */
export async function runIp(args: readonly string[], program = 'ip'): Promise<void> {
  try {
    await run(program, args, { timeout: 10_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || errorMessage(err)}`);
  }
}

/** Refuses anything that is not an interface name before it reaches a command line. */
export function checkNames(...names: string[]): void {
  for (const n of names) if (!isInterfaceName(n)) throw new Error(`not an interface name: ${JSON.stringify(n)}`);
}
