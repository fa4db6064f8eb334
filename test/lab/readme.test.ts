// SPDX-License-Identifier: GPL-2.0-or-later
// The README's quick start, as a reader would type it: every code block marked
// `<!-- quick-start: NAME … -->` runs in a lab where the project is `make install`ed, as root, and
// each leaves the host's network as it found it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT } from './lab';
import { installIntoLab } from './lab-install';
import { networkState, settledTo } from './nm-state';

/** The marked blocks of the README, by name. */
export function quickStartBlocks(readme: string): Map<string, string> {
  return new Map([...readme.matchAll(/^<!-- quick-start: ([a-z-]+)[^>]*-->\n```sh\n([\s\S]*?)^```$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

const blocks = quickStartBlocks(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));

test('the README marks its quick-start blocks: the CLI, busctl and gdbus, and undoing a share by hand', (t) => {
  t.deepEqual([...blocks.keys()].sort(), ['bus', 'cli', 'undo']);
  t.regex(blocks.get('cli') ?? '', /^shared-interface share eth0/m);
});

test('each quick-start block of the README runs as written and leaves the network as it was', async (t) => {
  const lab = await Lab.start({ overlay: true });
  try {
    await installIntoLab(lab);
    const plain = (s: Awaited<ReturnType<typeof networkState>>) => ({ ...s, keyfiles: [...s.keyfiles] });
    const before = plain(await networkState(lab));
    const run = async (name: string, script: string) => {
      const result = await lab.exec(['bash', '-eo', 'pipefail', '-c', script], { allowFailure: true, timeoutMs: 120_000 });
      t.log(`--- ${name}\n${result.stdout}${result.stderr}`);
      t.is(result.code, 0, `${name}: ${result.stderr}`);
    };
    for (const name of ['cli', 'bus']) {
      await run(name, blocks.get(name) ?? 'false');
      t.deepEqual(await settledTo(async () => plain(await networkState(lab)), before), before, `after the ${name} block`);
    }
    // Undoing by hand needs something to undo: a share made by the CLI, then the README's nmcli lines.
    await run('share for undo', 'shared-interface share eth0');
    t.notDeepEqual(plain(await networkState(lab)), before);
    await run('undo', blocks.get('undo') ?? 'false');
    t.deepEqual(await settledTo(async () => plain(await networkState(lab)), before), before, 'after undoing by hand');
  } finally {
    await lab.stop();
  }
});
