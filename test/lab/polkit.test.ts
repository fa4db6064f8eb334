// SPDX-License-Identifier: GPL-2.0-or-later
// Who may change the network: the installed polkit policy and bus policy, asked through the real
// polkitd and dbus-daemon of a lab whose /usr and /etc are overlays (`make install` goes there).
// The daemon is started by bus activation from the installed files, as on a real system.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH, POLKIT_ACTIONS, sharedInterfaceSpec } from '../../src/service/shared-interface-spec';
import { Lab, REPO_ROOT } from './lab';
import { asUser, busDriver, callAs, installIntoLab, INSTALLED, NOBODY, type BusctlResult } from './lab-install';
import { networkState, nmCheckpoints, settledTo } from './nm-state';

const ACTION = POLKIT_ACTIONS.shareInterface;
const ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied';
const INTERACTIVE_REQUIRED = 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired';

/**
 * Runs `body` in a lab whose /usr and /etc are overlays with our files installed there (`make
 * install`), nothing of ours otherwise; the lab goes afterwards, whatever happened.
 */
async function withInstalledLab(options: { networkManager?: boolean }, body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false, networkManager: options.networkManager ?? true });
  try {
    await installIntoLab(lab);
    await body(lab);
  } finally {
    await lab.stop();
  }
}

/** The whole of what a refused call must leave alone, NetworkManager's checkpoints included. */
async function snapshot(lab: Lab): Promise<unknown> {
  const state = await networkState(lab);
  return { ...state, keyfiles: [...state.keyfiles], checkpoints: await nmCheckpoints(lab) };
}

/** The rules.d snippet exactly as the README documents it. */
function readmeRule(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => b.includes(ACTION) && b.includes('addRule'));
  if (block === undefined) throw new Error(`the README has no polkit rule for ${ACTION}`);
  return block;
}

function isAuthorizationError(r: BusctlResult): boolean {
  return r.errorName === ACCESS_DENIED || r.errorName === INTERACTIVE_REQUIRED;
}

test('polkitd reads the installed action: every action the spec names, admin authentication by default', async (t) => {
  await withInstalledLab({ networkManager: false }, async (lab) => {
    const declared = new Set(Object.values(sharedInterfaceSpec.methods).flatMap((m) => ('action' in m && m.action !== undefined ? [m.action] : [])));
    t.deepEqual([...declared], [ACTION]);
    for (const action of declared) {
      // pkaction asks the running polkitd (activated on the lab's bus), not the file.
      const verbose = await lab.sh(`pkaction --verbose --action-id ${action}`);
      t.regex(verbose, /implicit any:\s+auth_admin$/m);
      t.regex(verbose, /implicit inactive:\s+auth_admin$/m);
      t.regex(verbose, /implicit active:\s+auth_admin_keep$/m);
      t.regex(verbose, /description:\s+Share a network interface with virtual machines/);
      t.regex(verbose, /message:\s+Authentication is required to share or unshare a network interface/);
    }
    t.is(readFileSync(join(REPO_ROOT, 'polkit', `${sharedInterfaceSpec.name}.policy`), 'utf8'), await lab.sh(`cat ${INSTALLED.policy}`));
  });
});

test('uid 65534 may read but is refused Share and Unshare, and nothing changes; root is allowed', async (t) => {
  await withInstalledLab({}, async (lab) => {
    // Reading needs no authorization.
    const listed = await callAs(lab, NOBODY, 'ListInterfaces');
    t.is(listed.errorName, undefined);
    t.true(JSON.stringify(listed.reply?.data).includes('"eth0"'));
    const shared0 = await lab.exec(asUser(NOBODY, ['busctl', 'get-property', BUS_NAME, OBJECT_PATH, INTERFACE_NAME, 'Shared']));
    t.is(shared0.stdout.trim(), 'a{ss} 0');

    // A request that passes validation reaches polkit, which says no: nothing may change.
    const before = await snapshot(lab);
    const share = await callAs(lab, NOBODY, 'Share', 'sa{sv}', ['eth0', '0']);
    t.is(share.errorName, ACCESS_DENIED, share.errorMessage);
    t.regex(share.errorMessage, /not authorized to share or unshare network interfaces/);
    // Without the interactive-authorization flag, polkit's challenge is passed on as such.
    const quiet = await callAs(lab, NOBODY, 'Share', 'sa{sv}', ['eth0', '0'], { interactive: false });
    t.is(quiet.errorName, INTERACTIVE_REQUIRED, quiet.errorMessage);
    t.deepEqual(await snapshot(lab), before);
    // The answer came from the real polkitd, started by the lab's bus on our daemon's first question.
    t.regex(lab.log('dbus.log'), /Successfully activated service 'org\.freedesktop\.PolicyKit1'/);

    // Root is allowed (uid 0 always is, for a registered action).
    const rootShare = await callAs(lab, 'root', 'Share', 'sa{sv}', ['eth0', '0']);
    t.false(isAuthorizationError(rootShare), rootShare.errorMessage);
    t.deepEqual(rootShare.reply?.data, ['br-eth0'], rootShare.errorMessage);

    // Unshare of a shared NIC passes validation too, and is refused the same way.
    const shared = await snapshot(lab);
    const unshare = await callAs(lab, NOBODY, 'Unshare', 'sa{sv}', ['eth0', '0']);
    t.is(unshare.errorName, ACCESS_DENIED, unshare.errorMessage);
    const quietUnshare = await callAs(lab, NOBODY, 'Unshare', 'sa{sv}', ['eth0', '0'], { interactive: false });
    t.is(quietUnshare.errorName, INTERACTIVE_REQUIRED, quietUnshare.errorMessage);
    t.deepEqual(await snapshot(lab), shared);

    const rootUnshare = await callAs(lab, 'root', 'Unshare', 'sa{sv}', ['eth0', '0']);
    t.false(isAuthorizationError(rootUnshare), rootUnshare.errorMessage);
    t.is(rootUnshare.errorName, undefined, rootUnshare.errorMessage);
  });
});

test('the README\'s rules.d snippet lets group libvirt share and unshare without a password; others still may not', async (t) => {
  await withInstalledLab({}, async (lab) => {
    // Users and the rule go into the lab's overlaid /etc; polkitd looks the groups up there.
    await lab.sh('groupadd libvirt && useradd -M -U -G libvirt alice && useradd -M -U bob');
    await lab.exec(['sh', '-c', 'cat >/etc/polkit-1/rules.d/50-shared-interface-libvirt.rules'], { input: readmeRule() });

    const before = await snapshot(lab);
    const bobShare = await callAs(lab, 'bob', 'Share', 'sa{sv}', ['eth0', '0']);
    t.is(bobShare.errorName, ACCESS_DENIED, bobShare.errorMessage);
    t.deepEqual(await snapshot(lab), before);

    // No agent, no session: the rule alone authorizes alice.
    const aliceShare = await callAs(lab, 'alice', 'Share', 'sa{sv}', ['eth0', '0'], { interactive: false });
    t.false(isAuthorizationError(aliceShare), aliceShare.errorMessage);
    t.deepEqual(aliceShare.reply?.data, ['br-eth0'], aliceShare.errorMessage);

    const shared = await snapshot(lab);
    const bobUnshare = await callAs(lab, 'bob', 'Unshare', 'sa{sv}', ['eth0', '0']);
    t.is(bobUnshare.errorName, ACCESS_DENIED, bobUnshare.errorMessage);
    t.deepEqual(await snapshot(lab), shared);

    const aliceUnshare = await callAs(lab, 'alice', 'Unshare', 'sa{sv}', ['eth0', '0'], { interactive: false });
    t.is(aliceUnshare.errorName, undefined, aliceUnshare.errorMessage);
    t.deepEqual(await settledTo(() => snapshot(lab), before), before);
  });
});

test('polkit unreachable, or not knowing the action, means no; root needs no polkit and shares with no polkitd at all', async (t) => {
  await withInstalledLab({}, async (lab) => {
    // alice may share by a rule: only polkit can say so.
    await lab.sh('groupadd libvirt && useradd -M -U -G libvirt alice');
    await lab.exec(['sh', '-c', 'cat >/etc/polkit-1/rules.d/50-shared-interface-libvirt.rules'], { input: readmeRule() });
    const before = await snapshot(lab);

    // The action is not registered (policy file missing).
    await lab.sh(`mv ${INSTALLED.policy} /root/`);
    const unknownAction = await callAs(lab, 'alice', 'Share', 'sa{sv}', ['eth0', '0']);
    t.is(unknownAction.errorName, ACCESS_DENIED, unknownAction.errorMessage);
    t.regex(unknownAction.errorMessage, /cannot check authorization with polkit .*not registered.*; refusing/);

    // polkitd gone, and the bus cannot start it again.
    const [polkitd] = await busDriver(lab, 'GetConnectionUnixProcessID', 's', ['org.freedesktop.PolicyKit1']);
    await lab.sh(`mv /usr/share/dbus-1/system-services/org.freedesktop.PolicyKit1.service /root/ && kill ${Number(polkitd)} && while kill -0 ${Number(polkitd)} 2>/dev/null; do sleep 0.1; done`);
    const noPolkit = await callAs(lab, 'alice', 'Share', 'sa{sv}', ['eth0', '0']);
    t.is(noPolkit.errorName, ACCESS_DENIED, noPolkit.errorMessage);
    t.regex(noPolkit.errorMessage, /cannot check authorization with polkit \(org\.freedesktop\.DBus\.Error\.(ServiceUnknown|NameHasNoOwner)/);
    t.deepEqual(await snapshot(lab), before);

    // Root (uid 0 by the bus's credentials) is privileged, as for systemd's services and NetworkManager.
    const rootShare = await callAs(lab, 'root', 'Share', 'sa{sv}', ['eth0', '0']);
    t.deepEqual(rootShare.reply?.data, ['br-eth0'], rootShare.errorMessage);
    const rootUnshare = await callAs(lab, 'root', 'Unshare', 'sa{sv}', ['eth0', '0']);
    t.is(rootUnshare.errorName, undefined, rootUnshare.errorMessage);
    t.deepEqual(await settledTo(() => snapshot(lab), before), before);
  });
});
