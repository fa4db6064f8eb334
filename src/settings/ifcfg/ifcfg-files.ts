// SPDX-License-Identifier: GPL-2.0-or-later
// File I/O of the ifcfg backend: atomic writes, and the journal that makes a change undoable
// (netcf keeps a snapshot of the network configuration outside the directory the same way). The
// pure format code lives in ifcfg-shvar.ts / ifcfg-translate.ts, and the one read-back of a file
// we write is there, in memory, before writing (formatShvar, as NetworkManager's keyfile writer).
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import {
  ensurePrivateDir, isErrno, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, readIfExists, removeFile, writeFileAtomic,
} from '../durable-file';
import { IfcfgError } from './ifcfg-error';
import * as json from '../json-codec';
import { parseShvar, shvarProblems } from './ifcfg-shvar';

/** The mode initscripts' own files have (and the issue asks for). */
export const IFCFG_FILE_MODE = 0o644;
// The ifcfg backend's importers keep finding the durable-file pieces here.
export { ensurePrivateDir, isErrno, readIfExists, removeFile, temporaryName, writeFileAtomic } from '../durable-file';

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

// ---------------------------------------------------------------------------------------------
// The journal: one change in progress, kept in <state>/transaction/.

/** What a journal remembers of one file before the change touched it. */
interface JournalEntry {
  readonly path: string;
  readonly existed: boolean;
  readonly mode: number;
  /** The copy's name inside the journal's files/ directory. */
  readonly copy: string;
}

interface JournalManifest {
  readonly version: 1;
  readonly createdAt: string;
  readonly entries: readonly JournalEntry[];
  /** What the backend needs to put the running system back; opaque to this module. */
  readonly live: unknown;
}

const JOURNAL_DIR = 'transaction';
const MANIFEST = 'manifest.json';

/**
 * A snapshot of the files one change touches, taken before it touches each of them, and restored
 * byte for byte by restore(). The manifest is replaced atomically after every copy, so whatever
 * moment the daemon dies at, the journal on disk covers every file already changed. Paths are
 * confined to `roots` (the ifcfg directory and our state directory), also when read back from disk.
 */
export class FileJournal {
  private entries: JournalEntry[] = [];
  private live: unknown = undefined;
  private readonly createdAt: string;

  private constructor(private readonly dir: string, private readonly roots: readonly string[], manifest?: JournalManifest) {
    this.createdAt = manifest?.createdAt ?? new Date().toISOString();
    if (manifest !== undefined) {
      this.entries = [...manifest.entries];
      this.live = manifest.live;
    }
  }

  static directory(stateDir: string): string {
    return join(stateDir, JOURNAL_DIR);
  }

  /** Starts a new journal; fails when one is already there (an earlier change was not finished). */
  static async create(stateDir: string, roots: readonly string[]): Promise<FileJournal> {
    await ensurePrivateDir(stateDir);
    const dir = FileJournal.directory(stateDir);
    // mkdir without `recursive` fails with EEXIST: two journals never share a directory.
    await mkdir(dir, { mode: PRIVATE_DIR_MODE });
    await ensurePrivateDir(join(dir, 'files'));
    const journal = new FileJournal(dir, roots.map((r) => resolve(r)));
    await journal.saveManifest();
    return journal;
  }

  /** The journal a previous run left behind, or undefined. A directory without a manifest is an empty journal. */
  static async load(stateDir: string, roots: readonly string[]): Promise<FileJournal | undefined> {
    const dir = FileJournal.directory(stateDir);
    const text = await readIfExists(join(dir, MANIFEST));
    if (text === undefined) {
      if ((await stat(dir).catch(() => undefined)) === undefined) return undefined;
      return new FileJournal(dir, roots.map((r) => resolve(r)));
    }
    const manifest = parseManifest(text.toString('utf8'));
    const journal = new FileJournal(dir, roots.map((r) => resolve(r)), manifest);
    for (const e of journal.entries) journal.checkPath(e.path);
    return journal;
  }

  get liveState(): unknown {
    return this.live;
  }

  get paths(): string[] {
    return this.entries.map((e) => e.path);
  }

  /** Copies each file (or notes that it does not exist) before anything changes it. */
  async track(paths: readonly string[]): Promise<void> {
    for (const raw of paths) {
      const path = this.checkPath(resolve(raw));
      if (this.entries.some((e) => e.path === path)) continue;
      const copy = String(this.entries.length);
      const bytes = await readIfExists(path);
      const mode = bytes === undefined ? IFCFG_FILE_MODE : (await stat(path)).mode & 0o7777;
      if (bytes !== undefined) await writeFileAtomic(join(this.dir, 'files', copy), bytes, PRIVATE_FILE_MODE);
      this.entries.push({ path, existed: bytes !== undefined, mode, copy });
      await this.saveManifest();
    }
  }

  async setLiveState(live: unknown): Promise<void> {
    this.live = live;
    await this.saveManifest();
  }

  /** Puts every tracked file back as it was: same bytes and mode, or absent. */
  async restore(): Promise<void> {
    for (const e of [...this.entries].reverse()) {
      if (!e.existed) {
        await removeFile(e.path);
        continue;
      }
      const bytes = await readFile(join(this.dir, 'files', e.copy));
      await writeFileAtomic(e.path, bytes, e.mode);
    }
  }

  /** Ends the journal: removing the manifest is the commit point, the copies go after it. */
  async discard(): Promise<void> {
    await removeFile(join(this.dir, MANIFEST));
    await rm(this.dir, { recursive: true, force: true });
  }

  private checkPath(path: string): string {
    const inside = this.roots.some((root) => {
      const rel = relative(root, path);
      // Directly inside a root: no '..', no subdirectory.
      return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.includes(sep);
    });
    if (!inside) throw new IfcfgError('Internal', `the journal refers to ${path}, outside ${this.roots.join(' and ')}`);
    return path;
  }

  private async saveManifest(): Promise<void> {
    const manifest: JournalManifest = { version: 1, createdAt: this.createdAt, entries: this.entries, live: this.live };
    await writeFileAtomic(join(this.dir, MANIFEST), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), PRIVATE_FILE_MODE);
  }
}

const manifestCodec = json.object<JournalManifest>({
  version: json.oneOf(1),
  createdAt: json.string(),
  entries: json.array(json.object<JournalEntry>({ path: json.string(), existed: json.boolean, mode: json.number, copy: json.string(/^[0-9]+$/) })),
  live: json.opaque,
});

function parseManifest(text: string): JournalManifest {
  try {
    const manifest = json.parseJson(text, manifestCodec);
    return { ...manifest, entries: manifest.entries.map((e) => ({ ...e, mode: e.mode & 0o7777 })) };
  } catch (err) {
    if (err instanceof json.JsonShapeError) throw new IfcfgError('Internal', `the journal's manifest is damaged: ${err.message}`);
    throw err;
  }
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
