// SPDX-License-Identifier: GPL-2.0-or-later
// The initscripts applier (ifup/ifdown, what a Fedora host without NetworkManager uses), against
// recording stand-ins: Fedora's network-scripts are not in Debian, so each program here writes its
// own argv to a log and exits with the status the test chose. The argv must be exactly what the
// real scripts would get.
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Log } from '../../src/log';
import type { IpState } from '../../src/settings/kernel-observer';
import { InitscriptsLive } from '../../src/settings/ifcfg/ifcfg-live-initscripts';

const SHARED = { nic: 'eth0', bridge: 'br-eth0', mac: '52:54:00:12:34:56', stp: false, forwardDelay: 0, config: { dhcp: true, addresses: [], routes: [] } };
const UNSHARED = { nic: 'eth0', bridge: 'br-eth0', config: { dhcp: true, addresses: [], routes: [] } };
const WITH_BRIDGE: IpState = { links: [{ ifname: 'eth0', master: 'br-eth0' }, { ifname: 'br-eth0', linkinfo: { info_kind: 'bridge' } }], addresses: [], routes4: [], routes6: [] };

interface StandIns {
  readonly applier: InitscriptsLive;
  /** Each program's argv, in the order they ran; argv[0] is the stand-in's name. */
  readonly calls: () => Promise<string[][]>;
  readonly logged: string[];
  readonly done: () => Promise<void>;
}

/** ifup, ifdown, ip, systemd-run and systemctl that record their argv; those in `failing` exit 1. */
async function standIns(options: { systemd: boolean; failing?: readonly string[]; state?: IpState }): Promise<StandIns> {
  const dir = await mkdtemp(join(tmpdir(), 'si-initscripts-'));
  const log = join(dir, 'calls');
  const path = (name: string): string => join(dir, name);
  for (const name of ['ifup', 'ifdown', 'ip', 'systemd-run', 'systemctl']) {
    const fail = options.failing?.includes(name) ?? false;
    await writeFile(path(name), `#!/bin/sh\nprintf '%s\\0' "$(basename "$0")" "$@" >> '${log}'\nprintf '\\n' >> '${log}'\n${fail ? 'echo "$(basename "$0") failed" >&2; exit 1' : 'exit 0'}\n`, { mode: 0o755 });
  }
  const logged: string[] = [];
  const sink: Log = { error: (m) => logged.push(m), warn: (m) => logged.push(m), info: (m) => logged.push(m), debug: () => undefined };
  const applier = new InitscriptsLive(sink, {
    ifup: path('ifup'),
    ifdown: path('ifdown'),
    ip: path('ip'),
    systemd: options.systemd ? { systemdRun: path('systemd-run'), systemctl: path('systemctl') } : undefined,
    unitSuffix: () => 'abc123',
    readIpState: () => Promise.resolve(options.state ?? WITH_BRIDGE),
  });
  const calls = async (): Promise<string[][]> => {
    const text = await readFile(log, 'utf8').catch(() => '');
    return text.split('\0\n').filter((l) => l !== '').map((l) => l.split('\0').map((a) => a.replace(dir + '/', '')));
  };
  return { applier, calls, logged, done: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `body` with fresh stand-ins, removed afterwards whatever happened. */
async function withStandIns(options: Parameters<typeof standIns>[0], body: (s: StandIns) => Promise<void>): Promise<void> {
  const s = await standIns(options);
  try {
    await body(s);
  } finally {
    await s.done();
  }
}

test('share without systemd: ifdown the NIC, ifup the bridge, ifup the NIC (its file now says BRIDGE=)', async (t) => {
  await withStandIns({ systemd: false }, async (s) => {
    await s.applier.toShared(SHARED);
    t.deepEqual(await s.calls(), [['ifdown', 'eth0'], ['ifup', 'br-eth0'], ['ifup', 'eth0']]);
  });
});

test('unshare without systemd: ifdown both, delete the bridge device ifdown leaves, ifup the NIC', async (t) => {
  await withStandIns({ systemd: false }, async (s) => {
    await s.applier.toUnshared(UNSHARED);
    t.deepEqual(await s.calls(), [['ifdown', 'eth0'], ['ifdown', 'br-eth0'], ['ip', 'link', 'del', 'dev', 'br-eth0'], ['ifup', 'eth0']]);
  });
});

test('unshare when the bridge is already gone: no ip link del', async (t) => {
  await withStandIns({ systemd: false, state: { links: [{ ifname: 'eth0' }], addresses: [], routes4: [], routes6: [] } }, async (s) => {
    await s.applier.toUnshared(UNSHARED);
    t.deepEqual(await s.calls(), [['ifdown', 'eth0'], ['ifdown', 'br-eth0'], ['ifup', 'eth0']]);
  });
});

test('share under systemd: each script in a transient unit, ifup units outlive the script', async (t) => {
  await withStandIns({ systemd: true }, async (s) => {
    await s.applier.toShared(SHARED);
    const ifdown = (dev: string): string[][] => [
      ['systemd-run', '--quiet', '--collect', `--description=ifdown ${dev} (shared-interface)`, `--unit=shared-interface-ifdown-${dev}-abc123.service`, '--wait', '--', 'ifdown', dev],
      ['systemctl', 'stop', `shared-interface-ifup-${dev}.service`],
    ];
    const ifup = (dev: string): string[][] => [
      ['systemctl', 'stop', `shared-interface-ifup-${dev}.service`],
      ['systemd-run', '--quiet', '--collect', `--description=ifup ${dev} (shared-interface)`, `--unit=shared-interface-ifup-${dev}.service`,
        '--property=Type=oneshot', '--property=RemainAfterExit=yes', '--', 'ifup', dev],
    ];
    t.deepEqual(await s.calls(), [...ifdown('eth0'), ...ifup('br-eth0'), ...ifup('eth0')]);
  });
});

test('a failing ifdown is logged and the change goes on; a failing ifup fails it with the script\'s stderr', async (t) => {
  await withStandIns({ systemd: false, failing: ['ifdown'] }, async (down) => {
    await down.applier.toShared(SHARED);
    t.deepEqual(await down.calls(), [['ifdown', 'eth0'], ['ifup', 'br-eth0'], ['ifup', 'eth0']]);
    t.true(down.logged.some((m) => m.endsWith('ifdown eth0: ifdown failed')), down.logged.join('\n'));
  });
  await withStandIns({ systemd: false, failing: ['ifup'] }, async (up) => {
    const err = await t.throwsAsync(up.applier.toShared(SHARED));
    t.true(err?.message.endsWith('ifup br-eth0: ifup failed'), err?.message);
    // It stops at the first failure: the NIC is not brought up into a bridge that did not come up.
    t.deepEqual(await up.calls(), [['ifdown', 'eth0'], ['ifup', 'br-eth0']]);
  });
});

test('names that are not interface names never reach a command line', async (t) => {
  await withStandIns({ systemd: false }, async (s) => {
    await t.throwsAsync(s.applier.toShared({ ...SHARED, nic: 'eth0; reboot' }), { message: /not an interface name/ });
    await t.throwsAsync(s.applier.toUnshared({ ...UNSHARED, bridge: '-x' }), { message: /not an interface name/ });
    t.deepEqual(await s.calls(), []);
  });
});
