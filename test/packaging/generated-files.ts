// SPDX-License-Identifier: GPL-2.0-or-later
// The generated man page sources and completion, written into a fresh directory for a test (what
// `make` writes into dist/generated), and scdoc run on them as the Makefile runs it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeBuildFiles } from '../../src/cli/write-build-files';
import { REPO_ROOT } from '../lab/lab';

export interface GeneratedFiles {
  readonly dir: string;
  /** The roff man pages: shared-interface.1, org.fedoraproject.SharedInterface.5, shared-interfaced.8. */
  readonly manPages: readonly string[];
  readonly bashCompletion: string;
  /** The zsh completion, as _shared-interface in this directory (an fpath entry of its own). */
  readonly zshCompletion: string;
}

/** Into a new directory under `parent` (a lab's directory, for files a lab must see). */
export function generateFiles(parent = tmpdir()): GeneratedFiles {
  const dir = mkdtempSync(join(parent, 'shared-interface-generated.'));
  const sources = [...writeBuildFiles(dir).filter((f) => f.endsWith('.scd')), join(REPO_ROOT, 'man', 'shared-interfaced.8.scd')];
  const manPages = sources.map((source) => {
    const page = join(dir, basename(source, '.scd'));
    writeFileSync(page, execFileSync('scdoc', { input: readFileSync(source) }));
    return page;
  });
  const zshCompletion = join(dir, 'zsh', '_shared-interface');
  mkdirSync(join(dir, 'zsh'));
  renameSync(join(dir, 'shared-interface.zsh'), zshCompletion);
  return { dir, manPages, bashCompletion: join(dir, 'shared-interface.bash'), zshCompletion };
}
