// SPDX-License-Identifier: GPL-2.0-or-later
// Remote use, as an administrator does it: `shared-interface -H root@HOST share eth0 --confirm`
// from a machine on the LAN, over SSH to Debian's sshd in the lab, whose session rides the very
// NIC being moved. The CLI confirms through a second SSH session; when it can't, the host rolls
// back by itself. And on a terminal, the Progress lines.
import test from 'ava';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor } from './lab';
import { makeSshKey, startSshd, writeSshClientConfig } from './lab-ssh';
import { ipv4, links, networkState, nmCheckpoints, sameNetworkState } from './nm-state';
import { ServiceClient } from './service-client';

const CLI = join(REPO_ROOT, 'bin', 'shared-interface');

/**
 * An `ssh` first in the administrator's PATH that uses the lab's client configuration (never the
 * host's ~/.ssh or /etc/ssh), and refuses to connect once the file `fail-after` says how many
 * sessions it allows: a network that lets the first session through and no other.
 */
function sshWrapper(lab: Lab, config: string): string {
  const bin = join(lab.dir, 'admin-bin');
  const counter = join(lab.dir, 'ssh-sessions');
  const script = `#!/bin/sh
n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n + 1)) >${counter}
if [ -e ${lab.dir}/fail-after ] && [ "$n" -ge "$(cat ${lab.dir}/fail-after)" ]; then
  echo "ssh: connect to host: Connection timed out" >&2; sleep 1; exit 255
fi
exec /usr/bin/ssh -F ${config} "$@"
`;
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'ssh'), script);
  chmodSync(join(bin, 'ssh'), 0o755);
  return bin;
}

/** The CLI as the administrator runs it: in the LAN's namespace, with the lab's ssh first in PATH. */
function admin(lab: Lab, bin: string, args: readonly string[]) {
  return lab.exec(['ip', 'netns', 'exec', 'lan', CLI, ...args], {
    env: { PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
    allowFailure: true,
    timeoutMs: 180_000,
  });
}

test('-H over SSH from the LAN: share --confirm rides the moved NIC and is confirmed by a second session; unconfirmed, the host rolls back; Progress lines on a terminal only', async (t) => {
  const lab = await Lab.start();
  const bus = await lab.connect();
  const client = new ServiceClient(bus);
  try {
    const address = ipv4((await links(lab)).get('eth0'));
    if (address === undefined) throw new Error('eth0 has no address');
    const before = await networkState(lab);
    await lab.startDaemon();
    const adminKey = await makeSshKey(lab, 'admin');
    const sshd = await startSshd(lab, [adminKey.publicKey]);
    const config = await writeSshClientConfig(lab, adminKey, new Map([[address, sshd.hostKey]]));
    const bin = sshWrapper(lab, config);

    // Share over SSH, confirmed through a second SSH session.
    const shared = await admin(lab, bin, ['-H', `root@${address}`, 'share', 'eth0', '--confirm']);
    t.is(shared.code, 0, shared.stderr);
    t.regex(shared.stdout, /eth0 is shared through bridge br-eth0/);
    t.regex(shared.stderr, new RegExp(`confirming the change of eth0 through a new SSH session to root@${address.replace(/\./g, '\\.')}`));
    t.regex(shared.stderr, /confirmed: the change of eth0 stays/);
    // Both sessions came from the LAN, to the address the NIC carries (and the bridge after it).
    t.is(sshd.process.output.match(/Accepted publickey for root from 192\.0\.2\.1 /g)?.length, 2, sshd.process.output);
    t.deepEqual(await client.pending(), new Map());
    const after = await links(lab);
    t.is(after.get('eth0')?.master, 'br-eth0');
    t.is(ipv4(after.get('br-eth0')), address);
    // Confirmed means nothing is left that could undo it: no deadline of the daemon's (Pending is
    // empty) and no checkpoint whose timer NetworkManager would run.
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    t.is(await nmCheckpoints(lab), 'ao 0');

    // Unshare over SSH the same way: back to the state before, and the JSON says it was confirmed.
    const unshared = await admin(lab, bin, ['--json', '-H', `root@${address}`, 'unshare', 'eth0', '--confirm=20']);
    t.is(unshared.code, 0, unshared.stderr);
    t.like(JSON.parse(unshared.stdout) as object, { interface: 'eth0', shared: false, confirmed: true });
    await waitFor('the state before sharing', async () => (sameNetworkState(await networkState(lab), before) ? true : undefined), 30_000);

    // The second session can't get through: the CLI says so and exits 4; the host rolls back.
    writeFileSync(join(lab.dir, 'ssh-sessions'), '0');
    writeFileSync(join(lab.dir, 'fail-after'), '1');
    const lost = await admin(lab, bin, ['-H', `root@${address}`, 'share', 'eth0', '--confirm=8']);
    t.is(lost.code, 4, lost.stderr);
    t.regex(lost.stderr, /could not confirm the change of eth0 within 8 s \(.*\); (the host rolls it back by itself|it was rolled back)/);
    await waitFor('the host rolled back the unconfirmed share', async () => ((await client.shared()).size === 0 && (await client.pending()).size === 0 ? true : undefined), 60_000);
    await waitFor('the state before sharing, again', async () => (sameNetworkState(await networkState(lab), before) ? true : undefined), 30_000);
    t.is((await links(lab)).get('eth0')?.address, '52:54:00:12:34:56');

    // On the host itself, on a terminal (script gives the CLI a pty): Progress lines with the
    // seconds since the start, in order; with --json, none.
    const onTty = await lab.exec(['script', '-qec', `${CLI} share eth0`, '/dev/null'], { timeoutMs: 120_000 });
    const lines = onTty.stdout.split(/\r?\n/).filter((l) => /^\[ *\d+\.\d s\] /.test(l));
    const seen = lines.map((l) => /^\[ *\d+\.\d s\] ([a-z-]+): /.exec(l)?.[1] ?? '?');
    t.deepEqual(seen.filter((step) => step !== 'waiting-for-lease'), ['authorizing', 'checkpoint', 'profiles-added', 'bridge-up', 'gateway-answers', 'committed'], onTty.stdout);
    t.regex(onTty.stdout, /eth0 is shared through bridge br-eth0/);
    const json = await lab.exec(['script', '-qec', `${CLI} --json unshare eth0`, '/dev/null'], { timeoutMs: 120_000 });
    t.notRegex(json.stdout, /^\[ *\d+\.\d s\] /m, json.stdout);
    t.like(JSON.parse(json.stdout.trim()) as object, { interface: 'eth0', shared: false });
  } finally {
    bus.close();
    await lab.stop();
  }
});
