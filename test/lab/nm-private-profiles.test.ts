// SPDX-License-Identifier: GPL-2.0-or-later
// Other users' private NetworkManager profiles (connection.permissions), mounted as attacks in a
// sealed lab with the real NetworkManager, dbus-daemon, polkitd and NM's dispatcher: a private
// profile is never copied into ours, never shown to a caller, never a reason to refuse, and its
// tag opens no firewall. The daemon runs as root; one lab (with the overlay, for the installed
// dispatcher script), the checks in turn.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { TAG_BRIDGE, TAG_NIC, TAG_ORIGINAL, TAG_ROLE } from '../../src/settings/nm/nm-settings';
import { Lab, waitFor } from './lab';
import { callAs, installIntoLab, NOBODY } from './lab-install';
import { activeProfiles, ipv4, keyfiles, links, networkState, settledTo } from './nm-state';
import { callError, ServiceClient } from './service-client';

let lab: Lab;
let client: ServiceClient;
let closeBus: () => void = () => undefined;

test.before(async () => {
  lab = await Lab.start({ overlay: true });
  const bus = await lab.connect();
  closeBus = () => bus.close();
  await lab.startDaemon();
  client = new ServiceClient(bus);
});

test.after.always(async () => {
  closeBus();
  await lab?.stop();
});

/** Back to the lab's start: "Wired eth0" active with its lease, no profile but it and ours gone. */
async function cleanSlate(): Promise<void> {
  if ((await client.shared()).has('eth0')) await client.unshare('eth0', { force: makeVariant('b', true) });
  await lab.sh(`
    nmcli -g UUID,NAME connection show | while IFS=: read -r uuid name; do
      [ "$name" = 'Wired eth0' ] || [ "$name" = lo ] || nmcli connection delete "$uuid" >/dev/null
    done
    nmcli --wait 30 connection up 'Wired eth0' >/dev/null`);
  await waitFor('eth0 to have its lease', async () => ipv4((await links(lab)).get('eth0')), 30_000);
}

/** Keyfiles of profiles the daemon made (our tag's role is in each). */
function ourKeyfiles(): Map<string, string> {
  return new Map([...keyfiles(lab)].filter(([, text]) => text.includes(`${TAG_ROLE}=`)));
}

/**
 * A private profile as a user with settings.modify.own makes one, through NetworkManager's own
 * AddConnection2 (busctl inside the lab), with our tag: nmcli cannot write user.data.
 */
async function addTaggedBridge(id: string, uuid: string, bridge: string, permissions: readonly string[]): Promise<void> {
  const tags = [[TAG_ROLE, 'bridge'], [TAG_NIC, 'eth9'], [TAG_BRIDGE, bridge], [TAG_ORIGINAL, '']];
  const connection = ['connection', String(5 + (permissions.length > 0 ? 1 : 0)), 'id', 's', id, 'uuid', 's', uuid, 'type', 's', 'bridge',
    'interface-name', 's', bridge, 'autoconnect', 'b', 'false',
    ...(permissions.length > 0 ? ['permissions', 'as', String(permissions.length), ...permissions] : [])];
  const settings = ['bridge', '1', 'stp', 'b', 'false', 'ipv4', '1', 'method', 's', 'disabled', 'ipv6', '1', 'method', 's', 'disabled',
    'user', '1', 'data', 'a{ss}', String(tags.length), ...tags.flat()];
  await lab.exec(['busctl', 'call', 'org.freedesktop.NetworkManager', '/org/freedesktop/NetworkManager/Settings', 'org.freedesktop.NetworkManager.Settings',
    'AddConnection2', 'a{sa{sv}}ua{sv}', '5', ...connection, ...settings, '1', '0']);
}

test.serial("a user's private profile active on eth0 (zone trusted, a PAC URL, a static address): eth0 is not shareable, Share is refused and changes nothing, and GetInterfaceXML --inactive shows that profile to nobody", async (t) => {
  await cleanSlate();
  // As the user would have it: private to nobody, brought up on eth0 (here by root, whom NM lets).
  await lab.sh(`
    nmcli connection add type ethernet ifname eth0 con-name 'Private eth0' connection.permissions user:nobody connection.autoconnect no \\
      connection.zone trusted proxy.method auto proxy.pac-url http://x/pac 802-3-ethernet.mtu 1400 \\
      ipv4.method manual ipv4.addresses 192.0.2.77/24 ipv4.gateway 192.0.2.1 ipv6.method disabled >/dev/null
    nmcli --wait 30 connection up 'Private eth0' >/dev/null`);
  t.deepEqual(await activeProfiles(lab), ['Private eth0:eth0']);
  await waitFor('eth0 on the private address', async () => (ipv4((await links(lab)).get('eth0')) === '192.0.2.77' ? true : undefined));
  t.regex(keyfiles(lab).get('Private eth0.nmconnection') ?? '', /permissions=user:nobody:;/);

  const listed = await waitFor('eth0 listed as not shareable', async () => {
    const eth0 = (await client.listInterfaces()).find((i) => i.name === 'eth0');
    return eth0?.shareable === false ? eth0 : undefined;
  });
  t.regex(listed.reason, /private profile/);
  t.notRegex(listed.reason, /nobody|Private eth0/, 'the listing names neither the user nor the profile');

  const before = await networkState(lab);
  const refused = await callError(client.share('eth0'));
  t.is(refused.name, 'org.fedoraproject.SharedInterface.Error.NotShareable', refused.message);
  t.regex(refused.message, /^eth0 cannot be shared: .*private profile.*\n.*connection\.permissions ''.*system-wide profile on eth0/s);
  t.deepEqual(await settledTo(() => networkState(lab), before), before, 'nothing changed');
  t.deepEqual(ourKeyfiles(), new Map(), 'no profile of ours, so none carries the zone or the PAC URL');
  t.deepEqual(await client.shared(), new Map());
  t.log(`Share refused: ${refused.message}`);

  // The configured view, as an unprivileged user (uid 65534, no authorization asked) and as root.
  const asNobody = await callAs(lab, NOBODY, 'GetInterfaceXML', 'sa{sv}', ['eth0', '1', 'inactive', 'b', 'true'], { interactive: false });
  t.is(asNobody.errorName, undefined, asNobody.errorMessage);
  const [rootXml] = await client.call('GetInterfaceXML', 'sa{sv}', ['eth0', { inactive: makeVariant('b', true) }]);
  for (const [who, xml] of [['uid 65534', String(asNobody.reply?.data[0])], ['root', String(rootXml)]] as const) {
    t.regex(xml, /<interface type='ethernet' name='eth0'>/, who);
    t.notRegex(xml, /192\.0\.2\.77|192\.0\.2\.1'|1400/, `${who} reads no address, gateway or MTU of the private profile`);
    // What stands for eth0 instead: the system-wide "Wired eth0" NetworkManager would bring up.
    t.regex(xml, /<dhcp\/>/, who);
  }
  // The live view is the kernel's, which any user reads with ip(8) anyway.
  const live = await callAs(lab, NOBODY, 'GetInterfaceXML', 'sa{sv}', ['eth0', '0'], { interactive: false });
  t.regex(String(live.reply?.data[0]), /192\.0\.2\.77/);
});

test.serial("a user's private bridge profile for br-eth0 does not block the default Share, and nothing of it is in ours", async (t) => {
  await cleanSlate();
  await lab.sh(`nmcli connection add type bridge ifname br-eth0 con-name 'Private br-eth0' connection.permissions user:nobody connection.autoconnect no \\
    connection.zone trusted proxy.method auto proxy.pac-url http://x/pac ipv4.method disabled ipv6.method disabled >/dev/null`);
  await waitFor('the private profile seen', () => (keyfiles(lab).has('Private br-eth0.nmconnection') ? true : undefined));
  t.is(await client.share('eth0'), 'br-eth0');
  t.is((await links(lab)).get('eth0')?.master, 'br-eth0');
  t.deepEqual((await activeProfiles(lab)).filter((p) => p.startsWith('Private')), [], 'the private profile stays down');
  const ours = ourKeyfiles();
  t.is(ours.size, 2, [...ours.keys()].join(', '));
  for (const [name, text] of ours) t.notRegex(text, /permissions=.|trusted|pac-url/, name);
  await client.unshare('eth0');
  t.deepEqual(await activeProfiles(lab), ['Wired eth0:eth0']);
  t.true(keyfiles(lab).has('Private br-eth0.nmconnection'), "the user's profile is left as it was");
});

test.serial("Unshare never brings up a user's private profile that took the UUID of the NIC's deleted original", async (t) => {
  await cleanSlate();
  const original = (await lab.sh("nmcli -g connection.uuid connection show 'Wired eth0'")).trim();
  t.is(await client.share('eth0'), 'br-eth0');
  // The original goes; a user makes a private profile for eth0 with its UUID (AddConnection takes any).
  await lab.sh(`
    nmcli connection delete 'Wired eth0' >/dev/null
    nmcli connection add type ethernet ifname eth0 con-name 'Private original' connection.uuid ${original} connection.permissions user:nobody \\
      connection.autoconnect no ipv4.method manual ipv4.addresses 192.0.2.66/24 ipv6.method disabled >/dev/null`);
  t.regex(keyfiles(lab).get('Private original.nmconnection') ?? '', new RegExp(`uuid=${original}`));
  await client.unshare('eth0');
  t.deepEqual(await activeProfiles(lab), ['Wired eth0:eth0'], 'a new DHCP profile, not the private one');
  t.not((await lab.sh("nmcli -g connection.uuid connection show 'Wired eth0'")).trim(), original);
  await waitFor('eth0 to have its lease', async () => ipv4((await links(lab)).get('eth0')), 30_000);
  t.not(ipv4((await links(lab)).get('eth0')), '192.0.2.66');
});

test.serial("the installed dispatcher script opens no FORWARD DROP for a user's private bridge profile tagged like ours; it does for a system-wide one", async (t) => {
  await cleanSlate();
  await installIntoLab(lab);
  await lab.sh('iptables -P FORWARD DROP');
  const rules = () => lab.sh('iptables-nft-save -t filter');
  try {
    await addTaggedBridge('evil bridge', 'e0000000-0000-4000-8000-0000000000b1', 'br-evil', ['user:nobody:']);
    await addTaggedBridge('tagged bridge', 'e0000000-0000-4000-8000-0000000000b2', 'br-good', []);
    const evil = [...keyfiles(lab)].find(([, text]) => text.includes('br-evil'))?.[1] ?? '';
    t.regex(evil, /permissions=user:nobody:;/);
    t.regex(evil, /^org\.fedoraproject\.shared-interface\.role=bridge$/m, 'the keyfile carries our tag as the script looks for it');
    // NM's dispatcher runs the scripts of one event after the other's: once the second bridge's
    // rule is in, the first bridge's script has finished.
    await lab.sh("nmcli --wait 30 connection up 'evil bridge' >/dev/null");
    await lab.sh("nmcli --wait 30 connection up 'tagged bridge' >/dev/null");
    t.deepEqual((await activeProfiles(lab)).filter((p) => p.includes('bridge')).sort(), ['evil bridge:br-evil', 'tagged bridge:br-good']);
    await waitFor('the dispatcher script to let br-good through', async () => (/shared-interface bridge br-good/.test(await rules()) ? true : undefined), 60_000);
    const now = await rules();
    t.notRegex(now, /br-evil/);
    t.regex(now, /:FORWARD DROP/);
    t.log(now.split('\n').filter((l) => /FORWARD/.test(l)).join('\n'));
  } finally {
    await lab.sh('iptables -P FORWARD ACCEPT; iptables -F; nmcli connection delete "evil bridge" "tagged bridge" >/dev/null 2>&1 || true');
  }
});
