// SPDX-License-Identifier: GPL-2.0-or-later
// `node dist/src/cli/write-build-files.js OUTDIR` (run by the Makefile): the files generated from
// the command table and the D-Bus spec: the scdoc(5) sources of shared-interface(1) and
// org.fedoraproject.SharedInterface(5) (scdoc turns them into roff), and the shell completions (bash's and zsh's).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiManPage } from '../service/api-man-page';
import { BUS_NAME, sharedInterfaceSpec } from '../service/shared-interface-spec';
import { COMMANDS } from './cli-commands';
import { cliManSections, fillTemplate } from './cli-man-page';
import { bashCompletion, zshCompletion } from './completion';
import { GLOBAL_OPTIONS } from './global-options';

const MAN_DIR = join(__dirname, '..', '..', '..', 'man');

export function writeBuildFiles(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    ['shared-interface.1.scd', fillTemplate(readFileSync(join(MAN_DIR, 'shared-interface.1.scd.in'), 'utf8'), cliManSections(COMMANDS, GLOBAL_OPTIONS))],
    [`${BUS_NAME}.5.scd`, apiManPage(sharedInterfaceSpec, BUS_NAME, 'shared-interface.service')],
    ['shared-interface.bash', bashCompletion(COMMANDS, GLOBAL_OPTIONS)],
    ['shared-interface.zsh', zshCompletion(COMMANDS, GLOBAL_OPTIONS)],
  ];
  return files.map(([name, text]) => {
    writeFileSync(join(outDir, name), text);
    return join(outDir, name);
  });
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    console.error('usage: write-build-files.js OUTDIR');
    process.exit(2);
  }
  for (const file of writeBuildFiles(outDir)) console.log(file);
}
