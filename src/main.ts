// Composition root of the daemon: wires the bus, the backends and the exported object together.
// No logic of its own beyond start-up, readiness and exit.
import { BusConnection } from './bus/bus-connection';
import { Sharing } from './bridge/sharing';
import { consoleLog as log } from './bridge/log';
import { Dispatcher } from './dbus/dispatcher';
import { PolkitAuthority } from './dbus/polkit-authority';
import { sharedInterfaceImplementation } from './dbus/shared-interface-service';
import { BUS_NAME, sharedInterfaceSpec } from './dbus/shared-interface-spec';
import { BackendSelector } from './settings/backend-selector';
import { DEFAULT_IFCFG_CONFIG, ifcfgFallback, recoverIfcfgChanges } from './settings/ifcfg/ifcfg-backend';
import { KernelObserver } from './settings/kernel-observer';
import { VERSION } from './version';

export interface DaemonOptions {
  /** Exit after this many seconds without calls (0: never), like other bus-activated services. */
  readonly idleTimeoutSeconds: number;
  /** The ifcfg fallback's directory of ifcfg files, and its own state (snapshots, original files). */
  readonly ifcfgDir: string;
  readonly stateDir: string;
}

const USAGE = `usage: shared-interfaced [--idle-timeout SECONDS] [--ifcfg-dir DIR] [--state-dir DIR]
  Shares host network interfaces with VM guests; serves ${BUS_NAME} on the system bus
  (or DBUS_SYSTEM_BUS_ADDRESS). Without NetworkManager, writes ifcfg files into --ifcfg-dir
  (default ${DEFAULT_IFCFG_CONFIG.ifcfgDir}) and keeps their snapshots in --state-dir
  (default ${DEFAULT_IFCFG_CONFIG.stateDir}).`;

export function parseDaemonArgs(argv: readonly string[]): DaemonOptions {
  let idleTimeoutSeconds = 0;
  let { ifcfgDir, stateDir } = DEFAULT_IFCFG_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--idle-timeout' && argv[i + 1] !== undefined && /^\d+$/.test(argv[i + 1] ?? '')) {
      idleTimeoutSeconds = Number(argv[++i]);
    } else if ((a === '--ifcfg-dir' || a === '--state-dir') && (argv[i + 1] ?? '').startsWith('/')) {
      if (a === '--ifcfg-dir') ifcfgDir = argv[++i] ?? ifcfgDir;
      else stateDir = argv[++i] ?? stateDir;
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`shared-interfaced: unexpected argument '${a ?? ''}'\n${USAGE}`);
      process.exit(2);
    }
  }
  return { idleTimeoutSeconds, ifcfgDir, stateDir };
}

export async function main(argv: readonly string[]): Promise<void> {
  const options = parseDaemonArgs(argv);
  const bus = await BusConnection.connect();
  // Without the bus there is nothing to serve: exit non-zero so the service manager restarts us.
  bus.onClosed((reason) => {
    log.error(`lost the system bus: ${reason}`);
    process.exit(1);
  });
  const ifcfg = { ifcfgDir: options.ifcfgDir, stateDir: options.stateDir };
  // A change the ifcfg fallback left unfinished (we died before verifying it) is undone first.
  await recoverIfcfgChanges(ifcfg, log);
  const selector = new BackendSelector(bus, log, ifcfgFallback(ifcfg, log));
  await selector.start();
  const sharing = new Sharing(() => selector.current, new KernelObserver(), log);
  const dispatcher = new Dispatcher(bus, sharedInterfaceSpec, sharedInterfaceImplementation(sharing, VERSION), new PolkitAuthority(bus), log);
  dispatcher.export();
  selector.onChange(() => dispatcher.emitPropertiesChanged());
  if (!(await bus.requestName(BUS_NAME))) {
    log.error(`cannot own ${BUS_NAME}: another process owns it, or the bus policy does not allow us`);
    process.exit(1);
  }
  log.info(`shared-interfaced ${VERSION} ready on ${BUS_NAME} (backend: ${sharing.backendName() || 'none'})`);
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: exiting`);
    void dispatcher.withdraw(BUS_NAME).finally(() => selector.close()).finally(() => process.exit(0));
  };
  if (options.idleTimeoutSeconds > 0) {
    const idleMs = options.idleTimeoutSeconds * 1000;
    const timer = setInterval(() => {
      if (!dispatcher.idleFor(idleMs)) return;
      clearInterval(timer);
      stop(`idle for ${options.idleTimeoutSeconds} s`);
    }, Math.min(idleMs, 1000));
    timer.unref();
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
