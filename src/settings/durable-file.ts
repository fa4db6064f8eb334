// SPDX-License-Identifier: GPL-2.0-or-later
// Files that must survive a crash or a power cut at any moment: a reader finds either the old file
// or the whole new one (write, fsync, rename, fsync of the directory). The ifcfg backend's files
// and journal and NetworkManager's change records are written through here.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const NEW_FILE_MODE = 0o644;
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * The temporary name a file is written under before it is renamed into place. NetworkManager's
 * ifcfg-rh plugin only reads names starting with `ifcfg-`, `keys-`, `route-`, `route6-` and skips
 * names ending in `~` (utils_should_ignore_file); initscripts globs `ifcfg-*` and drops names ending
 * in `~` (__sed_discard_ignored_files). A leading `.` and a trailing `~` satisfy both, twice over.
 */
export function temporaryName(name: string): string {
  return `.${name}.${randomBytes(6).toString('hex')}~`;
}

/** The file's bytes, or undefined when there is none. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * Writes `data` to `path` so that a reader sees either the old file or the whole new one: a
 * temporary file in the same directory (named so initscripts and NetworkManager ignore it),
 * fsync, rename over the target, fsync of the directory.
 * A file rewritten keeps its owner, and its mode unless `mode` is given (an admin's 0600 on a file
 * with a WPA key or a password stays 0600); a new file gets `mode`, or 0644 (what initscripts' own files have).
 */
export async function writeFileAtomic(path: string, data: Buffer, mode?: number): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, temporaryName(basename(path)));
  const existing = await stat(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
  const fileMode = mode ?? (existing === undefined ? NEW_FILE_MODE : existing.mode & 0o7777);
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, fileMode & 0o777);
  try {
    try {
      await handle.writeFile(data);
      if (existing !== undefined && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.())) await handle.chown(existing.uid, existing.gid);
      // The umask may have narrowed the mode open() was given (and chown clears set-id bits).
      await handle.chmod(fileMode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Removes `path` (if it exists) and makes the removal durable. */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  await syncDirectory(dirname(path));
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
