// SPDX-License-Identifier: GPL-2.0-or-later
// Bash and zsh completion, generated from the command table: `complete -p` names our function where
// bash-completion looks for it, and the function (through compgen) completes commands, options,
// option values and, in a lab with the service, interface names asked of the service itself.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { COMMANDS } from '../../src/cli/cli-commands';
import { GLOBAL_OPTIONS } from '../../src/cli/global-options';
import { LIST_FIELDS } from '../../src/cli/list-command';
import { Lab, REPO_ROOT } from '../lab/lab';
import { generateFiles } from './generated-files';
import { makeSshKey, shellQuote, startSshd, writeSshClientConfig } from '../lab/lab-ssh';

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
    t.deepEqual(c('shared-interface list --fields='), [...LIST_FIELDS.all, 'all', 'common']);
    t.deepEqual(c('shared-interface list -f interface,ty'), ['interface,type']);
    t.deepEqual(c('shared-interface pending -g interface,op'), ['interface,operation']);
    t.deepEqual(c('shared-interface -g interface,op'), [], 'before the command, its fields are unknown');
    t.deepEqual(c(`shared-interface define ${join(generated.dir, 'shared-interface.b')}`), [generated.bashCompletion], 'define completes files');
    t.deepEqual(c('shared-interface share --forward-delay '), [], 'a number: nothing to offer');
    // Without the service, interface names are simply not offered (no error on the terminal).
    t.deepEqual(c('shared-interface share '), []);

  } finally {
    rmSync(generated.dir, { recursive: true, force: true });
  }
});

/** What zsh offers for `line`, in a real interactive zsh with `fpath` (see zsh-complete.zsh). */
function zshComplete(fpath: string, line: string, env: Readonly<Record<string, string>> = { PATH: '/usr/bin:/bin' }): string[] {
  const out = execFileSync('timeout', ['60', 'zsh', '-f', join(REPO_ROOT, 'test', 'packaging', 'zsh-complete.zsh'), fpath, line], { encoding: 'utf8', env: { ...env, HOME: fpath } });
  return out.split(/\r?\n/).filter((l) => l !== '');
}

test('zsh: commands, options, fields and files, from the same command table', (t) => {
  const generated = generateFiles();
  try {
    const fpath = dirname(generated.zshCompletion);
    const c = (line: string) => zshComplete(fpath, line);
    t.deepEqual(c('shared-interface '), COMMANDS.map((command) => command.name));
    t.deepEqual(c('shared-interface sh'), ['share']);
    t.deepEqual(c('shared-interface --js'), ['--json']);
    t.deepEqual(c('shared-interface unshare --f'), ['--force', '--fields']);
    t.deepEqual(c('shared-interface share --no-p'), ['--no-persist']);
    t.false(c('shared-interface unshare --').includes('--bridge'), 'share\'s options are not unshare\'s');
    t.deepEqual(c('shared-interface list -f '), [...LIST_FIELDS.all, 'all', 'common']);
    t.deepEqual(c('shared-interface list --fields=interface,ty'), ['type']);
    t.deepEqual(c('shared-interface -t pending -g op'), ['operation']);
    t.deepEqual(c(`shared-interface define ${join(fpath, '_shared-inter')}`), ['_shared-interface']);
    t.deepEqual(c('shared-interface share '), [], 'no service: no names, and no error');
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
    t.deepEqual(await names('shared-interface unshare --force e'), ['eth0']);
    t.true((await names('shared-interface share ')).includes('eth0'));
    t.deepEqual(await names('shared-interface confirm '), [], 'nothing awaits confirmation');
    const zshNames = async (line: string) => (await lab.exec(['timeout', '60', 'zsh', '-f', join(REPO_ROOT, 'test', 'packaging', 'zsh-complete.zsh'), dirname(generated.zshCompletion), line], { env: { PATH: `${bin}:/usr/bin:/bin`, HOME: generated.dir } })).stdout.split(/\r?\n/).filter((l) => l);
    t.deepEqual(await zshNames('shared-interface share e'), ['eth0']);
    t.deepEqual(await zshNames('shared-interface unshare --force e'), ['eth0']);
  } finally {
    await lab.stop();
  }
});

test('-H HOST: interface names come from that host over SSH, and none where SSH would have to ask', async (t) => {
  const lab = await Lab.start({ nicProfile: 'none' });
  const generated = generateFiles(lab.dir);
  try {
    await lab.startDaemon();
    // The host: this lab's sshd (root with a key), whose sessions reach the lab's system bus.
    const key = await makeSshKey(lab, 'admin');
    const sshd = await startSshd(lab, [key.publicKey]);
    const config = await writeSshClientConfig(lab, key, new Map([['127.0.0.1', sshd.hostKey]]));
    // The administrator's ssh: the lab's client configuration, but free to ask (no BatchMode, and
    // an unknown host key is a question), as a user's own would be.
    await lab.sh(`sed -i -e '/BatchMode/d' -e '/StrictHostKeyChecking/d' ${config}`);
    const bin = join(generated.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(join(REPO_ROOT, 'bin', 'shared-interface'), join(bin, 'shared-interface'));
    writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${config} "$@"\n`);
    chmodSync(join(bin, 'ssh'), 0o755);
    // Locally there is no service (a bus that does not exist): whatever is offered came over SSH.
    const env = { PATH: `${bin}:/usr/bin:/bin`, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent', HOME: generated.dir };
    const bash = async (line: string) => (await lab.exec(['bash', '--norc', '--noprofile', '-c', completeScript(generated.bashCompletion, line)], { env })).stdout.split('\n').filter((l) => l);
    const zsh = async (line: string) => (await lab.exec(['timeout', '60', 'zsh', '-f', join(REPO_ROOT, 'test', 'packaging', 'zsh-complete.zsh'), dirname(generated.zshCompletion), line], { env })).stdout.split(/\r?\n/).filter((l) => l);
    t.deepEqual(await bash('shared-interface share e'), []);
    t.deepEqual(await bash('shared-interface -H root@127.0.0.1 share e'), ['eth0']);
    t.deepEqual(await bash('shared-interface unshare --host=root@127.0.0.1 --force e'), ['eth0']);
    t.deepEqual(await zsh('shared-interface -H root@127.0.0.1 share e'), ['eth0']);
    t.deepEqual(await zsh('shared-interface share --host root@127.0.0.1 e'), ['eth0']);
    // 127.0.0.2 is the same sshd under a name whose host key is not known: ssh would ask whether
    // to trust it. Nothing is offered, and nothing waits for an answer.
    // On a terminal, as a user presses TAB: no question shows, and none holds the shell.
    const script = completeScript(generated.bashCompletion, 'shared-interface -H root@127.0.0.2 share e');
    const started = Date.now();
    const onTerminal = await lab.exec(['script', '-qec', `bash --norc --noprofile -c ${shellQuote(script)}`, '/dev/null'], { env });
    t.is(onTerminal.stdout.trim(), '', 'no candidates, no question');
    t.true(Date.now() - started < 4_000, `${Date.now() - started} ms`);
    t.deepEqual(await zsh('shared-interface -H root@127.0.0.2 share e'), []);
  } finally {
    await lab.stop();
  }
});
