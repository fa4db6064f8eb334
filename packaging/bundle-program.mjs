// SPDX-License-Identifier: GPL-2.0-or-later
// `node packaging/bundle-program.mjs bin/PROGRAM OUT` (run by the Makefile): the one file installed
// for a program of bin/, bundled by esbuild from the TypeScript sources (type-checked before by
// tsc). A bin/ script starts its module with require('../dist/src/….js'); here that module is
// imported from src/ instead, so esbuild sees ES modules throughout and joins them into one scope
// (no wrapper, exports object or lazy require per module, as bundling tsc's CommonJS output gives):
// a cold `shared-interface list` starts ~2 ms sooner. No #! line: the installed wrapper runs it.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [program, out] = process.argv.slice(2);
if (program === undefined || out === undefined) {
  console.error('usage: bundle-program.mjs bin/PROGRAM OUTFILE');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = readFileSync(program, 'utf8').replace(/^#!.*\n/, '');
const starts = [...script.matchAll(/require\('\.\.\/dist\/src\/([\w/-]+)\.js'\)/g)];
if (starts.length !== 1) {
  console.error(`${program}: expected one require('../dist/src/….js'), found ${starts.length}`);
  process.exit(1);
}
const [call, module] = starts[0];
const result = await build({
  stdin: {
    contents: `import * as started from './src/${module}';\n${script.replace(call, 'started').replace(/^'use strict';\n/m, '')}`,
    resolveDir: root,
    sourcefile: program,
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Strict mode, as tsc's output of every module is ("strict" in tsconfig.json); joined into one
  // scope the modules' own directives are gone.
  banner: { js: "'use strict';" },
  outfile: out,
  logLevel: 'warning',
  metafile: true,
});
// What went into the bundle: packaging/bundled-packages.mjs reads it for the spec's bundled() and
// the license texts the package carries.
writeFileSync(`${out}.meta.json`, JSON.stringify(result.metafile));
