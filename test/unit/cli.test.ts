// SPDX-License-Identifier: GPL-2.0-or-later
// The CLI's rules, without a service: parsing, help, validation before any bus, exit codes, output.
import test from 'ava';
import { BusCallError, BusConnection } from '../../src/dbus-wire/bus-connection';
import { COMMANDS } from '../../src/cli/cli-commands';
import { parseCommandLine } from '../../src/cli/cli-parser';
import { busAddressFor } from '../../src/cli/remote-bus';
import { parseBusAddress } from '../../src/dbus-wire/bus-address';
import { formatTable, terminalColumns, wrap } from '../../src/cli/cli-output';
import { UsageError } from '../../src/cli/command';
import { EXIT, EXIT_CODE_DOCS, exitCodeForError } from '../../src/cli/exit-codes';
import { GLOBAL_OPTIONS } from '../../src/cli/global-options';
import { formatDeadline, pendingAdvice, secondsLeft } from '../../src/cli/pending-commands';
import { escapeTerse, fieldNames, tableChoice, tableLines, tableOptionsProblem, type FieldTable } from '../../src/cli/table-output';
import { main, type CliEnvironment } from '../../src/cli/shared-interface-cli';
import { journalLines } from '../../src/log';
import { parseDaemonArgs } from '../../src/main';
import { VERSION } from '../../src/version';

interface Run { code: number; stdout: string; stderr: string; connected: boolean }

/** Runs the CLI in-process; `connect` is what a bus connection attempt does (default: must not happen). */
async function cli(argv: string[], connect?: () => Promise<BusConnection>): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  let connected = false;
  const env: CliEnvironment = {
    output: { out: (l) => out.push(l), err: (l) => err.push(l), columns: 80 },
    connect: () => {
      connected = true;
      return connect ? connect() : Promise.reject(new Error('the CLI connected to a bus'));
    },
  };
  const code = await main(argv, env);
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), connected };
}

const nowhere = () => BusConnection.connect({ address: 'unix:path=/nonexistent/system_bus_socket' });

const run = (argv: string[]) => {
  const line = parseCommandLine(argv, COMMANDS, GLOBAL_OPTIONS);
  if (line.kind !== 'run') throw new Error(`not a run: ${line.kind}`);
  return { command: line.command.name, positionals: line.positionals, values: line.values, json: line.json };
};

test('--help and -h: the overview on stdout, exit 0, no bus', async (t) => {
  for (const argv of [['--help'], ['-h'], ['--json', '--help']]) {
    const r = await cli(argv);
    t.is(r.code, 0);
    t.regex(r.stdout, /^usage: shared-interface \[OPTIONS\] COMMAND/);
    for (const c of COMMANDS) t.regex(r.stdout, new RegExp(`^  ${c.name} `, 'm'));
    for (const [code] of EXIT_CODE_DOCS) t.regex(r.stdout, new RegExp(`^ +${code}  `, 'm'));
    t.is(r.stderr, '');
    t.false(r.connected);
  }
});

test('each command has its own --help, before or after its arguments, even with bad values', async (t) => {
  for (const c of COMMANDS) {
    for (const argv of [[c.name, '--help'], ['-h', c.name], [c.name, 'eth0', '-h'], [c.name, 'bad/name', 'extra', '--help']]) {
      const r = await cli(argv);
      t.is(r.code, 0, argv.join(' '));
      t.true(r.stdout.startsWith(`usage: shared-interface ${c.name}`), r.stdout);
      for (const name of Object.keys(c.options)) t.true(r.stdout.includes(`--${name}`), `${c.name} --help names --${name}`);
      t.false(r.connected);
    }
  }
});

test('help lines fit 80 columns', async (t) => {
  for (const argv of [['--help'], ...COMMANDS.map((c) => [c.name, '--help'])]) {
    for (const line of (await cli(argv)).stdout.split('\n')) t.true(line.length <= 80, `${argv.join(' ')}: ${line}`);
  }
});

test('GNU long options with = or a separate value, short options, options before or after the interface', (t) => {
  const expected = { command: 'share', positionals: ['eth0'], values: { bridge: 'br0', 'forward-delay': '2', stp: true }, json: false };
  for (const argv of [
    ['share', '--bridge=br0', '--forward-delay=2', '--stp', 'eth0'],
    ['share', 'eth0', '--bridge', 'br0', '--stp', '--forward-delay', '2'],
    ['share', '-b', 'br0', 'eth0', '--forward-delay=2', '--stp'],
    ['share', '-bbr0', '--stp', 'eth0', '--forward-delay', '2'],
  ]) {
    t.like(run(argv), expected, argv.join(' '));
  }
  t.like(run(['--json', 'list']), { command: 'list', json: true });
  t.like(run(['list', '-f', 'interface,mac']), { command: 'list', values: { fields: 'interface,mac' } });
  t.like(run(['-g', 'interface', 'list']), { command: 'list', values: { 'get-values': 'interface' } });
  // -o, list's letter before nmcli's -f, still works.
  t.like(run(['list', '-o', 'interface,mac']), { command: 'list', values: { fields: 'interface,mac' } });
  t.like(run(['-o', 'interface', 'list']), { command: 'list', values: { fields: 'interface' } });
  t.false(Object.keys(run(['list', '-o', 'interface']).values).some((k) => k.includes('alias')));
  t.like(run(['-t', 'pending', '-f', 'all']), { command: 'pending', values: { terse: true, fields: 'all' } });
  t.like(run(['unshare', '--force', 'eth0']), { command: 'unshare', positionals: ['eth0'], values: { force: true } });
  // After "--", an argument that looks like an option is an argument (and then no interface name).
  t.throws(() => run(['share', '--', '-eth0']), { instanceOf: UsageError, message: /^IFACE: '-eth0' .*not '\.' or '-' first/ });
  t.throws(() => run(['share', '--', 'et/h0']), { instanceOf: UsageError, message: /IFACE: .*characters not allowed/ });
});

for (const [argv, message] of [
  [[], /no command given/],
  [['frobnicate'], /unknown command 'frobnicate'/],
  [['share'], /share needs IFACE/],
  [['share', 'eth0', 'eth1'], /unexpected argument 'eth1'/],
  [['share', 'eth0', '--colour=red'], /Unknown option '--colour'/],
  [['share', 'eth0', '--bridge'], /--bridge <value>' argument missing/],
  [['share', 'eth0', '--stp=yes'], /--stp' does not take an argument/],
  [['share', 'eth0', '--forward-delay=x'], /--forward-delay: 'x' is not a whole number of seconds/],
  [['share', 'eth0', '--forward-delay=31'], /--forward-delay: 31 is not between 0 and 30 seconds/],
  [['share', 'eth0', '--rollback-timeout=0'], /--rollback-timeout: 0 is not between 1 and 3600 seconds/],
  [['share', 'eth0', '--bridge=br/0'], /--bridge: .*characters not allowed/],
  [['share', 'an-interface-name-too-long'], /IFACE: .*at most 15/],
  [['unshare', 'eth0', '--bridge=br0'], /Unknown option '--bridge'/],
  [['list', '-f', 'interface,colour'], /--fields: unknown field 'colour'/],
  [['list', '-g', 'colour'], /--get-values: unknown field 'colour'/],
  [['-f', 'interface', 'share', 'eth0'], /--fields applies to the commands that print a table/],
  [['list', '-t', '--json'], /--json and --terse exclude each other/],
  [['list', '-f', 'interface', '-g', 'mac'], /--fields and --get-values exclude each other/],
  [['unshare', '-f', 'eth0'], /--fields applies to .*list, pending.* \(-f is --fields, as in nmcli; to force, --force\)/],
  [['list', '-o'], /^shared-interface: Option '-o <value>' argument missing$/m],
  [['confirm'], /confirm needs IFACE/],
  [['rollback', 'eth0', 'eth1'], /unexpected argument 'eth1'/],
] as const) {
  test(`usage error, exit 2 before any bus: ${argv.join(' ') || '(nothing)'}`, async (t) => {
    const r = await cli([...argv]);
    t.is(r.code, EXIT.usage);
    t.regex(r.stderr, message);
    t.regex(r.stderr, /Try 'shared-interface( \w+)? --help'\./);
    t.is(r.stdout, '');
    t.false(r.connected, 'checked before connecting');
  });
}

test('--version: the CLI\'s version, and the service\'s as "unavailable" without a bus (exit 0)', async (t) => {
  const r = await cli(['--version'], nowhere);
  t.is(r.code, 0);
  t.is(r.stdout, `shared-interface ${VERSION}\nservice unavailable`);
  t.regex(r.stderr, /service's version is unknown: cannot connect/);
  const json = await cli(['--version', '--json'], nowhere);
  t.deepEqual(JSON.parse(json.stdout), { schema: 1, cli: VERSION, service: null });
});

test('a missing bus: exit 8, the reason, a hint; with --json an error document with "schema"', async (t) => {
  const r = await cli(['list'], nowhere);
  t.is(r.code, EXIT.unavailable);
  t.regex(r.stderr, /^shared-interface: cannot connect to unix:path=\/nonexistent\/system_bus_socket: .*ENOENT/m);
  t.regex(r.stderr, /^hint: is the system bus running \(systemctl status dbus\.service\)\?/m);
  t.regex(r.stderr, /^\(org\.freedesktop\.DBus\.Error\.NoServer\)$/m);
  const json = await cli(['share', 'eth0', '--json'], nowhere);
  t.like(JSON.parse(json.stdout), { schema: 1, error: 'org.freedesktop.DBus.Error.NoServer', exit: 8 });
});

test('a service error\'s hint line is shown as "hint:"', async (t) => {
  const failing = () => Promise.reject(new BusCallError('org.fedoraproject.SharedInterface.Error.NotShareable', 'eth2 cannot be shared: NetworkManager does not manage it\nHint: nmcli device set eth2 managed yes'));
  const r = await cli(['share', 'eth2'], failing);
  t.is(r.code, EXIT.failed);
  t.is(r.stderr, 'shared-interface: eth2 cannot be shared: NetworkManager does not manage it\nhint: nmcli device set eth2 managed yes\n(org.fedoraproject.SharedInterface.Error.NotShareable)');
});

test('exit codes: distinct for rolled back, not found, busy/timeout, unavailable, access denied', (t) => {
  const E = 'org.fedoraproject.SharedInterface.Error';
  const D = 'org.freedesktop.DBus.Error';
  t.is(exitCodeForError(`${D}.InvalidArgs`), 2);
  t.is(exitCodeForError(`${E}.Busy`), 3);
  t.is(exitCodeForError(`${D}.NoReply`), 3);
  t.is(exitCodeForError(`${E}.RolledBack`), 4);
  t.is(exitCodeForError(`${E}.BackendUnavailable`), 8);
  t.is(exitCodeForError(`${D}.ServiceUnknown`), 8);
  t.is(exitCodeForError(`${D}.Spawn.ChildExited`), 8);
  t.is(exitCodeForError(`${E}.NoSuchInterface`), 10);
  t.is(exitCodeForError(`${E}.NotShared`), 10);
  t.is(exitCodeForError(`${D}.AccessDenied`), 77);
  t.is(exitCodeForError(`${E}.AlreadyShared`), 1);
  t.is(exitCodeForError(`${E}.Failed`), 1);
  const codes = EXIT_CODE_DOCS.map(([code]) => code);
  t.deepEqual(new Set(codes).size, codes.length);
  t.deepEqual(new Set(codes), new Set(Object.values(EXIT)));
});

test('the command table: unique names, no option or short letter shared with a global one', (t) => {
  t.is(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length);
  const globalShorts = Object.values(GLOBAL_OPTIONS).flatMap((o) => (o.short ? [o.short] : []));
  for (const c of COMMANDS) {
    for (const name of Object.keys(c.options)) t.false(name in GLOBAL_OPTIONS, `${c.name} --${name}`);
    const shorts = Object.values(c.options).flatMap((o) => (o.short ? [o.short] : []));
    t.is(new Set([...shorts, ...globalShorts]).size, shorts.length + globalShorts.length, c.name);
  }
});

test('tables fit the terminal: only the last column is cut, cells may have several lines', (t) => {
  const rows = [[['eth0'], ['ethernet'], ['192.0.2.10/24', '2001:db8:1234:5678:5054:ff:fe12:3456/64']], [['lo'], ['loopback'], ['127.0.0.1/8']]];
  t.deepEqual(formatTable(['NAME', 'TYPE', 'ADDRESSES'], rows, 80), [
    'NAME  TYPE      ADDRESSES',
    'eth0  ethernet  192.0.2.10/24',
    '                2001:db8:1234:5678:5054:ff:fe12:3456/64',
    'lo    loopback  127.0.0.1/8',
  ]);
  const narrow = formatTable(['NAME', 'TYPE', 'ADDRESSES'], rows, 30);
  for (const line of narrow) t.true(line.length <= 30, line);
  t.is(narrow[2], '                2001:db8:1234…');
  t.deepEqual(formatTable(undefined, [[['a'], ['b']]], 80), ['a  b']);
  t.deepEqual(wrap('eth0: note: its IPv6 address changes when it becomes a port', 24), ['eth0: note: its IPv6', '  address changes when', '  it becomes a port']);
});

test('the terminal width: COLUMNS, else the tty\'s, else 80', (t) => {
  t.is(terminalColumns({ COLUMNS: '100' }, 120), 100);
  t.is(terminalColumns({ COLUMNS: 'wide' }, 120), 120);
  t.is(terminalColumns({}, undefined), 80);
});

test('daemon: journald priority prefixes on every line of a message', (t) => {
  t.is(journalLines('error', 'failed:\n  at x'), '<3>failed:\n<3>  at x');
  t.is(journalLines('warning', 'rolled back'), '<4>rolled back');
  t.is(journalLines('info', 'ready'), '<6>ready');
  t.is(journalLines('debug', 'options'), '<7>options');
});

test('daemon arguments: util.parseArgs, checked values, --help and --version', (t) => {
  t.like(parseDaemonArgs(['--idle-timeout=5', '--log-level', 'debug', '--state-dir=/tmp/s']), { kind: 'run', options: { idleTimeoutSeconds: 5, logLevel: 'debug', stateDir: '/tmp/s' } });
  t.like(parseDaemonArgs([]), { kind: 'run', options: { idleTimeoutSeconds: 0, logLevel: 'info', authorizationTimeoutSeconds: 300 } });
  t.like(parseDaemonArgs(['--authorization-timeout=5']), { kind: 'run', options: { authorizationTimeoutSeconds: 5 } });
  t.like(parseDaemonArgs(['--help']), { kind: 'exit', code: 0 });
  t.deepEqual(parseDaemonArgs(['--version']), { kind: 'exit', code: 0, text: `shared-interfaced ${VERSION}` });
  for (const bad of [['--idle-timeout=x'], ['--authorization-timeout=0'], ['--log-level=loud'], ['--ifcfg-dir=relative'], ['--frob'], ['extra']]) {
    t.like(parseDaemonArgs(bad), { kind: 'exit', code: 2 }, bad.join(' '));
  }
});

test('-H HOST and --confirm[=SECONDS]: the value may be left out, even before the interface', (t) => {
  t.like(run(['share', 'eth0', '--confirm']), { positionals: ['eth0'], values: { confirm: '' } });
  t.like(run(['-H', 'root@host.example', 'share', '--confirm', 'eth0']), { positionals: ['eth0'], values: { confirm: '', host: 'root@host.example' } });
  t.like(run(['unshare', '--confirm=5', 'eth0', '--host=h']), { positionals: ['eth0'], values: { confirm: '5', host: 'h' } });
  t.throws(() => run(['share', 'eth0', '--confirm=soon']), { instanceOf: UsageError, message: /--confirm: 'soon' is not a whole number/ });
  t.throws(() => run(['-H', '-oProxyCommand=x', 'list']), { instanceOf: UsageError });
  t.throws(() => run(['--host', 'a b', 'list']), { instanceOf: UsageError, message: /not \[USER@\]HOST/ });
});

test('-H reaches the system bus over ssh, as busctl -H does', (t) => {
  t.is(busAddressFor(undefined), undefined);
  t.deepEqual(parseBusAddress(busAddressFor('root@192.0.2.10') ?? ''), { transport: 'unixexec', path: 'ssh', argv0: 'ssh', args: ['-xT', '--', 'root@192.0.2.10', 'systemd-stdio-bridge'] });
  t.deepEqual(parseBusAddress(busAddressFor('[2001:db8::10]') ?? ''), { transport: 'unixexec', path: 'ssh', argv0: 'ssh', args: ['-xT', '--', '2001:db8::10', 'systemd-stdio-bridge'] });
});

test('-t and -g as nmcli writes them: values split by ":", ":" and "\\" escaped, several values joined by " | ", none empty', (t) => {
  const table: FieldTable<{ name: string; addresses: string[]; note: string }> = {
    name: (r) => [r.name],
    addresses: (r) => r.addresses,
    note: (r) => (r.note === '' ? [] : [r.note]),
  };
  const names = fieldNames(table, ['name', 'addresses']);
  const rows = [{ name: 'eth0', addresses: ['192.0.2.10/24', '2001:db8::1/64'], note: 'a\\b:c' }, { name: 'lo', addresses: [], note: '' }];
  const lines = (values: Record<string, string | boolean>) => tableLines(tableChoice(values, names), table, rows, 80);
  t.deepEqual(lines({ terse: true }), ['eth0:192.0.2.10/24 | 2001\\:db8\\:\\:1/64', 'lo:']);
  t.deepEqual(lines({ 'get-values': 'note,name' }), ['a\\\\b\\:c:eth0', ':lo']);
  t.deepEqual(lines({ 'get-values': 'name' }), ['eth0', 'lo']);
  t.deepEqual(lines({ terse: true, fields: 'all' }), ['eth0:192.0.2.10/24 | 2001\\:db8\\:\\:1/64:a\\\\b\\:c', 'lo::']);
  t.deepEqual(lines({ fields: 'common' }), ['NAME  ADDRESSES', 'eth0  192.0.2.10/24', '      2001:db8::1/64', 'lo    -']);
  t.is(escapeTerse('a:b\\c'), 'a\\:b\\\\c');
  t.is(tableOptionsProblem({ fields: 'name,colour' }, names), "--fields: unknown field 'colour'; fields: name,addresses,note (or all, common)");
});

test('pending\'s deadlines: ISO 8601 in UTC to the second, seconds left never below 0', (t) => {
  t.is(formatDeadline(Date.UTC(2026, 11, 7, 23, 15, 2, 999)), '2026-12-07T23:15:02Z');
  t.is(secondsLeft(10_500, 1_000), 10);
  t.is(secondsLeft(1_000, 5_000), 0);
  t.regex(pendingAdvice('eth0'), /^shared-interface confirm eth0 keeps it, shared-interface rollback eth0 undoes it$/);
});

