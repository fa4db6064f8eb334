// SPDX-License-Identifier: GPL-2.0-or-later
// Builds the Cockpit page into dist/cockpit-page/: esbuild bundles the TypeScript (type-checked
// before by `tsc -p cockpit`) and the CSS with the PatternFly pieces it imports; index.html and
// manifest.json are copied. `make install` installs that directory as
// /usr/share/cockpit/shared-interface/.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'cockpit-page');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src', 'index.ts'), join(here, 'src', 'index.css')],
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  // What Cockpit 287's supported browsers run.
  target: ['chrome100', 'firefox100', 'safari15'],
  // Fonts are Cockpit's (../../static/fonts); PatternFly's own font and icon files stay out.
  external: ['../../static/*', './assets/*', '../assets/*', '../../assets/*'],
  logLevel: 'warning',
  legalComments: 'none',
  metafile: true,
});
// What went into the page, for packaging/bundled-packages.mjs (not installed).
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile));
for (const file of ['index.html', 'manifest.json']) copyFileSync(join(here, file), join(out, file));
