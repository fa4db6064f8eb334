// SPDX-License-Identifier: GPL-2.0-or-later
// The journal that makes a change of files undoable, kept in <state>/transaction/ (netcf kept a
// snapshot of the network configuration outside the directory the same way): a copy of each file
// taken before the change touches it, restored byte for byte, and found again by the next start
// if the daemon died in between. One journal per state directory, so one change at a time.
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import {
  ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, readIfExists, removeFile, writeFileAtomic,
} from './durable-file';
import * as json from './json-codec';

/** A journal that cannot be trusted: damaged on disk, or naming a file outside its roots. */
export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

// A file that did not exist is removed on restore; its mode is never used.
const ABSENT_FILE_MODE = 0o644;

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
 * confined to `roots` (the directories a backend writes: ifcfg's and our state directory), also
 * when read back from disk.
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
      const mode = bytes === undefined ? ABSENT_FILE_MODE : (await stat(path)).mode & 0o7777;
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
    if (!inside) throw new JournalError(`the journal refers to ${path}, outside ${this.roots.join(' and ')}`);
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
    if (err instanceof json.JsonShapeError) throw new JournalError(`the journal's manifest is damaged: ${err.message}`);
    throw err;
  }
}

// One change at a time per state directory (it holds one journal): each caller waits for the
// previous one to release, also one still running on a backend the selector has replaced. Across
// processes, create() refusing an existing journal is the guard.
const stateDirLocks = new Map<string, Promise<void>>();

/** Waits for the state directory's previous holder in this process; returns the release. */
export async function lockStateDir(stateDir: string): Promise<() => void> {
  const key = resolve(stateDir);
  let release!: () => void;
  const previous = stateDirLocks.get(key) ?? Promise.resolve();
  const mine = new Promise<void>((r) => { release = r; });
  stateDirLocks.set(key, mine);
  await previous;
  return () => {
    if (stateDirLocks.get(key) === mine) stateDirLocks.delete(key);
    release();
  };
}
