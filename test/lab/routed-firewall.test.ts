// SPDX-License-Identifier: GPL-2.0-or-later
// Routed guests behind a firewall whose FORWARD policy drops: their traffic is forwarded at layer 3
// between the guests' bridge and eth0, so without rules of ours it is dropped (their DHCP still
// passes: the relay is a local process). In the lab's own network namespace only: Share routed
// adds rules accepting exactly that traffic, both ways, where the firewall expects them (iptables'
// FORWARD, a plain nftables forward chain); Unshare leaves the rule set exactly as before; after a
// reboot the installed dispatcher hook puts them back with the bridge, and takes them away when it
// goes down.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { Lab, waitFor, type LabProcess } from './lab';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from './lab-guests';
import { withFirewalldZone } from './lab-firewalld';
import { installIntoLab } from './lab-install';
import { callError, ServiceClient } from './service-client';

let lab: Lab;
let client: ServiceClient;
let daemon: LabProcess;
let closeBus: () => void = () => undefined;

const ROUTED = { mode: makeVariant('s', 'routed') };
const force = { force: makeVariant('b', true) };

test.before(async () => {
  // The overlay: the last check installs our NetworkManager dispatcher scripts into the lab's /usr.
  lab = await Lab.start({ overlay: true });
  const bus = await lab.connect();
  closeBus = () => bus.close();
  daemon = await lab.startDaemon();
  client = new ServiceClient(bus);
});

test.after.always(async () => {
  closeBus();
  await lab?.stop();
});

/** Everything a firewall in the lab holds: iptables' (both backends) and nftables' rules, without counters. */
async function rules(): Promise<string> {
  const text = await lab.sh('iptables-nft-save -t filter; ip6tables-nft-save -t filter; iptables-legacy-save -t filter 2>/dev/null || true; nft list ruleset');
  return text.split('\n').filter((line) => !line.startsWith('#')).map((line) => line.replace(/ \[\d+:\d+\]$/, '').replace(/counter packets \d+ bytes \d+/, 'counter')).join('\n');
}

async function cleanSlate(): Promise<void> {
  if ((await client.shared()).has('eth0')) await client.unshare('eth0', force);
  await lab.sh(`
    for t in iptables-nft ip6tables-nft; do $t -P FORWARD ACCEPT; $t -F; $t -X; done
    nft flush ruleset
  `);
}

/**
 * A guest on the guests' bridge: whether it gets a lease, and whether it and the LAN's router reach
 * each other (within `withinMs`: the agent routes a guest once it learned it).
 */
async function guestOnLan(name: string, mac: string, withinMs: number): Promise<{ leased: string; reaches: boolean }> {
  const guest = await addGuestNamespace(lab, name, 'br-eth0', mac);
  try {
    const leased = await guestDhcp(lab, guest);
    const ping = async (ns: string, address: string) => (await lab.exec(['ip', 'netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', address], { allowFailure: true })).code === 0;
    const reaches = await waitFor(`${name} and the LAN to reach each other`, async () => (await ping(name, '192.0.2.1') && await ping('lan', leased) ? true : undefined), withinMs).catch(() => false);
    return { leased, reaches };
  } finally {
    await removeGuestNamespace(lab, guest);
  }
}

const OURS = /shared-interface bridge br-eth0/g;

test.serial('iptables FORWARD policy DROP: firewall=false leaves routed guests leased but cut off; by default our two rules let them through; Unshare leaves the rules as before', async (t) => {
  await cleanSlate();
  await lab.sh(`
    iptables -P FORWARD DROP
    ip6tables -P FORWARD DROP
    iptables -A FORWARD -i eth0 -o eth0 -p udp --dport 9 -m comment --comment "added by hand" -j ACCEPT
  `);
  const before = await rules();

  await client.share('eth0', { ...ROUTED, firewall: makeVariant('b', false) });
  t.is(await rules(), before, 'firewall=false: left alone');
  const cutOff = await guestOnLan('guest0', '02:00:00:00:00:30', 6000);
  t.regex(cutOff.leased, /^192\.0\.2\.\d+$/, 'the relay is local: DHCP is not forwarded');
  t.false(cutOff.reaches, 'forwarded traffic is dropped');
  await client.unshare('eth0', force);

  await client.share('eth0', ROUTED);
  const added = await rules();
  t.regex(added, /-A FORWARD -i eth0 -o br-eth0 -m comment --comment "shared-interface bridge br-eth0" -j ACCEPT\n-A FORWARD -i br-eth0 -o eth0 -m comment --comment "shared-interface bridge br-eth0" -j ACCEPT/);
  t.is((added.match(OURS) ?? []).length, 2, 'IPv4 only: routed guests have no IPv6');
  const through = await guestOnLan('guest1', '02:00:00:00:00:31', 20_000);
  t.true(through.reaches);
  await client.unshare('eth0', force);
  t.is(await rules(), before, 'exactly as before');
});

test.serial('a plain nftables forward chain of policy drop: our two rules go into that chain; Unshare leaves the rule set as before', async (t) => {
  await cleanSlate();
  await lab.sh(`
    nft add table inet filter
    nft add chain inet filter forward '{ type filter hook forward priority 0; policy drop; }'
    nft add rule inet filter forward iifname "br-eth0" oifname "br-eth0" accept comment '"added by hand"'
  `);
  const before = await rules();
  await client.share('eth0', ROUTED);
  const added = await rules();
  t.regex(added, /iifname "br-eth0" oifname "eth0" accept comment "shared-interface bridge br-eth0"/);
  t.regex(added, /iifname "eth0" oifname "br-eth0" accept comment "shared-interface bridge br-eth0"/);
  t.true((await guestOnLan('guest2', '02:00:00:00:00:32', 20_000)).reaches);
  await client.unshare('eth0', force);
  t.is(await rules(), before);
});

test.serial('after a reboot without our daemon, the installed dispatcher hook puts the rules back with the guests\' bridge, and takes them away when it goes down', async (t) => {
  await cleanSlate();
  await installIntoLab(lab);
  // The daemon's records where the installed hook looks for them (a change in progress is the daemon's own).
  const daemonArgs = ['--state-dir=/var/lib/shared-interface'];
  daemon.kill();
  await daemon.waitForExit();
  daemon = await lab.startDaemon(daemonArgs);
  await lab.sh('iptables -P FORWARD DROP; ip6tables -P FORWARD DROP');
  const before = await rules();
  await client.share('eth0', ROUTED);
  // The reboot: the daemon gone, and the agent with it (in the lab it is the daemon's child, and
  // puts the kernel back as it stops), NetworkManager gone, the bridge gone, the boot-time firewall.
  daemon.kill();
  await daemon.waitForExit();
  await lab.sh('while [ -e /run/shared-interface/routed/eth0.json ]; do sleep 0.1; done');
  await lab.stopNetworkManager();
  await lab.sh(`
    ip link del br-eth0
    for t in iptables-nft ip6tables-nft; do $t -F; $t -X; $t -P FORWARD DROP; done
  `);
  t.is(await rules(), before);
    await lab.startNetworkManager();
  await waitFor('the dispatcher hook to add the rules', async () => ((await rules()).match(OURS) ?? []).length === 2 ? true : undefined, 60_000);
  const guest = await waitFor('a guest on the LAN through the restarted agent', async () => {
    const result = await guestOnLan('guest3', '02:00:00:00:00:33', 20_000).catch(() => undefined);
    return result?.reaches === true ? result : undefined;
  }, 60_000);
  t.true(guest.reaches);

  await lab.sh("nmcli --wait 30 connection down 'br-eth0 (routed guests of eth0)' >/dev/null");
  await waitFor('the dispatcher hook to remove the rules', async () => (OURS.test(await rules()) ? undefined : true), 60_000);
  t.is(await rules(), before);
  await lab.sh("nmcli --wait 30 connection up 'br-eth0 (routed guests of eth0)' >/dev/null");
  await waitFor('the dispatcher hook to add the rules again', async () => ((await rules()).match(OURS) ?? []).length === 2 ? true : undefined, 60_000);
  daemon = await lab.startDaemon(daemonArgs);
  await waitFor('the daemon to see eth0 shared', async () => ((await client.shared()).has('eth0') ? true : undefined), 30_000);
  await client.unshare('eth0');
  t.is(await rules(), before);
});

test.serial("firewalld: the guests' bridge goes into the NIC's zone; without DHCP accepted there the probe gets no lease and Share is RolledBack saying so; with it, routed guests reach the LAN through the zone's forwarding, no rule of ours", async (t) => {
  await cleanSlate();
  await withFirewalldZone(lab, 'internal', async () => {
    const refused = await callError(client.share('eth0', ROUTED));
    t.is(refused.name, 'org.fedoraproject.SharedInterface.Error.RolledBack');
    t.regex(refused.message, /got no DHCP lease through eth0: .*firewalld: the service dhcp in eth0's zone/);
    t.deepEqual(await client.shared(), new Map());

    await lab.sh('firewall-cmd --zone=internal --add-service=dhcp');
    t.is(await client.share('eth0', ROUTED), 'br-eth0');
    t.is((await lab.sh('firewall-cmd --get-zone-of-interface=br-eth0')).trim(), 'internal');
    t.true((await guestOnLan('guest5', '02:00:00:00:00:35', 20_000)).reaches);
    t.notRegex(await rules(), /shared-interface/);
    await client.unshare('eth0', force);
  });
});
