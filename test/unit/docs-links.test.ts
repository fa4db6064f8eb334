// SPDX-License-Identifier: GPL-2.0-or-later
// The README, HACKING.md and docs/ link to each other and into the tree: every relative link must
// name a file that exists and, with a #fragment, a heading of that file (as GitHub makes anchors).
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../lab/lab';

function markdownFiles(): string[] {
  const docs = readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(REPO_ROOT, 'docs', f));
  return [join(REPO_ROOT, 'README.md'), join(REPO_ROOT, 'HACKING.md'), ...docs].filter((f) => existsSync(f));
}

/** GitHub's anchor of a heading: lower case, punctuation but '-' and '_' dropped, spaces to '-'. */
export function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchorsOf(text: string): Set<string> {
  const withoutCode = text.replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
}

test('every relative link in the README, HACKING.md and docs/ reaches a file and a heading', (t) => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1] ?? '';
      if (/^[a-z]+:/.test(link)) continue;
      const [path = '', fragment] = link.split('#');
      const target = path === '' ? file : join(dirname(file), path);
      const where = `${relative(REPO_ROOT, file)}: ${link}`;
      if (!existsSync(target)) { broken.push(`${where} (no such file)`); continue; }
      if (fragment !== undefined && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(fragment)) broken.push(`${where} (no such heading)`);
    }
  }
  t.deepEqual(broken, []);
});

test('anchors as GitHub makes them', (t) => {
  t.is(anchorOf('Benchmark (`npm run bench`)'), 'benchmark-npm-run-bench');
  t.is(anchorOf('Remote use: confirm-or-rollback over SSH'), 'remote-use-confirm-or-rollback-over-ssh');
  t.is(anchorOf('Installing, and who may change the network'), 'installing-and-who-may-change-the-network');
});
