// SPDX-License-Identifier: GPL-2.0-or-later
// File I/O of the ifcfg directory: reading its files strictly (UTF-8, shell syntax we can read
// without a shell), finding the NICs shared through bridges we wrote, and writing a file only when
// it reads back as written. The pure format code lives in ifcfg-shvar.ts / ifcfg-translate.ts
// (formatShvar reads itself back in memory, as NetworkManager's keyfile writer does); crash-safe
// writes are durable-file.ts's, the undo journal file-journal.ts's.
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage } from '../../log';
import { isErrno, readIfExists, writeFileAtomic } from '../durable-file';
import { IfcfgError } from './ifcfg-error';
import { parseShvar, shvarGet, shvarProblems, type ShvarFile } from './ifcfg-shvar';
import { OUR_FILE_MARKER } from './ifcfg-translate';
import { isInterfaceName } from './ifcfg-validate';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Whether the ifcfg-rh plugin and initscripts both skip `name` (what temporaryName promises). */
export function ignoredByIfcfgReaders(name: string): boolean {
  const nmReads = /^(ifcfg-|keys-|route-|route6-)/.test(name) && !/(\.bak|~|\.orig|\.rej|\.rpmnew|\.augnew|\.augtmp|;[0-9a-fA-F]{8})$/i.test(name);
  const initscriptsReads = name.startsWith('ifcfg-') && !/(~|\.bak|\.old|\.orig|\.rpmnew|\.rpmorig|\.rpmsave)$/.test(name);
  return !nmReads && !initscriptsReads;
}

/** Decodes a file we are about to parse; a file that is not UTF-8 is refused, not guessed at. */
export function decodeIfcfgText(bytes: Buffer, name: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new IfcfgError('InvalidSyntax', `${name} is not valid UTF-8 text.`, { hint: `Convert ${name} to UTF-8, then try again.` });
  }
}

/**
 * Writes an ifcfg-style file atomically, unless our parser would misread a line of it (text from
 * formatShvar, which has read itself back already).
 */
export async function writeShvarFile(path: string, text: string): Promise<void> {
  const problems = shvarProblems(parseShvar(text));
  if (problems.length > 0) throw new IfcfgError('Internal', `refusing to write ${basename(path)}: ${problems[0]?.message ?? ''}`);
  await writeFileAtomic(path, Buffer.from(text, 'utf8'));
}

/** Names in `dir` (for tests and the shared-map scan); none when it does not exist. */
export async function listDirectory(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/** An ifcfg-<device> file of the directory, as read. */
export interface IfcfgDirectoryFile {
  readonly fileName: string;
  /** From the file's name (its DEVICE, read with shvarGet, may say otherwise). */
  readonly device: string;
  readonly text: string;
  readonly file: ShvarFile;
}

/**
 * Each readable ifcfg-<device> file of `dir`, in name order. A file we cannot read (not UTF-8,
 * shell syntax we refuse) describes nothing; `unreadable` hears why.
 */
export async function readIfcfgDirectory(dir: string, unreadable: (fileName: string, why: string) => void = () => undefined): Promise<IfcfgDirectoryFile[]> {
  const files: IfcfgDirectoryFile[] = [];
  for (const fileName of await listDirectory(dir)) {
    const device = /^ifcfg-(.+)$/.exec(fileName)?.[1];
    if (device === undefined || !isInterfaceName(device)) continue;
    const bytes = await readIfExists(join(dir, fileName));
    if (bytes === undefined) continue;
    try {
      const text = decodeIfcfgText(bytes, fileName);
      files.push({ fileName, device, text, file: parseShvar(text) });
    } catch (err) {
      unreadable(fileName, errorMessage(err));
    }
  }
  return files;
}

/** NIC → bridge for every ifcfg-<nic> with BRIDGE= naming a bridge file we wrote. */
export async function readSharedMap(dir: string): Promise<Map<string, string>> {
  const ours = new Set<string>();
  const ports = new Map<string, string>();
  for (const { device, text, file } of await readIfcfgDirectory(dir)) {
    try {
      if (text.startsWith(OUR_FILE_MARKER) && shvarGet(file, 'TYPE') === 'Bridge') ours.add(shvarGet(file, 'DEVICE') || device);
      const bridge = shvarGet(file, 'BRIDGE');
      if (bridge !== undefined && bridge !== '') ports.set(device, bridge);
    } catch {
      // a value we cannot read is not one we wrote: the file shares nothing through us
    }
  }
  return new Map([...ports].filter(([, bridge]) => ours.has(bridge)));
}
