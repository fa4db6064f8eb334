// SPDX-License-Identifier: GPL-2.0-or-later
// NetworkManager's dispatcher script, run by sh as NM runs it, with shared-interface-firewall
// replaced by a stub that records its arguments: the script only skips untagged profiles and
// hands every tagged one's keyfile to the program, which decides with the daemon's own rule.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lab';

/** Runs the script for `iface` and `action`; the stub's arguments, or undefined when it was not run. */
function dispatch(action: string, keyfile: string | undefined): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'nm-dispatcher-'));
  try {
    const script = readFileSync(join(REPO_ROOT, 'hooks', '50-shared-interface-firewall.in'), 'utf8').replaceAll('@libexecdir@', dir);
    writeFileSync(join(dir, 'dispatcher'), script);
    writeFileSync(join(dir, 'shared-interface-firewall'), `#!/bin/sh\nprintf '%s|' "$@" >${dir}/args\n`);
    chmodSync(join(dir, 'shared-interface-firewall'), 0o755);
    const env: NodeJS.ProcessEnv = { ...(keyfile === undefined ? {} : { CONNECTION_FILENAME: keyfile === '' ? '' : join(dir, keyfile) }) };
    if (keyfile === 'tagged.nmconnection') writeFileSync(join(dir, keyfile), '[connection]\npermissions=user:nobody:;\n[user]\norg.fedoraproject.shared-interface.role=bridge\n');
    if (keyfile === 'other.nmconnection') writeFileSync(join(dir, keyfile), '[connection]\nid=Wired eth0\n');
    const run = spawnSync('sh', [join(dir, 'dispatcher'), 'br-eth9', action], { env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`the script failed: ${run.stderr}`);
    return existsSync(join(dir, 'args')) ? readFileSync(join(dir, 'args'), 'utf8').replaceAll(dir, 'DIR') : undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a tagged profile (private or not) is handed over with its keyfile; the program decides', (t) => {
  t.is(dispatch('up', 'tagged.nmconnection'), 'up|br-eth9|--nm-keyfile|DIR/tagged.nmconnection|');
  t.is(dispatch('down', 'tagged.nmconnection'), 'down|br-eth9|--nm-keyfile|DIR/tagged.nmconnection|');
});

test('an untagged profile, another action, or up without a keyfile start nothing; down of a deleted profile removes our rules', (t) => {
  t.is(dispatch('up', 'other.nmconnection'), undefined);
  t.is(dispatch('down', 'other.nmconnection'), undefined);
  t.is(dispatch('pre-up', 'tagged.nmconnection'), undefined);
  t.is(dispatch('up', 'gone.nmconnection'), undefined);
  t.is(dispatch('up', ''), undefined);
  t.is(dispatch('down', 'gone.nmconnection'), 'down|br-eth9|');
  t.is(dispatch('down', undefined), 'down|br-eth9|');
});
