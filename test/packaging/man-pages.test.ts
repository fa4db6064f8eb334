// SPDX-License-Identifier: GPL-2.0-or-later
// The three man pages: generated (the CLI's from its command table, the API's from the D-Bus spec),
// turned into roff by scdoc, and rendered by man(1) with every groff warning on: none allowed.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { COMMANDS } from '../../src/cli/cli-commands';
import { EXIT_CODE_DOCS } from '../../src/cli/exit-codes';
import { GLOBAL_OPTIONS } from '../../src/cli/global-options';
import { sharedInterfaceSpec } from '../../src/service/shared-interface-spec';
import { REPO_ROOT } from '../lab/lab';
import { generateFiles } from './generated-files';

function render(page: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('man', ['--warnings', '-l', page], { env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '', LANG: 'C.UTF-8' }, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** man's output without its line breaks and hyphenation, to look for words in. */
function flat(text: string): string {
  return text.replace(/‐\n\s*/g, '').replace(/-\n\s*/g, '-').replace(/\s+/g, ' ');
}

test('each man page renders without a warning, and says what it must', (t) => {
  const generated = generateFiles();
  try {
    const pages = new Map(generated.manPages.map((p) => [basename(p), p]));
    t.deepEqual([...pages.keys()].sort(), ['org.fedoraproject.SharedInterface.5', 'shared-interface.1', 'shared-interfaced.8']);
    const text = new Map<string, string>();
    for (const [name, page] of pages) {
      const r = render(page);
      t.is(r.status, 0, name);
      t.is(r.stderr, '', `${name}: man --warnings is silent`);
      t.regex(r.stdout, /^NAME$/m, name);
      text.set(name, flat(r.stdout));
    }
    const cli = text.get('shared-interface.1') ?? '';
    for (const c of COMMANDS) {
      t.true(cli.includes(`shared-interface ${c.name}`), `(1) has ${c.name}`);
      for (const option of Object.keys(c.options)) t.true(cli.includes(`--${option}`), `(1) has ${c.name} --${option}`);
    }
    for (const option of Object.keys(GLOBAL_OPTIONS)) t.true(cli.includes(`--${option}`), `(1) has --${option}`);
    for (const [code, doc] of EXIT_CODE_DOCS) t.true(cli.includes(`${code} ${doc}`), `(1) documents exit status ${code}`);
    t.regex(cli, /"schema"/);
    const api = text.get('org.fedoraproject.SharedInterface.5') ?? '';
    for (const name of [...Object.keys(sharedInterfaceSpec.methods), ...Object.keys(sharedInterfaceSpec.properties), ...Object.keys(sharedInterfaceSpec.errors)]) {
      t.true(api.includes(name), `(5) documents ${name}`);
    }
    const daemon = text.get('shared-interfaced.8') ?? '';
    for (const option of ['--idle-timeout', '--ifcfg-dir', '--state-dir', '--log-level']) t.true(daemon.includes(option), `(8) has ${option}`);
    // What stopping does to a change awaiting confirmation, and so why the RPM restarts nothing.
    t.regex(daemon, /SIGTERM, SIGINT Roll back every change awaiting confirmation/);
    t.regex(daemon, /The RPM does not restart the service on upgrade/);
    // The unit points at the three pages (systemctl status and help show them).
    const unit = readFileSync(join(REPO_ROOT, 'dbus-services', 'shared-interface.service.in'), 'utf8');
    const documentation = (/^Documentation=(.*)$/m.exec(unit)?.[1] ?? '').split(' ').map((d) => d.replace(/^man:(\S+)\((\d)\)$/, '$1.$2'));
    t.deepEqual(documentation.sort(), [...pages.keys()].sort());
  } finally {
    rmSync(generated.dir, { recursive: true, force: true });
  }
});
