// SPDX-License-Identifier: GPL-2.0-or-later
// `node packaging/bundled-packages.mjs OUTDIR` (run by the Makefile after the bundles and the page):
// the npm packages esbuild actually put into them, read from esbuild's metafiles
// (dist/bundle/*.meta.json, dist/cockpit-page/meta.json), at the lockfile's versions. Writes
//   OUTDIR/bundled.json   [{ name, version, license, part: "programs" | "cockpit" }], sorted;
//   OUTDIR/NAME/…         each package's license texts, for the spec's %license.
// A package's npm tarball may carry no license text (saxes, PatternFly): then the text is
// packaging/licenses/NAME/, and a package with neither fails the build.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = process.argv[2];
if (out === undefined) {
  console.error('usage: bundled-packages.mjs OUTDIR');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const metafiles = [
  ...readdirSync(join(root, 'bin')).map((program) => ['programs', join(root, 'dist', 'bundle', `${program}.meta.json`)]),
  ['cockpit', join(root, 'dist', 'cockpit-page', 'meta.json')],
];
for (const [, metafile] of metafiles) {
  if (!existsSync(metafile)) throw new Error(`${metafile} is missing (built before bundles had metafiles): rm -r dist/bundle dist/cockpit-page, then make`);
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\..*)?$/i;

const found = new Map();
for (const [part, metafile] of metafiles) {
  for (const input of Object.keys(JSON.parse(readFileSync(metafile, 'utf8')).inputs)) {
    // The innermost node_modules: a nested copy is a package of its own.
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input);
    if (m === null) continue;
    const dir = input.slice(0, m.index + m[0].length - 1).replace(/^\//, '');
    const entry = lock.packages[dir];
    if (entry === undefined) throw new Error(`${input}: ${dir} is not in package-lock.json`);
    const key = `${part} ${m[1]}`;
    if (!found.has(key)) found.set(key, { name: m[1], version: entry.version, license: entry.license, part, dir });
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const bundled = [...found.values()].sort((a, b) => `${a.part} ${a.name}`.localeCompare(`${b.part} ${b.name}`));
for (const p of bundled) {
  const own = readdirSync(join(root, p.dir)).filter((f) => LICENSE_FILE.test(f)).map((f) => join(root, p.dir, f));
  const ours = join(root, 'packaging', 'licenses', p.name);
  const texts = own.length > 0 ? own : existsSync(ours) ? readdirSync(ours).map((f) => join(ours, f)) : [];
  if (texts.length === 0) throw new Error(`${p.name} ${p.version} carries no license text: add it as packaging/licenses/${p.name}/LICENSE`);
  mkdirSync(join(out, p.name), { recursive: true });
  for (const text of texts) copyFileSync(text, join(out, p.name, text.split('/').pop()));
}
writeFileSync(join(out, 'bundled.json'), `${JSON.stringify(bundled.map(({ dir: _dir, ...p }) => p), null, 2)}\n`);
