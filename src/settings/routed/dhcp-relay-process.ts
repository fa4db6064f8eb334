// SPDX-License-Identifier: GPL-2.0-or-later
// The lifetime of routed sharing's DHCP relay (dnsmasq, its arguments from routed-plan.ts): started
// for one uplink address, its output into our log, started again after it ends on its own, ended
// and waited for on stop. Its pid file is how routed-undo.ts finds it after a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../../clock';
import { errorMessage, type Log } from '../../log';
import { relayArgv, type Ipv4Prefix, type RoutedLinks } from './routed-plan';
import { relayPidFile } from './routed-undo';

const RELAY_RESTART_MS = 2_000;

export interface DhcpRelayOptions {
  readonly links: RoutedLinks;
  readonly stateDir: string;
  /** The LAN's DHCP server; absent: broadcast on the uplink. */
  readonly dhcpServer?: string;
  readonly log: Log;
  readonly clock: Clock;
  /** True once its owner stops: an ending relay is then not started again. */
  readonly stopping: () => boolean;
  /** Asks the owner to read the kernel again, which starts the relay again. */
  readonly restart: () => void;
}

export class DhcpRelayProcess {
  private relay: ChildProcess | undefined;

  constructor(private readonly options: DhcpRelayOptions) {}

  get running(): boolean {
    return this.relay !== undefined;
  }

  async start(uplink: Ipv4Prefix): Promise<void> {
    const { links, stateDir, log, dhcpServer } = this.options;
    const argv = relayArgv(links, uplink, { pidFile: relayPidFile(stateDir, links.uplink), ...(dhcpServer === undefined ? {} : { server: dhcpServer }) });
    const [command = 'dnsmasq', ...args] = argv;
    const relay = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.relay = relay;
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') log.info(`relay: ${line.trim()}`);
    };
    relay.stdout?.on('data', forward);
    relay.stderr?.on('data', forward);
    relay.on('error', (err) => log.error(`the DHCP relay (dnsmasq) did not start: ${errorMessage(err)}`));
    relay.on('exit', (code, signal) => {
      if (this.relay !== relay) return;
      this.relay = undefined;
      if (this.options.stopping()) return;
      log.warn(`the DHCP relay (dnsmasq) ended (${signal ?? `exit ${String(code)}`}); starting it again in ${String(RELAY_RESTART_MS / 1000)} s`);
      this.options.clock.schedule(RELAY_RESTART_MS, this.options.restart);
    });
    log.info(`relaying DHCP from ${links.bridge} to the LAN on ${links.uplink} as ${uplink.address}${dhcpServer === undefined ? ' (broadcast)' : ` to ${dhcpServer}`}`);
  }

  async stop(): Promise<void> {
    const relay = this.relay;
    if (relay === undefined) return;
    this.relay = undefined;
    if (relay.exitCode !== null || relay.signalCode !== null) return;
    const exited = new Promise((r) => relay.once('exit', r));
    relay.kill('SIGTERM');
    await exited;
  }
}
