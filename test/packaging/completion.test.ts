// SPDX-License-Identifier: GPL-2.0-or-later
// Bash completion, generated from the command table: `complete -p` names our function where
// bash-completion looks for it, and the function (through compgen) completes commands, options,
// option values and, in a lab with the service, interface names asked of the service itself.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/cli-commands';
import { GLOBAL_OPTIONS } from '../../src/cli/global-options';
import { Lab, REPO_ROOT } from '../lab/lab';
import { generateFiles } from './generated-files';

/** A bash script that completes `line` (the cursor at its end) and prints one candidate a line. */
function completeScript(script: string, line: string): string {
  // COMP_WORDS as bash splits them: at blanks, and "=" as a word of its own (COMP_WORDBREAKS).
  const words = line.replace(/=/g, ' = ').split(/ +/).filter((w, i, all) => w !== '' || i === all.length - 1);
  if (line.endsWith(' ') && words[words.length - 1] !== '') words.push('');
  const quoted = words.map((w) => `'${w}'`).join(' ');
  return `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'; COMP_POINT=${line.length}
_shared_interface; printf '%s\\n' "\${COMPREPLY[@]}"`;
}

function complete(script: string, line: string): string[] {
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', completeScript(script, line)], { encoding: 'utf8', env: { PATH: '/nonexistent:/usr/bin:/bin' } });
  return out.split('\n').filter((l) => l !== '');
}

test('bash: commands, options, option values, from the command table', (t) => {
  const generated = generateFiles();
  try {
    const c = (line: string) => complete(generated.bashCompletion, line);
    t.deepEqual(c('shared-interface '), COMMANDS.map((command) => command.name));
    t.deepEqual(c('shared-interface sh'), ['share']);
    t.deepEqual(c('shared-interface --json un'), ['unshare']);
    t.deepEqual(c('shared-interface --'), Object.entries(GLOBAL_OPTIONS).map(([name, o]) => (o.type === 'string' ? `--${name}=` : `--${name}`)));
    t.deepEqual(c('shared-interface share --br'), ['--bridge=']);
    t.deepEqual(c('shared-interface share eth0 --no-p'), ['--no-persist']);
    const unshareOptions = c('shared-interface unshare -');
    for (const word of ['-h', '--help', '--json', '-f', '--force', '--rollback-timeout=']) t.true(unshareOptions.includes(word), word);
    t.false(unshareOptions.includes('--bridge='), 'share\'s options are not unshare\'s');
    t.deepEqual(c('shared-interface list --fields='), ['interface', 'type', 'mac', 'carrier', 'state', 'bridge', 'addresses', 'reason', 'notes', 'all']);
    t.deepEqual(c('shared-interface list -o interface,ty'), ['interface,type']);
    t.deepEqual(c('shared-interface share --forward-delay '), [], 'a number: nothing to offer');
    // Without the service, interface names are simply not offered (no error on the terminal).
    t.deepEqual(c('shared-interface share '), []);
  } finally {
    rmSync(generated.dir, { recursive: true, force: true });
  }
});

test('bash: installed where bash-completion loads it on demand (complete -p)', (t) => {
  const destdir = mkdtempSync(join(tmpdir(), 'shared-interface-completion.'));
  try {
    execFileSync('make', ['-C', REPO_ROOT, '--no-print-directory', '-o', 'dist/src/main.js', 'install', `DESTDIR=${destdir}`, 'PREFIX=/usr'], { stdio: 'pipe' });
    const out = execFileSync('bash', ['--norc', '--noprofile', '-c',
      'source /usr/share/bash-completion/bash_completion; complete -p shared-interface 2>/dev/null || echo "not yet loaded"; '
      + '_completion_loader shared-interface; complete -p shared-interface'],
    { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', XDG_DATA_DIRS: join(destdir, 'usr/share') } });
    t.is(out, 'not yet loaded\ncomplete -F _shared_interface shared-interface\n');
  } finally {
    rmSync(destdir, { recursive: true, force: true });
  }
});

test('bash: interface names come from the service', async (t) => {
  const lab = await Lab.start({ nicProfile: 'none' });
  const generated = generateFiles(lab.dir);
  try {
    await lab.startDaemon();
    // The CLI on PATH, as the installed one would be.
    const bin = join(generated.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(join(REPO_ROOT, 'bin', 'shared-interface'), join(bin, 'shared-interface'));
    const names = async (line: string) => (await lab.exec(['bash', '--norc', '--noprofile', '-c', completeScript(generated.bashCompletion, line)], { env: { PATH: `${bin}:/usr/bin:/bin` } })).stdout.split('\n').filter((l) => l);
    t.deepEqual(await names('shared-interface share e'), ['eth0']);
    t.deepEqual(await names('shared-interface unshare --force l'), ['lo']);
    t.true((await names('shared-interface share ')).includes('eth0'));
  } finally {
    await lab.stop();
  }
});
