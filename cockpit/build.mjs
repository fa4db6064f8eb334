// SPDX-License-Identifier: GPL-2.0-or-later
// Builds the Cockpit page into dist/cockpit-page/: esbuild bundles the TypeScript (type-checked
// before by `tsc -p cockpit`) and the CSS with the PatternFly pieces it imports; index.html and
// manifest.json are copied. `make install` installs that directory as
// /usr/share/cockpit/shared-interface/. The translation template po/shared-interface.pot is
// extracted from the sources (extract-pot.mjs) on the way.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POT_PATH, potText, scan } from './extract-pot.mjs';
import { poFileScript } from './po-to-js.mjs';

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

// The template always; texts left out of it are reported here and fail the unit test.
const { messages, problems } = scan();
for (const problem of problems) console.warn(`warning: ${problem}`);
mkdirSync(dirname(POT_PATH), { recursive: true });
writeFileSync(POT_PATH, potText(messages));

// Each translation (po/LANG.po) as the po.LANG.js that cockpit-ws serves as the page's po.js.
const poDir = dirname(POT_PATH);
for (const file of existsSync(poDir) ? readdirSync(poDir).filter((f) => f.endsWith('.po')) : []) {
  const language = file.slice(0, -3);
  writeFileSync(join(out, `po.${language}.js`), poFileScript(language, join(poDir, file)));
}
