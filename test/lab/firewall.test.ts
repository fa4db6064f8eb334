// SPDX-License-Identifier: GPL-2.0-or-later
// Guests behind a firewall: with bridge-nf-call-iptables on (the default wherever br_netfilter is
// loaded), a FORWARD path that drops eats a guest's DHCP. In the lab's own network namespace only
// (its iptables, nftables and sysctls; the host's are never touched): the firewall is detected
// and noted, Share lets the bridge's traffic through where that firewall expects it, Unshare
// takes exactly our rules away. One lab for the checks in turn; the firewall is reset between them.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { Lab, waitFor, type LabProcess } from './lab';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from './lab-guests';
import { withFirewalldZone } from './lab-firewalld';
import { installIntoLab } from './lab-install';
import { networkState, settledTo } from './nm-state';
import { callError, ServiceClient } from './service-client';

let lab: Lab;
let client: ServiceClient;
let daemon: LabProcess;
let closeBus: () => void = () => undefined;

test.before(async () => {
  // The overlay: the last check installs our NetworkManager dispatcher script into the lab's /usr.
  lab = await Lab.start({ overlay: true });
  const bus = await lab.connect();
  closeBus = () => bus.close();
  daemon = await lab.startDaemon();
  client = new ServiceClient(bus);
  const call = await lab.sh('cat /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables');
  if (call.trim() !== '1\n1') throw new Error(`bridge-nf-call-iptables/-ip6tables are not 1 in the lab: ${call}`);
});

test.after.always(async () => {
  closeBus();
  await lab?.stop();
});

/** Everything a firewall in the lab holds: iptables' (both backends) and nftables' rules. */
async function rules(): Promise<string> {
  return lab.sh('iptables-nft-save -t filter; ip6tables-nft-save -t filter; iptables-legacy-save -t filter 2>/dev/null || true; nft list ruleset');
}

async function resetFirewall(): Promise<void> {
  await lab.sh(`
    for t in iptables-nft ip6tables-nft; do $t -P FORWARD ACCEPT; $t -F; $t -X; done
    nft flush ruleset
  `);
}

/** Each check starts unshared, with no firewall rules at all, whatever the one before left. */
async function cleanSlate(): Promise<void> {
  if ((await client.shared()).has('eth0')) await client.unshare('eth0', { force: makeVariant('b', true) });
  await resetFirewall();
}

async function note(): Promise<string | undefined> {
  return (await client.listInterfaces()).find((i) => i.name === 'eth0')?.notes.find((n) => /firewall/.test(n));
}

/** The listing is served from the last reading of the firewall: wait for one that says this. */
function noted(pattern: RegExp): Promise<string> {
  return waitFor(`a firewall note on eth0 matching ${pattern}`, async () => {
    const text = await note();
    return text !== undefined && pattern.test(text) ? text : undefined;
  }, 30_000);
}

/** A guest on the bridge: its lease from the LAN's DHCP server and the router's answer. */
async function guestReachesLan(name: string, mac: string): Promise<string> {
  const guest = await addGuestNamespace(lab, name, 'br-eth0', mac);
  try {
    const leased = await guestDhcp(lab, guest);
    await lab.exec(['ip', 'netns', 'exec', name, 'ping', '-c', '1', '-W', '3', '192.0.2.1']);
    return leased;
  } finally {
    await removeGuestNamespace(lab, guest);
  }
}

const force = { force: makeVariant('b', true) };

test.serial('iptables FORWARD policy DROP: noted; firewall=false leaves guests cut off; by default they get their lease; Unshare removes exactly our rules', async (t) => {
  await cleanSlate();
  await lab.sh(`
    iptables -P FORWARD DROP
    ip6tables -P FORWARD DROP
    iptables -A FORWARD -i br-eth0 -o br-eth0 -p udp --dport 9 -m comment --comment "added by hand" -j ACCEPT
  `);
  await noted(/drop guests' traffic across bridge br-eth0.*iptables-nft: policy DROP of FORWARD \(IPv4\).*\(IPv6\)/);
  t.pass();

  // firewall=false: the firewall is left alone, the guest gets nothing, the note stays.
  await client.share('eth0', { firewall: makeVariant('b', false) });
  t.notRegex(await rules(), /shared-interface/);
  await t.throwsAsync(guestReachesLan('guest0', '02:00:00:00:00:10'), { message: /no lease, failing/ });
  await noted(/across bridge br-eth0/);
  await client.unshare('eth0', force);

  // By default: rules in FORWARD for IPv4 and IPv6, the guest is on the LAN, the note is gone.
  await client.share('eth0');
  const added = await rules();
  t.regex(added, /-A FORWARD -i br-eth0 -o br-eth0 -m comment --comment "shared-interface bridge br-eth0" -j ACCEPT[\s\S]*ip6tables-nft-save[\s\S]*-A FORWARD -i br-eth0 -o br-eth0 -m comment --comment "shared-interface bridge br-eth0" -j ACCEPT/);
  t.regex(await guestReachesLan('guest1', '02:00:00:00:00:11'), /^192\.0\.2\.1\d\d$/);
  await waitFor('the note to go', async () => ((await note()) === undefined ? true : undefined), 30_000);

  await client.unshare('eth0', force);
  const after = await rules();
  t.notRegex(after, /shared-interface/);
  t.regex(after, /--comment "added by hand"/);
  t.regex(after, /:FORWARD DROP/);
});

test.serial('a Docker-like DOCKER-USER chain: our rules go there, not into FORWARD', async (t) => {
  await cleanSlate();
  await lab.sh(`
    iptables -N DOCKER-USER
    iptables -A DOCKER-USER -j RETURN
    iptables -A FORWARD -j DOCKER-USER
    iptables -A FORWARD -i docker0 -o docker0 -j ACCEPT
    iptables -P FORWARD DROP
  `);
  await noted(/iptables-nft: policy DROP of FORWARD \(IPv4\)/);
  await client.share('eth0');
  const added = await rules();
  t.regex(added, /-A DOCKER-USER -i br-eth0 -o br-eth0 -m comment --comment "shared-interface bridge br-eth0" -j ACCEPT\n-A DOCKER-USER -j RETURN/);
  t.notRegex(added, /-A FORWARD -i br-eth0/);
  t.regex(await guestReachesLan('guest2', '02:00:00:00:00:12'), /^192\.0\.2\.1\d\d$/);
  await client.unshare('eth0', force);
  t.notRegex(await rules(), /shared-interface/);
});

test.serial('a plain nftables forward chain of policy drop: our rule goes into that chain', async (t) => {
  await cleanSlate();
  await lab.sh(`
    nft add table inet filter
    nft add chain inet filter forward '{ type filter hook forward priority 0; policy drop; }'
    nft add rule inet filter forward ct state established,related accept comment '"added by hand"'
  `);
  await noted(/nftables inet filter: policy DROP of forward \(IPv4\).*\(IPv6\)/);
  await client.share('eth0');
  t.regex(await rules(), /chain forward \{[^}]*iifname "br-eth0" oifname "br-eth0" accept comment "shared-interface bridge br-eth0"/);
  t.regex(await guestReachesLan('guest3', '02:00:00:00:00:13'), /^192\.0\.2\.1\d\d$/);
  await client.unshare('eth0', force);
  const after = await rules();
  t.notRegex(after, /shared-interface/);
  t.regex(after, /ct state established,related accept comment "added by hand"/);
});

test.serial('a rule that cannot go in: Share is Failed, and nothing is left of it (the profiles NetworkManager got in the meantime are rolled back)', async (t) => {
  await cleanSlate();
  await lab.sh('iptables-nft -P FORWARD DROP');
  const before = await networkState(lab);
  // iptables-nft that refuses to insert (the lab's overlaid /usr; xtables-nft-multi goes by its name).
  await lab.sh(`
    mv /usr/sbin/iptables-nft /usr/sbin/iptables-nft.real
    printf '%s\\n' '#!/bin/bash' 'case " $* " in *" -I "*) echo "iptables: Permission denied" >&2; exit 4 ;; esac' 'exec -a iptables-nft /usr/sbin/xtables-nft-multi "$@"' >/usr/sbin/iptables-nft
    chmod 755 /usr/sbin/iptables-nft
  `);
  try {
    const refused = await callError(client.share('eth0'));
    t.is(refused.name, 'org.fedoraproject.SharedInterface.Error.Failed', refused.message);
    t.regex(refused.message, /could not add firewall rules for br-eth0: .*Permission denied/);
    t.regex(refused.message, /firewall' false/);
    // The checkpoint was taken and the profiles added while the rule was tried: both are undone.
    t.deepEqual(await settledTo(() => networkState(lab), before), before);
    t.deepEqual(await client.shared(), new Map());
    t.notRegex(await rules(), /shared-interface/);
  } finally {
    await lab.sh('mv -f /usr/sbin/iptables-nft.real /usr/sbin/iptables-nft');
  }
});

test.serial("firewalld running: the bridge is in the NIC's zone, whose forwarding lets guests through; no rule of ours in firewalld's table", async (t) => {
  await cleanSlate();
  await withFirewalldZone(lab, 'internal', async () => {
    t.regex(await lab.sh('nft list tables'), /table inet firewalld/);
    await client.share('eth0');
    t.is((await lab.sh('firewall-cmd --get-zone-of-interface=br-eth0')).trim(), 'internal');
    t.regex(await guestReachesLan('guest5', '02:00:00:00:00:15'), /^192\.0\.2\.1\d\d$/);
    t.notRegex(await rules(), /shared-interface/);
    t.is(await note(), undefined);
    await client.unshare('eth0');
  });
});

test.serial('after a reboot without our daemon, the installed dispatcher script puts the rules back when NetworkManager brings the bridge up, and takes them away when it goes down', async (t) => {
  await cleanSlate();
  await installIntoLab(lab);
  await lab.sh('iptables -P FORWARD DROP; ip6tables -P FORWARD DROP');
  await client.share('eth0');
  daemon.kill();
  await daemon.waitForExit();
  // The reboot: NetworkManager gone, the bridge gone, the firewall back to its boot-time rules.
  await lab.stopNetworkManager();
  await lab.sh(`
    ip link del br-eth0
    for t in iptables-nft ip6tables-nft; do $t -F; $t -X; $t -P FORWARD DROP; done
  `);
  t.notRegex(await rules(), /shared-interface/);
  await lab.startNetworkManager();
  await waitFor('the dispatcher script to add the rules', async () => {
    const now = await rules();
    return (now.match(/--comment "shared-interface bridge br-eth0"/g) ?? []).length === 2 ? true : undefined;
  }, 60_000);
  t.regex(await guestReachesLan('guest4', '02:00:00:00:00:14'), /^192\.0\.2\.1\d\d$/);

  // The bridge goes down (nmcli, still without our daemon): our rules go with it.
  await lab.sh("nmcli --wait 30 connection down 'br-eth0 (shares eth0)' >/dev/null");
  await waitFor('the dispatcher script to remove the rules', async () => (/shared-interface/.test(await rules()) ? undefined : true), 60_000);
  t.regex(await rules(), /:FORWARD DROP/);
  // Up again (the bridge brings its port): the rules are back; then our daemon unshares.
  await lab.sh("nmcli --wait 30 connection up 'br-eth0 (shares eth0)' >/dev/null");
  await waitFor('the dispatcher script to add the rules again', async () => (/shared-interface bridge br-eth0/.test(await rules()) ? true : undefined), 60_000);
  daemon = await lab.startDaemon();
  await waitFor('the daemon to see eth0 shared', async () => ((await client.shared()).has('eth0') ? true : undefined), 30_000);
  await client.unshare('eth0');
  t.notRegex(await rules(), /shared-interface/);
});

test.serial("the ifcfg fallback's hooks: ifup-local adds a bridge's rules when its ifcfg file is ours, ifdown-local removes them", async (t) => {
  await cleanSlate();
  await installIntoLab(lab);
  // initscripts isn't Debian's: the hooks are run as ifup-post and ifdown-post would run them.
  await lab.sh(`
    iptables -P FORWARD DROP
    mkdir -p /etc/sysconfig/network-scripts
    printf '# Created by shared-interface: br-lan9 carries the IP configuration of eth9.\\nDEVICE=br-lan9\\nTYPE=Bridge\\n' >/etc/sysconfig/network-scripts/ifcfg-br-lan9
    printf 'DEVICE=br-other\\nTYPE=Bridge\\n' >/etc/sysconfig/network-scripts/ifcfg-br-other
    /usr/libexec/shared-interface/ifup-local br-lan9
    /usr/libexec/shared-interface/ifup-local br-other
    /usr/libexec/shared-interface/ifup-local eth0
  `);
  const up = await rules();
  t.regex(up, /-A FORWARD -i br-lan9 -o br-lan9 -m comment --comment "shared-interface bridge br-lan9" -j ACCEPT/);
  t.is((up.match(/shared-interface bridge/g) ?? []).length, 1, 'only our bridge, only IPv4 (IPv6 forwarding is not dropped here)');
  await lab.sh('/usr/libexec/shared-interface/ifdown-local br-lan9; rm -r /etc/sysconfig/network-scripts');
  t.notRegex(await rules(), /shared-interface/);
});
