// SPDX-License-Identifier: GPL-2.0-or-later
// The collection as Ansible's own tools see it, without a lab: ansible-doc renders the modules
// and documents exactly their argument specs, ansible-test's sanity tests that run offline pass,
// and the collection's own D-Bus client reads and writes what our wire code does, refusing
// malformed messages; ansible-lint passes. HOME and every temporary file are in a directory of the
// test's own.
import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_RETURN, marshalMessage } from '../../src/dbus-wire/bus-marshal';
import { SPEC_LIMITS, decodeBody } from '../../src/dbus-wire/bus-body-reader';
import { readFixedHeader, readHeader } from '../../src/dbus-wire/bus-unmarshal';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { METHOD_OPTIONS, REQUEST_OPTIONS } from '../../src/bridge/request-options';
import { REPO_ROOT } from '../lab/lab';
import { COLLECTION, COLLECTION_DIR } from './ansible-controller';

const run = promisify(execFile);
const MODULES = ['shared_interface', 'shared_interface_info', 'shared_interface_confirm'];
const PYTHON = '/usr/bin/python3'; // Debian's, the one ansible-core is installed for

/** A scratch HOME with the collection at collections/ansible_collections/fedoraproject/shared_interface. */
async function withScratch(body: (dir: string, env: NodeJS.ProcessEnv) => Promise<void>, copy = false, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-interface-ansible.'));
  try {
    const root = join(dir, 'collections', 'ansible_collections', 'fedoraproject');
    mkdirSync(root, { recursive: true });
    mkdirSync(join(dir, 'home'));
    // A copy as Galaxy's tarball has it: COPYING (a link to the project's) as the file itself.
    if (copy) cpSync(COLLECTION_DIR, join(root, 'shared_interface'), { recursive: true, dereference: true });
    else symlinkSync(COLLECTION_DIR, join(root, 'shared_interface'));
    const env = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: join(dir, 'home'), LANG: 'C.UTF-8',
      ANSIBLE_COLLECTIONS_PATH: join(dir, 'collections'), ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'), ANSIBLE_NOCOLOR: '1',
      PYTHONPATH: join(dir, 'collections'), PYTHONDONTWRITEBYTECODE: '1', ...extraEnv,
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
// "changelog" needs antsibull-changelog (the metadata test below checks the fragments' sections instead).
const SANITY_NEEDS_PYPI = ['action-plugin-docs', 'ansible-doc', 'changelog', 'import', 'pep8', 'pylint', 'runtime-metadata', 'validate-modules', 'yamllint'];

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

test('ansible-lint passes on the collection and its playbook with the production profile, offline', async (t) => {
  await withScratch(async (dir, env) => {
    const cwd = join(dir, 'collections', 'ansible_collections', 'fedoraproject', 'shared_interface');
    // The settings come from the collection's .ansible-lint (production profile, offline).
    const lint = () => run('ansible-lint', ['--nocolor'], { env: { ...env, NO_COLOR: '1' }, cwd }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, output: (err.stdout ?? '') + (err.stderr ?? '') }));
    const clean = await lint();
    t.is(clean.code, 0, clean.output);
    t.regex(clean.output, /Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    // The playbook is among what it lints: an unnamed command task in it fails the run.
    const playbook = join(cwd, 'playbooks', 'share-uplinks.yml');
    writeFileSync(playbook, `${readFileSync(playbook, 'utf8')}    - ansible.builtin.command: echo hello\n`);
    const broken = await lint();
    t.not(broken.code, 0);
    t.regex(broken.output, /no-changed-when[\s\S]*playbooks\/share-uplinks\.yml:15/);
  }, true);
});

test('the Galaxy metadata: links, license, changelog in antsibull-changelog\'s layout, the ansible-core it needs', async (t) => {
  const galaxy = readFileSync(join(COLLECTION_DIR, 'galaxy.yml'), 'utf8');
  // The project's one address is the RPM's URL; the collection's links start with it.
  const url = /^URL:\s+(\S+)$/m.exec(readFileSync(join(REPO_ROOT, 'packaging', 'shared-interface.spec'), 'utf8'))?.[1] ?? 'none';
  t.regex(galaxy, new RegExp(`^repository: ${url}$`, 'm'));
  t.regex(galaxy, new RegExp(`^homepage: ${url}$`, 'm'));
  t.regex(galaxy, new RegExp(`^documentation: ${url}/blob/main/docs/ansible\\.md$`, 'm'));
  t.regex(galaxy, new RegExp(`^issues: ${url}/issues$`, 'm'));
  t.is(readFileSync(join(COLLECTION_DIR, 'COPYING'), 'utf8'), readFileSync(join(REPO_ROOT, 'COPYING'), 'utf8'));
  t.regex(readFileSync(join(COLLECTION_DIR, 'meta', 'runtime.yml'), 'utf8'), /^requires_ansible: ">=2\.14\.0"$/m);
  // What antsibull-changelog's lint checks, with Debian's PyYAML: the changes file, and fragments
  // that use only the configured sections, each a list of strings (the summary a string).
  const changelog = join(COLLECTION_DIR, 'changelogs');
  const problems = await python({ PATH: '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' }, [
    'import json, os, sys, yaml',
    'root = json.load(sys.stdin)',
    'config = yaml.safe_load(open(os.path.join(root, "config.yaml")))',
    'changes = yaml.safe_load(open(os.path.join(root, config["changes_file"])))',
    'problems = [] if set(changes) == {"ancestor", "releases"} and isinstance(changes["releases"], dict) else ["changes file"]',
    'sections = set(s[0] for s in config["sections"]) | {config["trivial_section_name"]}',
    'names = sorted(os.listdir(os.path.join(root, config["notesdir"])))',
    'for name in names:',
    '    fragment = yaml.safe_load(open(os.path.join(root, config["notesdir"], name)))',
    '    for key, value in fragment.items():',
    '        ok = isinstance(value, str) if key == config["prelude_section_name"] else key in sections and isinstance(value, list) and all(isinstance(v, str) for v in value)',
    '        if not ok: problems.append("%s: %s" % (name, key))',
    'print(json.dumps(problems if names else ["no fragments"]))',
  ], changelog);
  t.deepEqual(problems, []);
});

/** Runs a Python script with the collection importable; JSON in on stdin, JSON out on stdout. */
async function python(env: NodeJS.ProcessEnv, lines: readonly string[], input: unknown): Promise<unknown> {
  const child = run(PYTHON, ['-c', lines.join('\n')], { env, maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(JSON.stringify(input));
  return JSON.parse((await child).stdout) as unknown;
}

const WIRE = 'ansible_collections.fedoraproject.shared_interface.plugins.module_utils';

test('the collection\'s D-Bus client and our own wire code read each other\'s messages', async (t) => {
  await withScratch(async (_dir, env) => {
    // Ours → the collection's: an error reply (its name, the message with a hint line) and ListInterfaces' reply.
    const error = marshalMessage({ type: MESSAGE_TYPE_ERROR, serial: 7, replySerial: 2, errorName: 'org.fedoraproject.SharedInterface.Error.Busy',
      destination: ':1.9', sender: ':1.5', signature: 's', body: ['guests are attached to br-eth0: vnet0\nHint: stop them, or unshare with force'] });
    const listing = marshalMessage({ type: MESSAGE_TYPE_METHOD_RETURN, serial: 8, replySerial: 3, signature: 'a(ssa{sv})', body: [[
      ['eth0', 'br-eth0', { type: makeVariant('s', 'ethernet'), carrier: makeVariant('b', true), addresses: makeVariant('as', ['192.0.2.10/24', 'fe80::1/64']), mtu: makeVariant('u', 1500) }],
      ['wlan0', '', { shareable: makeVariant('b', false), notes: makeVariant('as', []) }],
    ]] });
    const decoded = await python(env, [
      'import json, sys',
      `from ${WIRE}.dbus_wire import decode_message`,
      `from ${WIRE}.shared_interface_bus import error_from_reply`,
      'error, listing = [decode_message(bytes.fromhex(h)) for h in json.load(sys.stdin)]',
      'print(json.dumps({"error": [error.type, error.serial, error.fields, error_from_reply(error.fields[4], error.body[0]).failure()],',
      '                  "listing": [listing.type, listing.fields[5], listing.body]}))',
    ], [error.toString('hex'), listing.toString('hex')]) as { error: unknown[]; listing: unknown[] };
    t.deepEqual(decoded.error, [3, 7, { 4: 'org.fedoraproject.SharedInterface.Error.Busy', 5: 2, 6: ':1.9', 7: ':1.5', 8: 's' }, {
      msg: 'org.fedoraproject.SharedInterface.Error.Busy: guests are attached to br-eth0: vnet0 (hint: stop them, or unshare with force)',
      error_name: 'org.fedoraproject.SharedInterface.Error.Busy',
      error_message: 'guests are attached to br-eth0: vnet0',
      hint: 'stop them, or unshare with force',
    }]);
    t.deepEqual(decoded.listing, [2, 3, [[
      ['eth0', 'br-eth0', { type: 'ethernet', carrier: true, addresses: ['192.0.2.10/24', 'fe80::1/64'], mtu: 1500 }],
      ['wlan0', '', { shareable: false, notes: [] }],
    ]]]);

    // The collection's → ours: a Share call with every kind of option it sends, and no interactive authorization.
    const call = await python(env, [
      'import json, sys',
      `from ${WIRE}.dbus_wire import encode_message, METHOD_CALL`,
      'options = {"bridge": ("s", "br-lan"), "stp": ("b", True), "forward-delay": ("u", 4), "persist": ("b", False), "firewall": ("b", False)}',
      'print(json.dumps(encode_message(5, METHOD_CALL, {1: "/org/fedoraproject/SharedInterface", 2: "org.fedoraproject.SharedInterface", 3: "Share",',
      '                                6: "org.fedoraproject.SharedInterface"}, "sa{sv}", ["eth0", options]).hex()))',
    ], null) as string;
    const bytes = Buffer.from(call, 'hex');
    const fixed = readFixedHeader(bytes);
    const header = readHeader(fixed, bytes);
    t.like(header, { type: 1, flags: 0, serial: 5, member: 'Share', path: '/org/fedoraproject/SharedInterface', signature: 'sa{sv}' });
    const [nic, options] = decodeBody(header.signature, bytes.subarray(bytes.length - header.bodyLength), header.littleEndian, SPEC_LIMITS);
    t.is(nic, 'eth0');
    t.deepEqual(Object.fromEntries(Object.entries(options as Record<string, { signature: string; value: unknown }>).map(([k, v]) => [k, [v.signature, v.value]])),
      { bridge: ['s', 'br-lan'], stp: ['b', true], 'forward-delay': ['u', 4], persist: ['b', false], firewall: ['b', false] });
  });
});

test('the collection\'s D-Bus client reads a big-endian reply, and turns every malformed message into DBusProtocolError, never a crash', async (t) => {
  await withScratch(async (_dir, env) => {
    const reply = marshalMessage({ type: MESSAGE_TYPE_METHOD_RETURN, serial: 8, replySerial: 3, signature: 'a(ssa{sv})', body: [[
      ['eth0', 'br-eth0', { type: makeVariant('s', 'ethernet'), carrier: makeVariant('b', true), addresses: makeVariant('as', ['192.0.2.10/24']) }],
    ]] });
    const result = await python(env, [
      'import json, random, struct, sys',
      `from ${WIRE}.dbus_wire import decode_message, DBusProtocolError, Reader, split_signature`,
      'valid = bytes.fromhex(json.load(sys.stdin))',
      'def outcome(data):',
      '    try:',
      '        decode_message(data)',
      '        return "ok"',
      '    except DBusProtocolError as err:',
      '        return "refused"',
      'cases = {',
      '    "valid": valid,',
      '    "truncated": valid[:-3],',
      '    "longer": valid + b"\\0",',
      '    "byte order": b"X" + valid[1:],',
      '    "version": valid[:3] + b"\\2" + valid[4:],',
      '    "body length": valid[:4] + struct.pack("<I", 1 << 30) + valid[8:],',
      '}',
      'out = dict((name, outcome(data)) for name, data in cases.items())',
      'def read(sig, data):',
      '    try:',
      '        return Reader(data).read_body(sig)',
      '    except DBusProtocolError:',
      '        return "refused"',
      // A big-endian error reply (from a service on s390x): fields reply-serial 2, error-name, signature s.
      'def field(code, sig, fmt, *values):',
      '    return struct.pack(">B", code) + struct.pack(">B", len(sig)) + sig.encode() + b"\\0" + struct.pack(fmt, *values)',
      'name = b"org.fedoraproject.SharedInterface.Error.Busy"',
      'fields = field(5, "u", ">I", 2)',
      'fields += b"\\0" * (-len(fields) % 8) + field(4, "s", ">I%dsx" % len(name), len(name), name)',
      'fields += b"\\0" * (-len(fields) % 8) + field(8, "g", ">B1sx", 1, b"s")',
      'body = struct.pack(">I4sx", 4, b"busy")',
      'big = b"B\\3\\0\\1" + struct.pack(">III", len(body), 9, len(fields)) + fields + b"\\0" * (-len(fields) % 8) + body',
      'message = decode_message(big)',
      'out["big-endian"] = [message.type, message.fields, message.body]',
      'out["bool 2"] = read("b", struct.pack("<I", 2))',
      'out["padding"] = read("yu", b"\\1\\1\\0\\0" + struct.pack("<I", 5))',
      'out["array overrun"] = read("au", struct.pack("<II", 8, 1))',
      'out["string without NUL"] = read("s", struct.pack("<I", 2) + b"abc")',
      'out["not UTF-8"] = read("s", struct.pack("<I", 1) + b"\\xff\\0")',
      'out["two types in a variant"] = read("v", b"\\2yy\\0\\1\\1")',
      'out["nesting"] = read("v", (b"\\1v\\0" * 70) + b"\\1y\\0\\1")',
      'out["bad signature"] = read("a{vs}", b"")',
      'out["dict entry outside an array"] = read("v", b"\\4{ss}\\0")',
      'out["container as a key"] = read("v", b"\\6a{avs}\\0\\0" + struct.pack("<I", 0))',
      'def mutate(rng):',
      '    data = bytearray(valid)',
      '    for _ in range(rng.randint(1, 4)):',
      '        data[rng.randrange(len(data))] = rng.randrange(256)',
      '    return bytes(data)',
      'rng = random.Random(27)',
      'fuzz = [outcome(mutate(rng)) for _ in range(3000)]',
      'out["fuzz"] = sorted(set(fuzz))',
      'print(json.dumps(out))',
    ], reply.toString('hex')) as Record<string, unknown>;
    t.deepEqual(result['big-endian'], [3, { 4: 'org.fedoraproject.SharedInterface.Error.Busy', 5: 2, 8: 's' }, ['busy']]);
    t.like(result, { valid: 'ok', truncated: 'refused', longer: 'refused', 'byte order': 'refused', version: 'refused', 'body length': 'refused' });
    for (const name of ['bool 2', 'padding', 'array overrun', 'string without NUL', 'not UTF-8', 'two types in a variant', 'nesting', 'bad signature',
      'dict entry outside an array', 'container as a key']) {
      t.is(result[name], 'refused', name);
    }
    // Every mutation either still decodes or is refused: no other exception escaped (it would fail the script).
    t.true((result['fuzz'] as string[]).includes('refused'));
  });
});

test('the error hints a module adds, and a bus that cannot be reached', async (t) => {
  await withScratch(async (_dir, env) => {
    const [notRoot, oldService, noService, noBus, unsendable] = await python(env, [
      'import json, sys',
      `from ${WIRE}.dbus_wire import encode_message, METHOD_CALL`,
      `from ${WIRE}.shared_interface_bus import error_from_reply, SharedInterfaceClient, SharedInterfaceError`,
      'out = [error_from_reply(name, text).failure() for name, text in json.load(sys.stdin)]',
      'try:',
      '    SharedInterfaceClient(None).list_interfaces()',
      'except SharedInterfaceError as err:',
      '    out.append(err.failure())',
      // A connection that marshals the call as the real one does, without a bus to send it to.
      'class Unconnected(object):',
      '    def __init__(self, timeout):',
      '        pass',
      '    def call(self, destination, path, interface, member, signature, args, timeout):',
      '        encode_message(2, METHOD_CALL, {1: path, 3: member, 6: destination}, signature, args)',
      'try:',
      '    SharedInterfaceClient(None, connect=Unconnected).share("eth\\0")',
      'except SharedInterfaceError as err:',
      '    out.append(err.failure())',
      'print(json.dumps(out))',
    ], [
      ['org.freedesktop.DBus.Error.InteractiveAuthorizationRequired', 'authentication is required'],
      ['org.freedesktop.DBus.Error.InvalidArgs', "unknown Share option 'confirm-timeout'; known options: bridge, stp"],
      ['org.freedesktop.DBus.Error.ServiceUnknown', 'The name org.fedoraproject.SharedInterface was not provided by any .service files'],
    ]) as Array<Record<string, string>>;
    t.regex(notRoot?.['hint'] ?? '', /^run the task as root \(become: true\), or let the remote user change the network with a polkit rule/);
    t.like(oldService, { error_name: 'org.freedesktop.DBus.Error.InvalidArgs', hint: 'this version of shared-interface has no confirm-or-rollback; leave confirm_timeout out' });
    t.like(noService, { hint: 'is shared-interface installed on this host? Its bus name is org.fedoraproject.SharedInterface' });
    // DBUS_SYSTEM_BUS_ADDRESS points at nothing here: no name, the reason, and what to check.
    t.like(noBus, { hint: 'is the system bus (dbus-daemon or dbus-broker) running on this host?' });
    t.regex(noBus?.['msg'] ?? '', /^cannot connect to the system bus at \/nonexistent\/bus: /);
    t.is(noBus?.['error_name'], undefined);
    // A value D-Bus cannot carry is never sent: InvalidArgs, as the service would answer.
    t.like(unsendable, { error_name: 'org.freedesktop.DBus.Error.InvalidArgs', error_message: 'Share: a D-Bus string cannot hold a NUL character' });
  }, false, { DBUS_SYSTEM_BUS_ADDRESS: 'tcp:host=localhost,port=1;unix:path=/nonexistent/bus' });
});

test('the collection\'s D-Bus client against a bus that authenticates, then hangs up or never answers', async (t) => {
  await withScratch(async (dir, env) => {
    const result = await python(env, [
      'import json, os, socket, sys, threading',
      `from ${WIRE}.dbus_wire import Connection, DBusErrorReply, DBusProtocolError, decode_message, encode_message, message_length, METHOD_RETURN`,
      'path = json.load(sys.stdin)',
      'server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      'server.bind(path)',
      'server.listen(2)',
      'seen = []',
      'def serve(behaviour):',
      '    peer, _ = server.accept()',
      '    data = b""',
      '    while b"\\r\\n" not in data:',
      '        data += peer.recv(4096)',
      '    seen.append(data.split(b"\\r\\n")[0].decode())',
      '    peer.sendall(b"OK 0123456789abcdef0123456789abcdef\\r\\n")',
      '    while b"BEGIN\\r\\n" not in data:',
      '        data += peer.recv(4096)',
      '    rest = data.split(b"BEGIN\\r\\n", 1)[1]',
      '    while len(rest) < 16 or len(rest) < message_length(rest[:16]):',
      '        rest += peer.recv(4096)',
      '    hello = decode_message(rest)',
      '    peer.sendall(encode_message(1, METHOD_RETURN, {5: hello.serial, 7: "org.freedesktop.DBus"}, "s", [":1.42"]))',
      '    peer.recv(4096)',
      '    if behaviour == "hang up":',
      '        peer.close()',
      '    else:',
      '        threading.Event().wait(3)',
      '        peer.close()',
      'out = {}',
      'for behaviour in ("hang up", "silence"):',
      '    thread = threading.Thread(target=serve, args=(behaviour,))',
      '    thread.start()',
      '    connection = Connection(path, timeout=1)',
      '    out["unique name"] = connection.unique_name',
      '    try:',
      '        connection.call("org.fedoraproject.SharedInterface", "/org/fedoraproject/SharedInterface", "org.fedoraproject.SharedInterface", "ListInterfaces", timeout=1)',
      '    except DBusProtocolError as err:',
      '        out[behaviour] = ["DBusProtocolError", str(err)]',
      '    except DBusErrorReply as err:',
      '        out[behaviour] = [err.name, err.message]',
      '    connection.close()',
      '    thread.join()',
      'out["auth"] = seen',
      'print(json.dumps(out))',
    ], join(dir, 'bus')) as Record<string, unknown>;
    const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
    t.deepEqual(result['auth'], [`\0AUTH EXTERNAL ${uid}`, `\0AUTH EXTERNAL ${uid}`]);
    t.is(result['unique name'], ':1.42');
    t.deepEqual(result['hang up'], ['DBusProtocolError', 'the system bus closed the connection']);
    t.deepEqual(result['silence'], ['org.freedesktop.DBus.Error.NoReply', 'org.fedoraproject.SharedInterface.ListInterfaces did not answer within 1 s']);
  });
});

test('state: unshared plans nothing for a NIC that is gone, unless the service still shares it (unplugged while shared)', async (t) => {
  await withScratch(async (_dir, env) => {
    const plans = await python(env, [
      'import json, sys',
      `from ${WIRE.replace('module_utils', 'modules')}.shared_interface import plan`,
      'class Module(object):',
      '    params = dict(name="eth7", state="unshared", bridge=None, stp=None, forward_delay=None)',
      'listing = [dict(name="eth0", bridge="", addresses=[])]',
      'print(json.dumps([plan(Module(), listing, shared) for shared in json.load(sys.stdin)]))',
    ], [{}, { eth0: 'br-eth0' }, { eth7: 'br-eth7' }]);
    t.deepEqual(plans, [[[], []], [[], []], [['unshare'], ['eth7 is gone but still shared through br-eth7']]]);
  });
});

test('the module\'s options are the service\'s (src/bridge/request-options.ts): each key and type sent, each range checked', async (t) => {
  await withScratch(async (_dir, env) => {
    const out = await python(env, [
      'import json',
      `from ${WIRE.replace('module_utils', 'modules')}.shared_interface import ARGUMENT_SPEC, OPTION_RANGES`,
      `from ${WIRE}.shared_interface_bus import SharedInterfaceClient`,
      'sent = {}',
      'class Recording(object):',
      '    def __init__(self, timeout):',
      '        pass',
      '    def call(self, destination, path, interface, member, signature, args, timeout):',
      '        sent[member] = dict((key, sig) for key, (sig, _value) in args[1].items())',
      '        return ["br0"]',
      'client = SharedInterfaceClient(None, connect=Recording)',
      'client.share("eth0", bridge="br0", stp=True, forward_delay=2, rollback_timeout=60, persist=False, firewall=False, confirm_timeout=30, mode="routed")',
      'client.unshare("eth0", force=True, rollback_timeout=60, confirm_timeout=30)',
      'spec = dict((name, option["type"]) for name, option in ARGUMENT_SPEC.items())',
      'choices = dict((name, option.get("choices")) for name, option in ARGUMENT_SPEC.items())',
      'print(json.dumps(dict(sent=sent, spec=spec, choices=choices, ranges=OPTION_RANGES)))',
    ], null) as { sent: Record<string, Record<string, string>>; spec: Record<string, string>; choices: Record<string, string[] | null>; ranges: Record<string, [number, number]> };
    const moduleType = { s: 'str', b: 'bool', u: 'int' } as const;
    for (const method of ['Share', 'Unshare'] as const) {
      const rows = METHOD_OPTIONS[method].map((name) => REQUEST_OPTIONS[name]);
      t.deepEqual(out.sent[method], Object.fromEntries(rows.map((row) => [row.key, row.type])), `${method}: the keys and types the client sends`);
      for (const row of rows) {
        const option = row.key.replace(/-/g, '_');
        t.is(out.spec[option], moduleType[row.type], `the module's ${option}`);
        if (row.type === 'u') t.deepEqual(out.ranges[option], [row.min, row.max], `the module's range of ${option}`);
        if (row.type === 's' && 'choices' in row) t.deepEqual(out.choices[option], [...row.choices], `the module's choices of ${option}`);
      }
    }
  });
});
