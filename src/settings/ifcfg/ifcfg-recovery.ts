// SPDX-License-Identifier: GPL-2.0-or-later
// Undoing a change of the ifcfg backend from its journal: on rollback, and when the daemon starts
// and finds a journal a previous run left (it died between writing and verifying). The files come
// back byte for byte, then the running system is put back into the shape the journal recorded.
import { type Log, errorMessage } from '../../log';
import { FileJournal } from '../file-journal';
import { DhcpClients } from '../host-tools/dhcp-client';
import { Iproute2Live } from '../host-tools/iproute2-applier';
import type { LiveApplier } from '../host-tools/live-applier';
import { InitscriptsLive } from './ifcfg-live-initscripts';
import { decodeLiveRestore, journalRoots, type IfcfgConfig } from './ifcfg-state';

/** initscripts' ifup/ifdown where they read our directory, iproute2 and a DHCP client otherwise. */
export function chooseLiveApplier(config: IfcfgConfig, log: Log): LiveApplier {
  return InitscriptsLive.installed(config.ifcfgDir) ? new InitscriptsLive(log) : new Iproute2Live(new DhcpClients(config.stateDir, log));
}

/**
 * Restores a journal's files, then its live state, then removes it; keeps it when the files fail
 * (throwing). Returns what of the running system could not be put back ([] when all was): the
 * files are back then, so the journal has done its part, but the caller must not hear "as it was".
 */
export async function restoreJournal(journal: FileJournal, live: LiveApplier, log: Log): Promise<string[]> {
  await journal.restore();
  log.info(`restored ${journal.paths.length} file(s) from the snapshot`);
  const state = decodeLiveRestore(journal.liveState);
  const unrestored: string[] = [];
  if (state !== undefined) {
    try {
      if (state.shape === 'unshared') await live.toUnshared(state);
      else await live.toShared(state);
    } catch (err) {
      const what = state.shape === 'unshared' ? `${state.nic} without ${state.bridge}` : `${state.nic} shared through ${state.bridge}`;
      unrestored.push(`the files are restored, but the running system could not be brought back to ${what} (${errorMessage(err)}); bring ${state.nic} up by hand or reboot`);
      log.error(`the files are restored, but the running system could not be: ${errorMessage(err)}`);
    }
  }
  await journal.discard();
  return unrestored;
}

/**
 * Restores a change that a previous run of the daemon left unfinished (it died between writing and
 * verifying): the files byte for byte and the live state the journal recorded.
 */
export async function recoverIfcfgChanges(config: IfcfgConfig, log: Log): Promise<void> {
  try {
    const journal = await FileJournal.load(config.stateDir, journalRoots(config));
    if (journal === undefined) return;
    log.info(`found the snapshot of an unfinished change in ${FileJournal.directory(config.stateDir)}; restoring it`);
    const unrestored = await restoreJournal(journal, chooseLiveApplier(config, log), log);
    if (unrestored.length === 0) log.info('the unfinished change is undone');
    else log.error(`the unfinished change is undone in part: ${unrestored.join('; ')}`);
  } catch (err) {
    log.error(`cannot restore the snapshot in ${FileJournal.directory(config.stateDir)}: ${errorMessage(err)}`);
  }
}
