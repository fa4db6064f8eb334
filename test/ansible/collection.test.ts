// SPDX-License-Identifier: GPL-2.0-or-later
// The collection as Ansible's own tools see it, without a lab: ansible-doc renders the modules
// and documents exactly their argument specs, ansible-test's sanity tests that run offline pass,
// and busctl's error output becomes the error name, message and hint. HOME and every temporary
// file are in a directory of the test's own.
import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../lab/lab';
import { COLLECTION, COLLECTION_DIR } from './ansible-controller';

const run = promisify(execFile);
const MODULES = ['shared_interface', 'shared_interface_info', 'shared_interface_confirm'];
const PYTHON = '/usr/bin/python3'; // Debian's, the one ansible-core is installed for

/** A scratch HOME with the collection at collections/ansible_collections/fedoraproject/shared_interface. */
async function withScratch(body: (dir: string, env: NodeJS.ProcessEnv) => Promise<void>, copy = false): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-interface-ansible.'));
  try {
    const root = join(dir, 'collections', 'ansible_collections', 'fedoraproject');
    mkdirSync(root, { recursive: true });
    mkdirSync(join(dir, 'home'));
    if (copy) cpSync(COLLECTION_DIR, join(root, 'shared_interface'), { recursive: true });
    else symlinkSync(COLLECTION_DIR, join(root, 'shared_interface'));
    const env = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: join(dir, 'home'), LANG: 'C.UTF-8',
      ANSIBLE_COLLECTIONS_PATH: join(dir, 'collections'), ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'), ANSIBLE_NOCOLOR: '1',
      PYTHONPATH: join(dir, 'collections'), PYTHONDONTWRITEBYTECODE: '1',
    };
    await body(dir, env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface DocOption { type?: string; required?: boolean; default?: unknown; choices?: unknown[]; aliases?: string[] }
interface SpecOption { type?: string; required?: boolean; default?: unknown; choices?: unknown[]; aliases?: string[] }

test('ansible-doc renders every module, and documents exactly the options their argument specs take', async (t) => {
  await withScratch(async (_dir, env) => {
    // One ansible-doc for all modules (each start costs seconds on a loaded machine).
    const names = MODULES.map((m) => `${COLLECTION}.${m}`);
    const text = (await run('ansible-doc', names, { env })).stdout;
    const json = JSON.parse((await run('ansible-doc', ['--json', ...names], { env })).stdout) as Record<string, { doc: { options?: Record<string, DocOption> } }>;
    const script = `import importlib, json; print(json.dumps({m: importlib.import_module('ansible_collections.fedoraproject.shared_interface.plugins.modules.' + m).ARGUMENT_SPEC for m in ${JSON.stringify(MODULES)}}))`;
    const specs = JSON.parse((await run(PYTHON, ['-c', script], { env })).stdout) as Record<string, Record<string, SpecOption>>;
    for (const module of MODULES) {
      // Each module's page starts with "> FQCN    (path)"; it ends where the next one starts.
      const start = text.indexOf(`> ${COLLECTION}.${module}    `.toUpperCase());
      t.true(start >= 0, `${module}: not rendered`);
      const next = text.indexOf('\n> ', start + 1);
      const page = text.slice(start, next < 0 ? undefined : next);
      const parts = ['ATTRIBUTES', 'EXAMPLES:', 'RETURN VALUES:', ...(module === 'shared_interface_info' ? [] : ['OPTIONS (= is mandatory):', '= name'])];
      for (const part of parts) t.true(page.includes(part), `${module}: no ${part}`);
      const documented = json[`${COLLECTION}.${module}`]?.doc.options ?? {};
      const spec = specs[module] ?? {};
      t.deepEqual(Object.keys(documented).sort(), Object.keys(spec).sort(), module);
      for (const [name, option] of Object.entries(spec)) {
        const doc = documented[name] ?? {};
        t.deepEqual(
          { type: doc.type, required: doc.required ?? false, default: doc.default ?? null, choices: doc.choices ?? null, aliases: doc.aliases ?? null },
          { type: option.type, required: option.required ?? false, default: option.default ?? null, choices: option.choices ?? null, aliases: option.aliases ?? null },
          `${module}: option ${name}`,
        );
      }
    }
  });
});

test('ansible-galaxy installs the collection from the checkout, as the README says', async (t) => {
  await withScratch(async (dir, env) => {
    await run('ansible-galaxy', ['collection', 'install', '-p', join(dir, 'installed'), COLLECTION_DIR], { env });
    const installed = join(dir, 'installed', 'ansible_collections', 'fedoraproject', 'shared_interface');
    for (const file of ['MANIFEST.json', 'plugins/action/shared_interface.py', ...MODULES.map((m) => `plugins/modules/${m}.py`), 'plugins/module_utils/shared_interface_bus.py']) {
      t.true(existsSync(join(installed, file)), file);
    }
  });
});

test('the README shows the example playbook that the fleet test runs, as it is', (t) => {
  const playbook = readFileSync(join(COLLECTION_DIR, 'playbooks', 'share-uplinks.yml'), 'utf8');
  t.true(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(`\`\`\`yaml\n${playbook}\`\`\`\n`));
});

// The sanity tests that need packages from PyPI in a virtualenv of ansible-test's making (pylint,
// pep8, yamllint, validate-modules' voluptuous, ...) cannot run without network access; the others run.
const SANITY_NEEDS_PYPI = ['action-plugin-docs', 'ansible-doc', 'import', 'pep8', 'pylint', 'runtime-metadata', 'validate-modules', 'yamllint'];

test('ansible-test sanity: the tests that run offline pass', async (t) => {
  await withScratch(async (dir, env) => {
    const cwd = join(dir, 'collections', 'ansible_collections', 'fedoraproject', 'shared_interface');
    const skips = SANITY_NEEDS_PYPI.flatMap((name) => ['--skip-test', name]);
    const result = await run('ansible-test', ['sanity', '--local', '--python', '3.11', ...skips], { env, cwd }).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`ansible-test sanity failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    });
    t.regex(result.stdout, /Running sanity test "compile"/);
    t.regex(result.stdout, /Running sanity test "future-import-boilerplate"/);
  }, true);
});

test('a failed busctl call becomes the D-Bus error name, the message and the hint', async (t) => {
  await withScratch(async (_dir, env) => {
    const stderr = [
      'Bus busctl: changing state HELLO → RUNNING',
      'Sent message type=method_call sender=n/a destination=org.fedoraproject.SharedInterface path=/org/fedoraproject/SharedInterface interface=org.fedoraproject.SharedInterface member=Unshare cookie=2 reply_cookie=0 signature=sa{sv} error-name=n/a error-message=n/a',
      'Got message type=error sender=:1.5 destination=:1.9 path=n/a interface=n/a member=n/a cookie=40 reply_cookie=2 signature=s error-name=org.fedoraproject.SharedInterface.Error.Busy error-message=guests are attached to br-eth0: vnet0',
      'Hint: stop them, or unshare with force',
      'Call failed: guests are attached to br-eth0: vnet0',
      'Hint: stop them, or unshare with force',
      'Bus busctl: changing state RUNNING → CLOSED',
      '',
    ].join('\n');
    const script = [
      'import json, sys',
      'from ansible_collections.fedoraproject.shared_interface.plugins.module_utils.shared_interface_bus import parse_busctl_error',
      'print(json.dumps([parse_busctl_error(s).failure() for s in json.load(sys.stdin)]))',
    ].join('\n');
    const input = JSON.stringify([
      stderr,
      'Call failed: The name org.fedoraproject.SharedInterface was not provided by any .service files\n',
      'Failed to connect to bus: No such file or directory\n',
      'Got message type=error sender=:1.5 destination=:1.9 path=n/a interface=n/a member=n/a cookie=5 reply_cookie=2 signature=s error-name=org.freedesktop.DBus.Error.InteractiveAuthorizationRequired error-message=authentication is required\nCall failed: authentication is required\n',
      // Older sd-bus: "error=NAME" at the end of the line.
      'Got message type=error sender=:1.5 destination=:1.9 object=n/a interface=n/a member=n/a cookie=7 reply_cookie=2 error=org.fedoraproject.SharedInterface.Error.NotShared\nCall failed: eth1 is not shared by this service\n',
      "Got message type=error sender=:1.5 destination=:1.9 path=n/a interface=n/a member=n/a cookie=9 reply_cookie=2 signature=s error-name=org.freedesktop.DBus.Error.InvalidArgs error-message=unknown Share option 'confirm-timeout'; known options: bridge, stp\nCall failed: unknown Share option 'confirm-timeout'; known options: bridge, stp\n",
    ]);
    const child = run(PYTHON, ['-c', script], { env });
    child.child.stdin?.end(input);
    const [busy, unknown, noBus, notRoot, olderSdBus, oldService] = JSON.parse((await child).stdout) as Array<Record<string, string>>;
    t.deepEqual(busy, {
      msg: 'org.fedoraproject.SharedInterface.Error.Busy: guests are attached to br-eth0: vnet0 (hint: stop them, or unshare with force)',
      error_name: 'org.fedoraproject.SharedInterface.Error.Busy',
      error_message: 'guests are attached to br-eth0: vnet0',
      hint: 'stop them, or unshare with force',
    });
    // Without debug lines there is no name to read; the message still comes through.
    t.like(unknown, { error_message: 'The name org.fedoraproject.SharedInterface was not provided by any .service files' });
    t.like(noBus, { msg: 'unknown D-Bus error: Failed to connect to bus: No such file or directory' });
    t.regex(notRoot?.['hint'] ?? '', /^run the task as root \(become: true\), or let the remote user change the network with a polkit rule/);
    t.like(olderSdBus, { msg: 'org.fedoraproject.SharedInterface.Error.NotShared: eth1 is not shared by this service' });
    // A service without confirm-or-rollback: the hint says what to do.
    t.like(oldService, { error_name: 'org.freedesktop.DBus.Error.InvalidArgs', hint: 'this version of shared-interface has no confirm-or-rollback; leave confirm_timeout out' });
  });
});
