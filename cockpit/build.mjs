// SPDX-License-Identifier: GPL-2.0-or-later
// Builds the Cockpit page into dist/cockpit-page/: esbuild bundles the TypeScript (type-checked
// before by `tsc -p cockpit`) and the CSS with the PatternFly pieces it imports; index.html and
// manifest.json are copied. `make install` installs that directory as
// /usr/share/cockpit/shared-interface/. The translation template po/shared-interface.pot is
// extracted from the sources (extract-pot.mjs) on the way.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POT_PATH, potText, scan } from './extract-pot.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'cockpit-page');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
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
});
for (const file of ['index.html', 'manifest.json']) copyFileSync(join(here, file), join(out, file));

// The template always; texts left out of it are reported here and fail the unit test.
const { messages, problems } = scan();
for (const problem of problems) console.warn(`warning: ${problem}`);
mkdirSync(dirname(POT_PATH), { recursive: true });
writeFileSync(POT_PATH, potText(messages));
