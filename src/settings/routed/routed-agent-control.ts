// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's data plane, as the API side drives it: start, stop and status for (uplink,
// bridge). The data plane itself is a process of its own, shared-interface-routed (src/routed-agent.ts),
// so it outlives the bus-activated daemon's idle exit; two ways to run it:
//   - systemdRoutedAgents(): the unit instance shared-interface-routed@UPLINK.service, its bridge
//     (and the LAN's DHCP server, if given) written to /var/lib/shared-interface/routed/UPLINK.conf,
//     which the unit reads (EnvironmentFile=); with `persist`, the instance is enabled too, so it
//     starts at boot (WantedBy=multi-user.target);
//   - processRoutedAgents(): the program started directly, detached (the sealed lab, whose PID 1 is
//     no systemd; hosts without systemd). It does not come back after a reboot by itself.
// Both read the status from the agent's state file (routed-state.ts), the same for either.
//
// What a caller must provide, and what it can rely on:
//   - The guests' bridge exists before start() (the agent refuses a missing one at start; if it goes
//     later, the agent waits for it and applies again when it is back). The uplink is not its port.
//   - The bridge's NetworkManager profile: ipv4.method=disabled and ipv6.method=disabled (or
//     ignore). Proven in the lab (test/lab/routed-guest.test.ts) with NM 1.42: with ipv4 disabled NM
//     leaves the agent's /32 on the bridge and its routes (proto 212) alone, also across
//     `nmcli connection up` of the bridge again. Never ipv4.method=shared (NM's NAT and its own
//     dnsmasq) or auto (a DHCP client on a bridge whose DHCP is the relay's), and no addresses of
//     its own: the bridge borrows the uplink's address as a /32 from the agent. Activating the
//     bridge's profile again (`nmcli connection up`) flushes its addresses (the agent lends it again
//     within a reading, tested) and detaches its ports, the guests' taps: don't, with guests on it.
//   - The uplink keeps its own profile, untouched; it needs an IPv4 address on the LAN's subnet
//     (the agent waits, phase 'waiting', while it has none, and follows it when it changes).
//   - The LAN's DHCP server must answer relayed requests (it sees giaddr = the uplink's address);
//     dnsmasq, ISC/Kea and home routers do. Absent a server address the relay broadcasts on the uplink.
//   - NetworkManager's restart needs nothing: NM 1.42 takes the bridge over as it is and the agent,
//     running through it, keeps the guests reachable (tested in routed-guest.test.ts).
//   - Restarting the agent (the unit restarted, a crash): start() again; the new agent
//     finds the old one's state file, puts the host back from it, and applies again from what the
//     kernel says; guests keep their addresses and are learned again from the bridge's neighbour
//     table. After a reboot the state file (in /run) is gone with the kernel's changes: start()
//     again once the bridge is up (the unit, enabled, does; or NM's dispatcher when the bridge comes up).
//   - stop() returns once the host is back: relay ended, routes and proxy entries removed, the
//     bridge's borrowed address removed, every sysctl at its value before start().
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensurePrivateDir, removeFile, writeFileAtomic } from '../durable-file';
import { systemClock, type Clock } from '../../clock';
import { consoleLog, type Log } from '../../log';
import { routedLinksProblem, type RoutedLinks } from './routed-plan';
import { processAlive, undoRoutedChanges } from './routed-undo';
import { DEFAULT_ROUTED_STATE_DIR, readRoutedState, type RoutedState } from './routed-state';

const run = promisify(execFile);
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

export type { RoutedLinks, RoutedState };

export interface RoutedStartOptions {
  /** The LAN's DHCP server; absent: the relay broadcasts on the uplink. */
  readonly dhcpServer?: string;
}

/** The data plane's three verbs, for the API side. */
export interface RoutedAgents {
  /** Starts (or restarts) the agent for these links; resolves with its first status ('running', or 'waiting' for the uplink's address). */
  start(links: RoutedLinks, options?: RoutedStartOptions): Promise<RoutedState>;
  /** Stops the agent of `uplink`; resolves once the host is back as before start(). No agent: nothing to do. */
  stop(uplink: string): Promise<void>;
  /** What the agent of `uplink` does now, or undefined when none runs. */
  status(uplink: string): Promise<RoutedState | undefined>;
}

export class RoutedAgentError extends Error {
  override readonly name = 'RoutedAgentError';
}

async function liveStatus(stateDir: string, uplink: string): Promise<RoutedState | undefined> {
  const state = await readRoutedState(stateDir, uplink);
  return state !== undefined && processAlive(state.pid) && state.phase !== 'stopping' ? state : undefined;
}

/** Waits for an agent other than `previousPid` to have applied its first reading. */
async function awaitStarted(clock: Clock, stateDir: string, links: RoutedLinks, previousPid: number | undefined, why: () => Promise<string> | string): Promise<RoutedState> {
  const deadline = clock.now() + START_TIMEOUT_MS;
  for (;;) {
    const state = await liveStatus(stateDir, links.uplink);
    if (state !== undefined && state.pid !== previousPid && state.bridge === links.bridge && state.phase !== 'starting') return state;
    const failure = await why();
    if (failure !== '' || clock.now() > deadline) {
      throw new RoutedAgentError(`routed sharing of ${links.uplink} did not start${failure === '' ? ` within ${String(START_TIMEOUT_MS / 1000)} s` : `: ${failure}`}`);
    }
    await clock.sleep(100);
  }
}

function checkLinks(links: RoutedLinks): void {
  const problem = routedLinksProblem(links);
  if (problem !== undefined) throw new RoutedAgentError(problem);
}

/** The agent program: next to this bundle when installed, bin/ of the checkout otherwise. */
export function defaultAgentCommand(): string[] {
  const candidates = [join(__dirname, 'shared-interface-routed'), resolve(__dirname, '..', '..', '..', '..', 'bin', 'shared-interface-routed')];
  const found = candidates.find((c) => existsSync(c)) ?? candidates[candidates.length - 1] ?? 'shared-interface-routed';
  return [process.execPath, found];
}

export interface ProcessAgentsOptions {
  readonly stateDir?: string;
  /** argv of the agent program (default: defaultAgentCommand()). */
  readonly command?: readonly string[];
  /** The agent's output is appended here (default: discarded). */
  readonly logPath?: string;
  /** Runs argv where the agent must run (the lab's namespaces); default: here. */
  readonly wrap?: (argv: readonly string[]) => readonly string[];
  readonly log?: Log;
  readonly clock?: Clock;
}

/** The agent started directly as a detached process: for the lab and hosts without systemd. */
export function processRoutedAgents(options: ProcessAgentsOptions = {}): RoutedAgents {
  const stateDir = options.stateDir ?? DEFAULT_ROUTED_STATE_DIR;
  const log = options.log ?? consoleLog;
  const wrap = options.wrap ?? ((argv) => argv);
  const clock = options.clock ?? systemClock;
  const agents: RoutedAgents = {
    async start(links, startOptions = {}) {
      checkLinks(links);
      const previous = await liveStatus(stateDir, links.uplink);
      if (previous !== undefined) await agents.stop(links.uplink);
      const argv = wrap([
        ...(options.command ?? defaultAgentCommand()), `--uplink=${links.uplink}`, `--bridge=${links.bridge}`, `--state-dir=${stateDir}`,
        ...(startOptions.dhcpServer === undefined ? [] : [`--dhcp-server=${startOptions.dhcpServer}`]),
      ]);
      const out = options.logPath === undefined ? 'ignore' : openSync(options.logPath, 'a');
      const [file = 'node', ...args] = argv;
      const child = spawn(file, args, { detached: true, stdio: ['ignore', out, out] });
      if (typeof out === 'number') closeSync(out);
      let exited = '';
      child.on('exit', (code, signal) => { exited = `the agent exited (${signal ?? `exit ${String(code)}`})${options.logPath === undefined ? '' : `; see ${options.logPath}`}`; });
      child.on('error', (err) => { exited = `the agent could not be started: ${err.message}`; });
      child.unref();
      return awaitStarted(clock, stateDir, links, undefined, () => exited);
    },
    async stop(uplink) {
      const state = await readRoutedState(stateDir, uplink);
      if (state === undefined) return;
      if (processAlive(state.pid)) {
        process.kill(state.pid, 'SIGTERM');
        const deadline = clock.now() + STOP_TIMEOUT_MS;
        while (processAlive(state.pid) && clock.now() < deadline) await clock.sleep(50);
        if (processAlive(state.pid)) {
          log.warn(`the routed agent of ${uplink} (process ${String(state.pid)}) did not stop within ${String(STOP_TIMEOUT_MS / 1000)} s; killing it`);
          process.kill(state.pid, 'SIGKILL');
          while (processAlive(state.pid)) await clock.sleep(50);
        }
      }
      // A clean stop removed the file; a crashed or killed agent left it: put the host back from it.
      await undoRoutedChanges(stateDir, uplink, log, clock);
    },
    status: (uplink) => liveStatus(stateDir, uplink),
  };
  return agents;
}

export const ROUTED_UNIT_PREFIX = 'shared-interface-routed@';
/** The unit reads its bridge and DHCP server from here (EnvironmentFile=), one file per uplink. */
export const DEFAULT_ROUTED_CONFIG_DIR = '/var/lib/shared-interface/routed';

export interface SystemdAgentsOptions {
  readonly stateDir?: string;
  readonly configDir?: string;
  /** Enable the instance too, so it starts at boot. */
  readonly persist?: boolean;
  readonly log?: Log;
  readonly clock?: Clock;
}

export function routedUnitName(uplink: string): string {
  return `${ROUTED_UNIT_PREFIX}${uplink}.service`;
}

/** The agent as the systemd unit instance shared-interface-routed@UPLINK.service. */
export function systemdRoutedAgents(options: SystemdAgentsOptions = {}): RoutedAgents {
  const stateDir = options.stateDir ?? DEFAULT_ROUTED_STATE_DIR;
  const configDir = options.configDir ?? DEFAULT_ROUTED_CONFIG_DIR;
  const log = options.log ?? consoleLog;
  const clock = options.clock ?? systemClock;
  const systemctl = (...args: string[]) => run('systemctl', args, { timeout: STOP_TIMEOUT_MS + 5_000 });
  return {
    async start(links, startOptions = {}) {
      checkLinks(links);
      await ensurePrivateDir(configDir);
      const config = `BRIDGE=${links.bridge}\nDHCP_SERVER=${startOptions.dhcpServer ?? ''}\n`;
      await writeFileAtomic(join(configDir, `${links.uplink}.conf`), Buffer.from(config), 0o644);
      const previous = await liveStatus(stateDir, links.uplink);
      const unit = routedUnitName(links.uplink);
      await systemctl(...(options.persist === true ? ['enable', '--now'] : ['start']), unit);
      if (previous !== undefined) await systemctl('restart', unit);
      // `systemctl is-failed` exits 0 only for a failed unit.
      const failed = () => run('systemctl', ['is-failed', '--quiet', unit]).then(() => `${unit} failed (journalctl -u ${unit})`, () => '');
      return awaitStarted(clock, stateDir, links, previous?.pid, failed);
    },
    async stop(uplink) {
      const unit = routedUnitName(uplink);
      await systemctl('disable', '--now', unit).catch(async () => systemctl('stop', unit));
      await undoRoutedChanges(stateDir, uplink, log, clock);
      await removeFile(join(configDir, `${uplink}.conf`));
    },
    status: (uplink) => liveStatus(stateDir, uplink),
  };
}
