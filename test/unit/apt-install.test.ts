// SPDX-License-Identifier: GPL-2.0-or-later
// test/lab/apt-install.sh's decisions, each with stand-ins: a policy-rc.d of its own path
// (SI_POLICY_RC_D), a lock of its own (SI_APT_LOCK), and an apt-get first on PATH that logs what it
// is asked, what policy-rc.d answers while it "installs", and creates the file a package provides.
// Neither the host's /usr/sbin/policy-rc.d nor its apt-get is touched. Every message must reach
// stderr (the terminal), never /dev/null.
import test from 'ava';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '..', '..', '..', 'test', 'lab', 'apt-install.sh');

// Logs its arguments; fails as apt-get does, on stderr (STANDIN_FAIL=1: always; =install: only to
// install); else on `install` logs what the policy answers for a start and creates the package's file.
const STANDIN_APT_GET = `#!/bin/bash
echo "apt-get $*" >>"$STANDIN_LOG"
if [ "$STANDIN_FAIL" = 1 ] || { [ "$STANDIN_FAIL" = install ] && [ "$1" != update ]; }; then
  echo "E: Unable to locate package si-test-package" >&2; exit 100
fi
case " $* " in *" install "*)
  if [ -e "$SI_POLICY_RC_D" ]; then
    rc=0; "$SI_POLICY_RC_D" some.service start >/dev/null 2>&1 || rc=$?
    echo "policy answers $rc" >>"$STANDIN_LOG"
  else
    echo "no policy" >>"$STANDIN_LOG"
  fi
  touch "$STANDIN_PROVIDES";;
esac
`;

interface Stage {
  readonly dir: string;
  readonly policy: string;
  readonly lock: string;
  readonly provides: string;
  readonly log: string;
  readonly env: NodeJS.ProcessEnv;
}

function stage(options: { policy?: string; fail?: true | 'install'; lockWait?: number } = {}): Stage {
  const dir = mkdtempSync(join(tmpdir(), 'shared-interface-apt-install.'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'apt-get'), STANDIN_APT_GET);
  chmodSync(join(dir, 'bin', 'apt-get'), 0o755);
  const policy = join(dir, 'policy-rc.d');
  if (options.policy !== undefined) {
    writeFileSync(policy, options.policy);
    chmodSync(policy, 0o755);
  }
  const s = { dir, policy, lock: join(dir, 'lock', 'apt.lock'), provides: join(dir, 'provided'), log: join(dir, 'apt-get.log') };
  return {
    ...s,
    env: {
      PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      SI_POLICY_RC_D: s.policy, SI_APT_LOCK: s.lock, SI_APT_LOCK_WAIT: String(options.lockWait ?? 60),
      STANDIN_LOG: s.log, STANDIN_PROVIDES: s.provides, STANDIN_FAIL: options.fail === true ? '1' : options.fail ?? '0',
    },
  };
}

function install(s: Stage): SpawnSyncReturns<string> {
  return spawnSync('bash', [SCRIPT, 'si-test', `si-test-package=${s.provides}`], { env: s.env, encoding: 'utf8', timeout: 60_000 });
}

/** Runs `body` in a new stage, removed afterwards whatever happens. */
function inStage(options: Parameters<typeof stage>[0], body: (s: Stage) => void): void {
  const s = stage(options);
  try {
    body(s);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
}

const log = (s: Stage) => (existsSync(s.log) ? readFileSync(s.log, 'utf8') : '');

test('a policy-rc.d that already forbids starting services (exit 101): installs under it and leaves it as it was', (t) => {
  const docker = '#!/bin/sh\nexit 101\n';
  inStage({ policy: docker }, (s) => {
    const r = install(s);
    t.is(r.status, 0, r.stderr);
    t.is(r.stderr, 'si-test: installing si-test-package\n');
    t.regex(log(s), /^apt-get install .*si-test-package\npolicy answers 101\n$/);
    t.true(existsSync(s.provides));
    t.is(readFileSync(s.policy, 'utf8'), docker);
  });
});

test('a policy-rc.d that lets services start: refuses on stderr with what to do, exits non-zero, installs nothing, leaves it', (t) => {
  const permissive = '#!/bin/sh\nexit 0\n';
  inStage({ policy: permissive }, (s) => {
    const r = install(s);
    t.is(r.status, 1);
    t.regex(r.stderr, /^si-test: .*policy-rc\.d exists and lets services start \(it answered 0, not 101 for 'start'\).*Make it answer 101.*run this again\.\n$/s);
    t.is(r.stdout, '');
    t.is(log(s), '', 'apt-get was not run');
    t.false(existsSync(s.provides));
    t.is(readFileSync(s.policy, 'utf8'), permissive);
  });
});

test('no policy-rc.d: installs under one of its own that answers 101, and removes it afterwards', (t) => inStage({}, (s) => {
  const r = install(s);
  t.is(r.status, 0, r.stderr);
  t.regex(log(s), /\npolicy answers 101\n$/);
  t.true(existsSync(s.provides));
  t.false(existsSync(s.policy), 'its own policy-rc.d removed');
}));

test('its own policy-rc.d left behind by a killed run: installs under it and removes it', (t) => inStage({ policy: '#!/bin/sh\n# shared-interface: no service may start on the host while we install\nexit 101\n' }, (s) => {
  const r = install(s);
  t.is(r.status, 0, r.stderr);
  t.regex(log(s), /\npolicy answers 101\n$/);
  t.false(existsSync(s.policy), 'the leftover removed');
}));

test('nothing missing: exits 0 at once, silent, without apt-get or a policy-rc.d', (t) => inStage({}, (s) => {
  writeFileSync(s.provides, '');
  const r = install(s);
  t.is(r.status, 0);
  t.is(r.stderr + r.stdout, '');
  t.is(log(s), '');
  t.false(existsSync(s.policy));
}));

test('a failing apt-get: its own message and what to do on stderr, exit non-zero, no policy-rc.d left', (t) => inStage({ fail: true }, (s) => {
  const r = install(s);
  t.is(r.status, 1);
  t.regex(r.stderr, /^si-test: installing si-test-package\n/);
  t.regex(r.stderr, /E: Unable to locate package si-test-package\n/, 'apt-get\'s own words');
  t.regex(r.stderr, /si-test: apt-get update failed \(above\); check this machine's package sources and network, then run this again\n$/);
  t.regex(log(s), /^apt-get install .*\napt-get update /);
  t.false(existsSync(s.policy));
}));

test('an install that fails again after a refresh of the package lists: apt-get\'s words and what to do on stderr, exit non-zero', (t) => inStage({ fail: 'install' }, (s) => {
  const r = install(s);
  t.is(r.status, 1);
  t.regex(r.stderr, /E: Unable to locate package si-test-package\n/);
  t.regex(r.stderr, /si-test: apt-get install si-test-package failed \(above\); fix what apt says, then run this again\n$/);
  t.regex(log(s), /^apt-get install .*\napt-get update .*\napt-get install .*\n$/);
  t.false(existsSync(s.policy));
}));

/** Holds `lock` with flock(1) (another installer) until the returned function releases it. */
async function holdLock(lock: string): Promise<() => Promise<void>> {
  mkdirSync(join(lock, '..'), { recursive: true });
  const holder = spawn('flock', [lock, 'bash', '-c', 'echo held; read -r'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((r, reject) => {
    holder.stdout.once('data', () => r());
    holder.once('exit', (code) => reject(new Error(`flock exited ${String(code)}`)));
  });
  const exited = new Promise((r) => holder.once('exit', r));
  return async () => {
    holder.stdin.end();
    await exited;
  };
}

function installAsync(s: Stage): Promise<{ status: number | null; stderr: string }> {
  return new Promise((r) => {
    const child = spawn('bash', [SCRIPT, 'si-test', `si-test-package=${s.provides}`], { env: s.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (status) => r({ status, stderr }));
  });
}

test('a lock held by another installer: waits for it, then installs', async (t) => {
  const s = stage({ lockWait: 30 });
  const release = await holdLock(s.lock);
  try {
    const running = installAsync(s);
    await new Promise((r) => setTimeout(r, 1000));
    t.is(log(s), '', 'apt-get waits for the lock');
    await release();
    const r = await running;
    t.is(r.status, 0, r.stderr);
    t.true(existsSync(s.provides));
  } finally {
    await release();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a lock held too long: gives up with a message saying what to do, installs nothing', async (t) => {
  const s = stage({ lockWait: 1 });
  const release = await holdLock(s.lock);
  try {
    const r = await installAsync(s);
    t.is(r.status, 1);
    t.is(r.stderr, `si-test: waited 1 s for another installer of ours (lock ${s.lock}) to finish; if none runs, remove ${s.lock} and try again\n`);
    t.is(log(s), '');
    t.false(existsSync(s.policy));
  } finally {
    await release();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
