// SPDX-License-Identifier: GPL-2.0-or-later
// Composition root of the daemon: wires the bus, the backends and the exported object together.
// No logic of its own beyond start-up, readiness and exit.
import { BusConnection, OUTGOING_LIMITS } from './dbus-wire/bus-connection';
import { FirewallKeeper } from './bridge/firewall-keeper';
import { Sharing } from './bridge/sharing';
import { systemClock } from './clock';
import { parseArgs } from 'node:util';
import { errorMessage, journalLog, LOG_LEVELS, type LogLevel } from './log';
import { LibvirtInterfaces } from './bridge/libvirt-interfaces';
import { Dispatcher } from './service/dispatcher';
import { DEFAULT_INTERACTIVE_TIMEOUT_SECONDS, PolkitAuthority } from './service/polkit-authority';
import { encodeInterfaceListing } from './service/interface-listing';
import { ListingChanges } from './service/listing-changes';
import { listingView, sharedInterfaceImplementation } from './service/shared-interface-service';
import { BUS_NAME, shareErrorMapping, sharedInterfaceSpec } from './service/shared-interface-spec';
import { BackendSelector, settingsBackendCandidates } from './settings/backend-selector';
import { FirewallTools } from './settings/firewall/firewall-tools';
import { recoverIfcfgChanges } from './settings/ifcfg/ifcfg-recovery';
import { DEFAULT_IFCFG_CONFIG } from './settings/ifcfg/ifcfg-state';
import { KernelObserver } from './settings/kernel-observer';
import { NmChangeRecords } from './settings/nm/nm-change-record';
import { hostGuestRouting } from './settings/routed/guest-routing-agents';
import { VERSION } from './version';
import { ensureServicePath } from './service-path';

export interface DaemonOptions {
  /** Exit after this many seconds without calls (0: never), like other bus-activated services. */
  readonly idleTimeoutSeconds: number;
  /** The ifcfg fallback's directory of ifcfg files, and its own state (snapshots, original files). */
  readonly ifcfgDir: string;
  readonly stateDir: string;
  readonly logLevel: LogLevel;
  /** How long an interactive authorization may wait for its answer before it is cancelled. */
  readonly authorizationTimeoutSeconds: number;
}

const USAGE = `usage: shared-interfaced [--idle-timeout=SECONDS] [--ifcfg-dir=DIR] [--state-dir=DIR] [--log-level=LEVEL]
                         [--authorization-timeout=SECONDS]
  Shares host network interfaces with VM guests; serves ${BUS_NAME} on the system bus
  (or DBUS_SYSTEM_BUS_ADDRESS). Without NetworkManager, writes ifcfg files into --ifcfg-dir
  (default ${DEFAULT_IFCFG_CONFIG.ifcfgDir}). --state-dir (default ${DEFAULT_IFCFG_CONFIG.stateDir})
  keeps the ifcfg snapshots and the records of NetworkManager changes in progress, finished at
  start if a change was left unfinished. --log-level: ${LOG_LEVELS.join(', ')} (default info).
  --authorization-timeout: an interactive authorization not answered within it is cancelled
  (default ${DEFAULT_INTERACTIVE_TIMEOUT_SECONDS}).
  See shared-interfaced(8).`;

export type DaemonArgs = { readonly kind: 'run'; readonly options: DaemonOptions } | { readonly kind: 'exit'; readonly code: number; readonly text: string };

/** The daemon's command line, read by util.parseArgs; a bad value is an exit with status 2 and the usage. */
export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  const usageError = (why: string): DaemonArgs => ({ kind: 'exit', code: 2, text: `shared-interfaced: ${why}\n${USAGE}` });
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'idle-timeout': { type: 'string' }, 'ifcfg-dir': { type: 'string' }, 'state-dir': { type: 'string' },
        'log-level': { type: 'string' }, 'authorization-timeout': { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' },
      },
    }));
  } catch (err) {
    return usageError(errorMessage(err).split(/\.(?: |$)/)[0] ?? '');
  }
  if (values.help === true) return { kind: 'exit', code: 0, text: USAGE };
  if (values.version === true) return { kind: 'exit', code: 0, text: `shared-interfaced ${VERSION}` };
  const idle = values['idle-timeout'] ?? '0';
  if (!/^\d+$/.test(idle)) return usageError(`--idle-timeout takes a whole number of seconds, not '${idle}'`);
  for (const dir of ['ifcfg-dir', 'state-dir'] as const) {
    if (values[dir] !== undefined && !values[dir].startsWith('/')) return usageError(`--${dir} takes an absolute path`);
  }
  const authorizationTimeout = values['authorization-timeout'] ?? String(DEFAULT_INTERACTIVE_TIMEOUT_SECONDS);
  if (!/^\d+$/.test(authorizationTimeout) || Number(authorizationTimeout) < 1) {
    return usageError(`--authorization-timeout takes a whole number of seconds (at least 1), not '${authorizationTimeout}'`);
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) return usageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}`);
  return {
    kind: 'run',
    options: {
      idleTimeoutSeconds: Number(idle),
      ifcfgDir: values['ifcfg-dir'] ?? DEFAULT_IFCFG_CONFIG.ifcfgDir,
      stateDir: values['state-dir'] ?? DEFAULT_IFCFG_CONFIG.stateDir,
      logLevel: logLevel as LogLevel,
      authorizationTimeoutSeconds: Number(authorizationTimeout),
    },
  };
}

export async function main(argv: readonly string[]): Promise<void> {
  ensureServicePath();
  const parsed = parseDaemonArgs(argv);
  if (parsed.kind === 'exit') {
    (parsed.code === 0 ? process.stdout : process.stderr).write(`${parsed.text}\n`);
    process.exit(parsed.code);
  }
  const { options } = parsed;
  const log = journalLog(options.logLevel);
  log.debug(`options: ${JSON.stringify(options)}`);
  const bus = await BusConnection.connect({ log, outgoing: OUTGOING_LIMITS });
  // Without the bus there is nothing to serve: exit non-zero so the service manager restarts us.
  bus.onClosed((reason) => {
    log.error(`lost the system bus: ${reason}`);
    process.exit(1);
  });
  const ifcfg = { ifcfgDir: options.ifcfgDir, stateDir: options.stateDir };
  // A change the ifcfg fallback left unfinished (we died before verifying it) is undone first.
  await recoverIfcfgChanges(ifcfg, log);
  // NetworkManager's changes left unfinished (a crash, a restart of NetworkManager, a reboot) are
  // finished by the NM backend from these records as soon as NetworkManager is there.
  const nmRecords = new NmChangeRecords(NmChangeRecords.directory(options.stateDir), log, systemClock);
  const routing = hostGuestRouting(log);
  const selector = new BackendSelector(settingsBackendCandidates({ bus, log, clock: systemClock, nmRecords, ifcfg, routing }), log);
  // The name is owned before the backend's first reading of the host (seconds at thousands of
  // links): bus activation answers within its timeout, and calls wait for the reading instead.
  // A person's listing is served once the backend has read what it shows (at thousands of links,
  // long before it has read every device); every other call waits for the whole reading.
  const listable = selector.start();
  const backendReady = listable.then(() => selector.complete);
  const observer = new KernelObserver(log);
  const firewall = new FirewallKeeper(new FirewallTools(), log);
  // The first reading, so the first listing has the firewall's notes.
  firewall.refreshIfStale();
  // The domain reports progress and pending changes through the dispatcher, created just below.
  let dispatcher: Dispatcher<typeof sharedInterfaceSpec> | undefined;
  const sharing = new Sharing(selector, observer, log, firewall, systemClock, {
    progress: (nic, step, message) => dispatcher?.emit('Progress', [nic, step, message]),
    pendingChanged: () => dispatcher?.emitPropertiesChanged(),
  }, routing);
  const libvirt = new LibvirtInterfaces(sharing, selector, observer);
  dispatcher = new Dispatcher(bus, sharedInterfaceSpec, shareErrorMapping, sharedInterfaceImplementation(sharing, libvirt, VERSION), new PolkitAuthority(bus, log, options.authorizationTimeoutSeconds * 1000), log);
  dispatcher.export(backendReady, { members: new Set(['ListInterfaces']), ready: listable });
  if (!(await bus.requestName(BUS_NAME))) {
    log.error(`cannot own ${BUS_NAME}: another process owns it, or the bus policy does not allow us`);
    process.exit(1);
  }
  log.info(`shared-interfaced ${VERSION} ready on ${BUS_NAME}`);
  // From the first listing on: what the rest of the reading adds to a person's listing is signalled.
  await listable;
  // InterfacesChanged: the listing compared once per burst of the backend's or the kernel's events.
  const listingChanges = new ListingChanges(listingView(sharing), (changed, removed) => {
    dispatcher.emit('InterfacesChanged', [encodeInterfaceListing(changed), [...removed]]);
  });
  listingChanges.start();
  const stopWatchingLinks = observer.watchLinks(() => listingChanges.changed());
  // Every way out (also losing the bus) ends the monitor with us, rather than leaving it orphaned.
  process.once('exit', stopWatchingLinks);
  selector.onChange(() => {
    dispatcher.emitPropertiesChanged();
    listingChanges.changed();
  });
  await backendReady;
  log.info(`serving (backend: ${sharing.backendName() || 'none'})`);
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: exiting`);
    listingChanges.close();
    stopWatchingLinks();
    // Nobody would be left to confirm a pending change: undo it now rather than at its deadline.
    void sharing.rollbackPending(`the service is stopping (${why})`)
      .then(() => dispatcher.withdraw(BUS_NAME)).finally(() => selector.close()).finally(() => process.exit(0));
  };
  if (options.idleTimeoutSeconds > 0) {
    const idleMs = options.idleTimeoutSeconds * 1000;
    const checkIdle = (): void => {
      // A change awaiting confirmation keeps us here: its deadline is ours to keep.
      if (!dispatcher.idleFor(idleMs) || sharing.pending().size > 0) {
        systemClock.schedule(Math.min(idleMs, 1000), checkIdle, { background: true });
        return;
      }
      stop(`idle for ${options.idleTimeoutSeconds} s`);
    };
    systemClock.schedule(Math.min(idleMs, 1000), checkIdle, { background: true });
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
