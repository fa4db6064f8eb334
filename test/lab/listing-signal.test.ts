// SPDX-License-Identifier: GPL-2.0-or-later
// InterfacesChanged seen by the clients a user would use: gdbus monitor (GDBus) and
// `shared-interface monitor`, on an ifcfg host (no NetworkManager: only the kernel's and the ifcfg
// files' events), and with NetworkManager, where a user's private profile must announce nothing.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_DIR } from '../fixtures/ifcfg/golden';
import { BUS_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';
import { Lab, REPO_ROOT, type LabProcess } from './lab';
import { ServiceClient } from './service-client';

const CLI = join(REPO_ROOT, 'bin', 'shared-interface');
const DEADLINE = 60_000;

/** gdbus monitor on our object, once it says it watches the service's owner. */
async function gdbusMonitor(lab: Lab): Promise<LabProcess> {
  const monitor = lab.spawn(['gdbus', 'monitor', '--system', '--dest', BUS_NAME, '--object-path', OBJECT_PATH]);
  await monitor.waitForOutput(/owned by :/, DEADLINE);
  return monitor;
}

/** The InterfacesChanged lines gdbus printed after `from` characters of its output. */
function signalsSince(monitor: LabProcess, from: number): string[] {
  return monitor.output.slice(from).split('\n').filter((line) => line.includes('.InterfacesChanged '));
}

async function cliMonitor(lab: Lab, args: string[] = []): Promise<LabProcess> {
  const monitor = lab.spawn([CLI, 'monitor', ...args]);
  await monitor.waitForOutput(/watching \d+ interfaces/, DEADLINE);
  return monitor;
}

test('ifcfg host: a link, its addresses, Share and Unshare reach gdbus monitor and shared-interface monitor, one signal per burst', async (t) => {
  const lab = await Lab.start({ networkManager: false });
  const bus = await lab.connect();
  try {
    const ifcfgDir = join(lab.dir, 'network-scripts');
    await lab.sh(`mkdir ${ifcfgDir}`);
    writeFileSync(join(ifcfgDir, 'ifcfg-eth0'), readFileSync(join(FIXTURE_DIR, 'lab-static.input')), { mode: 0o644 });
    await lab.sh('ip addr add 192.0.2.10/24 dev eth0 && ip route add default via 192.0.2.1 dev eth0');
    const daemon = await lab.startDaemon(['--ifcfg-dir', ifcfgDir, '--state-dir', join(lab.dir, 'state')]);
    const client = new ServiceClient(bus);
    const gdbus = await gdbusMonitor(lab);
    const text = await cliMonitor(lab);
    const json = await cliMonitor(lab, ['--json']);

    // A link appears: the kernel's event, then the listing's entry.
    await lab.sh('ip link add vtest0 type veth peer name vtest0p');
    await text.waitForOutput(/^vtest0: appeared \(ethernet, /m, DEADLINE);
    await gdbus.waitForOutput(/InterfacesChanged \(\[.*\('vtest0', '', \{/, DEADLINE);

    // Ten addresses in one netlink burst: one signal, ten lines.
    let mark = gdbus.output.length;
    await lab.sh(`ip -batch - <<'EOF'\n${Array.from({ length: 10 }, (_, i) => `addr add 198.51.100.${i + 1}/24 dev vtest0`).join('\n')}\nEOF`);
    await text.waitForOutput(/^vtest0: address 198\.51\.100\.10\/24 added$/m, DEADLINE);
    await gdbus.waitForOutput(/'198\.51\.100\.10\/24'/, DEADLINE);
    const burst = signalsSince(gdbus, mark);
    t.is(burst.length, 1, burst.join('\n'));
    t.is((text.output.match(/^vtest0: address 198\.51\.100\.\d+\/24 added$/gm) ?? []).length, 10);

    // Share and Unshare through the service: the ifcfg files' and the kernel's events.
    await client.share('eth0');
    await text.waitForOutput(/^eth0: shared through br-eth0$/m, DEADLINE);
    await text.waitForOutput(/^br-eth0: appeared \(bridge, /m, DEADLINE);
    await client.unshare('eth0');
    await text.waitForOutput(/^eth0: shareable$/m, DEADLINE);
    await text.waitForOutput(/^br-eth0: gone$/m, DEADLINE);

    // A link goes: its name in the signal's second argument.
    mark = gdbus.output.length;
    await lab.sh('ip link del vtest0');
    await text.waitForOutput(/^vtest0: gone$/m, DEADLINE);
    await gdbus.waitForOutput(/InterfacesChanged \(.*, \[[^\]]*'vtest0'[^\]]*\]\)$/m, DEADLINE);
    t.true(signalsSince(gdbus, mark).every((line) => !line.includes("('vtest0'")), 'vtest0 is removed, not changed');

    // --json: one document per signal, each with its schema.
    const documents = json.output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { schema: unknown; changed: Array<{ name: string }>; removed: string[] });
    t.true(documents.length >= 5, json.output);
    t.true(documents.every((d) => d.schema !== undefined && Array.isArray(d.changed) && Array.isArray(d.removed)));
    t.true(documents.some((d) => d.removed.includes('vtest0')));
    t.true(documents.some((d) => d.changed.some((i) => i.name === 'br-eth0')));

    // The service gone for good (here nothing can activate it again): monitor says so and exits 8.
    daemon.kill();
    t.is(await text.waitForExit(), 8, text.output);
    t.regex(text.output, /org\.freedesktop\.DBus\.Error\.ServiceUnknown/);
  } finally {
    bus.close();
    await lab.stop();
  }
});

test('NetworkManager host: a private profile of another user announces nothing; a link after it does', async (t) => {
  const lab = await Lab.start();
  try {
    // carol: a lab user (lab-init.sh).
    await lab.startDaemon();
    const gdbus = await gdbusMonitor(lab);
    const mark = gdbus.output.length;
    // carol's own profile, with an address nobody else may see, added and changed.
    await lab.sh(`nmcli connection add type dummy ifname dummy9 con-name carols-secret connection.permissions user:carol autoconnect no ipv4.method manual ipv4.addresses 203.0.113.9/24 >/dev/null
      nmcli connection modify carols-secret ipv4.addresses 203.0.113.10/24`);
    // Then a change everyone may see (a veth whose other end is in another namespace, as a
    // container's is): the first signal since the mark is about it alone.
    await lab.sh('ip link add vtest1 type veth peer name vtest1p netns lan');
    await gdbus.waitForOutput(/InterfacesChanged \(\[.*\('vtest1', /, DEADLINE);
    const signals = signalsSince(gdbus, mark);
    t.true(signals.every((line) => !/dummy9|203\.0\.113|carol/.test(line)), signals.join('\n'));
    t.regex(signals[0] ?? '', /\('vtest1', /);
  } finally {
    await lab.stop();
  }
});
