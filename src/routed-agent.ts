// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface-routed --uplink NIC --bridge BRIDGE`: routed sharing's data plane as a process
// (settings/routed/routed-data-plane.ts), under systemd as shared-interface-routed@NIC.service or
// started directly (the sealed lab, hosts without systemd). A composition root like main.ts: the
// arguments, the signals, the exit code; no logic of its own.
import { parseArgs } from 'node:util';
import { errorMessage, journalLog, LOG_LEVELS, type LogLevel } from './log';
import { isIpv4 } from './settings/routed/routed-plan';
import { RoutedDataPlane, RoutedDataPlaneError } from './settings/routed/routed-data-plane';
import { DEFAULT_ROUTED_STATE_DIR } from './settings/routed/routed-state';
import { ensureServicePath } from './service-path';

const USAGE = `usage: shared-interface-routed --uplink NIC --bridge BRIDGE [--dhcp-server=ADDRESS] [--state-dir=DIR] [--log-level=LEVEL]
  Puts the guests on BRIDGE on the LAN of NIC, which cannot be a bridge port (Wi-Fi station,
  MAC-locked port): relays their DHCP to the LAN's server (dnsmasq), answers ARP for them on NIC
  and routes each guest's address to BRIDGE, until SIGTERM or SIGINT, which put the host back.
  --dhcp-server: the LAN's DHCP server (default, or empty: broadcast on NIC). --state-dir (default
  ${DEFAULT_ROUTED_STATE_DIR}): NIC.json, what it changed and what it does now.
  --log-level: ${LOG_LEVELS.join(', ')} (default info).`;

export async function main(argv: readonly string[]): Promise<number> {
  // Started by a daemon that D-Bus activated without systemd, its environment is empty.
  ensureServicePath();
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv], strict: true, allowPositionals: false,
      options: {
        uplink: { type: 'string' }, bridge: { type: 'string' }, 'dhcp-server': { type: 'string' },
        'state-dir': { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`shared-interface-routed: ${errorMessage(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const usageError = (why: string): number => {
    process.stderr.write(`shared-interface-routed: ${why}\n${USAGE}\n`);
    return 2;
  };
  const { uplink, bridge } = values;
  if (uplink === undefined || bridge === undefined) return usageError('--uplink and --bridge are required');
  const server = values['dhcp-server'] === '' ? undefined : values['dhcp-server'];
  if (server !== undefined && !isIpv4(server)) return usageError(`--dhcp-server takes an IPv4 address, not '${server}'`);
  const stateDir = values['state-dir'] ?? DEFAULT_ROUTED_STATE_DIR;
  if (!stateDir.startsWith('/')) return usageError('--state-dir takes an absolute path');
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) return usageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}`);
  const log = journalLog(logLevel as LogLevel);

  let plane: RoutedDataPlane;
  try {
    plane = await RoutedDataPlane.start({ links: { uplink, bridge }, stateDir, log, ...(server === undefined ? {} : { dhcpServer: server }) });
  } catch (err) {
    log.error(`routed sharing of ${uplink} through ${bridge} did not start: ${errorMessage(err)}`);
    return err instanceof RoutedDataPlaneError ? 1 : 70;
  }
  log.info(`routed sharing of ${uplink} through ${bridge}: ready (${plane.status().phase})`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info(`routed sharing of ${uplink}: ${signal}, putting the host back`);
  try {
    await plane.stop();
  } catch (err) {
    log.error(`routed sharing of ${uplink}: putting the host back failed: ${errorMessage(err)}`);
    return 1;
  }
  return 0;
}
