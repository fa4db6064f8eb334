// SPDX-License-Identifier: GPL-2.0-or-later
// `npm run demo` (through demo.sh): the main job on the built-in lab, narrated step by step. A
// sealed lab with NetworkManager and a DHCP LAN; our daemon; eth0 shared through the D-Bus API
// (our CLI); a real QEMU guest on the bridge gets its lease from the LAN and the LAN reaches it,
// while the host keeps its address and MAC; the guest stops; eth0 is unshared and back on its own
// profile; then, on a LAN that takes only the host's MAC, eth0 shared routed and a guest leased
// and reached there behind the host's MAC, and unshared; the lab is torn down. The checks are the lab tests' own (test/guest/guest-on-lan.ts).
// Exits 0 after "DEMO PASSED …", 1 after "DEMO FAILED …".
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  bootGuestOnBridge, checkGuestOnLan, checkHostRestored, HOST_MAC, HOST_NIC, HOST_PROFILE, hostIdentity, type GuestOnBridge,
} from '../guest/guest-on-lan';
import { Lab, REPO_ROOT } from './lab';
import { addLanHost, lockLanToMac } from './lab-routed';

// Lower than the host's MAC: a bridge whose MAC were not pinned would take the guest's.
const GUEST_MAC = '52:54:00:00:00:0a';
const TAP = 'vnet0';
/** Another machine on the LAN, for the routed guest to reach. */
const LAN_HOST = { name: 'lanhost', address: '192.0.2.20', mac: '52:54:00:aa:00:20' };
const CLI = join(REPO_ROOT, 'bin', 'shared-interface');

const began = Date.now();
let stepNumber = 0;

function clock(): string {
  return `${((Date.now() - began) / 1000).toFixed(1)} s`.padStart(7);
}

function step(text: string): void {
  stepNumber += 1;
  console.log(`\n[${clock()}] ${String(stepNumber)}. ${text}`);
}

function note(text: string): void {
  console.log(`           ${text}`);
}

function show(output: string): void {
  for (const line of output.trimEnd().split('\n')) console.log(`             ${line}`);
}

class DemoFailure extends Error {}

/** Runs a command in the lab and shows it with its output, as if typed there. */
async function run(lab: Lab, argv: readonly string[], shown = argv.join(' ')): Promise<string> {
  console.log(`           $ ${shown}`);
  const result = await lab.exec(argv, { allowFailure: true });
  show(result.stdout + result.stderr);
  if (result.code !== 0) throw new DemoFailure(`'${shown}' failed (exit ${String(result.code)})`);
  return result.stdout;
}

function cli(lab: Lab, ...args: string[]): Promise<string> {
  return run(lab, ['node', CLI, ...args], `shared-interface ${args.join(' ')}`);
}

function expectNone(problems: readonly string[]): void {
  if (problems.length > 0) throw new DemoFailure(problems.join('; '));
}

function hostLinks(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').map((l) => l.split(':')[1]?.trim() ?? '').filter(Boolean).sort().join(' ');
}

async function main(): Promise<string> {
  const hostBefore = hostLinks();
  step('Starting the sealed lab: new namespaces with their own network, a private system bus,');
  note('a real NetworkManager, and a LAN behind the NIC eth0 (dnsmasq serving DHCP, a router at');
  note("192.0.2.1). Nothing in it touches this machine's own network.");
  const lab = await Lab.start();
  let stopping: Promise<void> | undefined;
  const stopLab = (): Promise<void> => (stopping ??= lab.stop());
  const interrupted = (signal: NodeJS.Signals): void => {
    console.log(`\n[${clock()}] ${signal}: tearing the lab down`);
    void stopLab().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let guest: GuestOnBridge | undefined;
  try {
    note(`Lab ready (its files: ${lab.dir}).`);

    step('Starting our daemon, shared-interfaced, on the lab\'s system bus.');
    await lab.startDaemon();

    step(`The NIC before sharing: NetworkManager's profile "${HOST_PROFILE}" got it a lease from the LAN.`);
    await cli(lab, 'list');
    const before = await hostIdentity(lab, HOST_NIC);
    const address = before.address;
    if (address === undefined) throw new DemoFailure(`${HOST_NIC} has no address from the LAN`);
    note(`The host is ${address} with MAC ${before.mac ?? '?'}.`);

    step(`Sharing ${HOST_NIC} through the D-Bus API (the CLI calls Share): NetworkManager makes a`);
    note(`bridge, ${HOST_NIC} becomes its port, and the host's address and MAC move to the bridge.`);
    await cli(lab, 'share', HOST_NIC);
    const bridge = (await hostIdentity(lab, HOST_NIC)).master;
    if (bridge === undefined) throw new DemoFailure(`${HOST_NIC} is not a port of a bridge after Share`);

    step(`${HOST_NIC} is a port of ${bridge}, and the host still holds its address, on the bridge:`);
    await run(lab, ['bridge', 'link']);
    await run(lab, ['ip', '-br', 'addr', 'show', 'dev', bridge]);
    await run(lab, ['ip', '-br', 'link', 'show', 'dev', bridge]);
    const shared = await hostIdentity(lab, bridge);
    expectNone([
      ...(shared.address === address ? [] : [`the host lost its address: ${bridge} has ${shared.address ?? 'none'}, not ${address}`]),
      ...(shared.mac === HOST_MAC ? [] : [`${bridge} has MAC ${shared.mac ?? 'none'}, not the host's ${HOST_MAC}`]),
    ]);
    note(`Same address ${address}, same MAC ${HOST_MAC}: the LAN sees the same host.`);

    step(`Booting a real virtual machine (QEMU, Debian's cloud kernel and busybox). Its NIC, MAC`);
    note(`${GUEST_MAC}, is the tap ${TAP}, a port of ${bridge}: what libvirt does for`);
    note(`<interface type='bridge'>. It asks for a DHCP lease like any machine plugged into the LAN.`);
    guest = await bootGuestOnBridge(lab, { bridge, tap: TAP, mac: GUEST_MAC, logPath: join(lab.dir, 'guest.log') });
    note(`Guest kernel ${guest.kernelRelease}, acceleration ${guest.accel === 'kvm' ? 'KVM' : 'TCG (software emulation)'}.`);
    note(`The guest says: lease ${guest.lease.address}/${String(guest.lease.prefixLength)}, router ${guest.lease.router ?? 'none'}, after ${(guest.leaseAfterMs / 1000).toFixed(1)} s.`);
    await run(lab, ['bridge', 'link']);

    step(`Is the guest on the LAN? The LAN's DHCP server, the LAN's ping, the LAN's neighbour table:`);
    const check = await checkGuestOnLan(lab, { mac: GUEST_MAC, address: guest.lease.address }, { bridge, address, mac: HOST_MAC });
    console.log(`           $ grep -i ${GUEST_MAC} dnsmasq.leases        (the LAN's lease file)`);
    show(check.lease?.line ?? '(no lease for the guest)');
    console.log(`           $ ip netns exec lan ping -c 3 ${guest.lease.address}`);
    show(check.ping.output);
    console.log(`           $ ip -n lan neigh show to ${guest.lease.address}`);
    show(`${guest.lease.address} lladdr ${check.lanSeesMac ?? '(none)'}`);
    note(`The host meanwhile: ${check.host.address ?? 'no address'} on ${bridge}, MAC ${check.host.mac ?? 'none'}.`);
    expectNone(check.problems);
    note(`Leased by the LAN's own DHCP server and reached by the LAN at its own MAC: the guest is on the`);
    note('same network as the host, not behind NAT.');
    const lease = guest.lease.address;

    step(`Stopping the guest (pulling the plug, as virsh destroy does) and removing ${TAP}.`);
    await guest.stop();
    guest = undefined;
    await run(lab, ['bridge', 'link']);
    note(`Only ${HOST_NIC} is left on ${bridge}: nothing holds Unshare back.`);

    step(`Unsharing ${HOST_NIC} through the D-Bus API (the CLI calls Unshare).`);
    await cli(lab, 'unshare', HOST_NIC);

    step(`The original state is back: "${HOST_PROFILE}" active on ${HOST_NIC} with its address, no bridge.`);
    await run(lab, ['nmcli', 'connection', 'show', '--active']);
    await run(lab, ['ip', '-br', 'addr', 'show', 'dev', HOST_NIC]);
    await cli(lab, 'list');
    expectNone((await checkHostRestored(lab, { address, bridge })).problems);

    step('Routed sharing. The LAN now takes frames from the host\'s MAC only, as a Wi-Fi access point');
    note('or a switch port with port security does (an nftables netdev filter on its side of the link).');
    note('A bridged guest would get no lease here; routed sharing leaves the NIC as it is.');
    await lockLanToMac(lab, HOST_MAC);
    await addLanHost(lab, LAN_HOST);
    await cli(lab, 'share', HOST_NIC, '--routed');
    const routedBridge = `br-${HOST_NIC}`;
    await run(lab, ['ip', '-br', 'addr', 'show', 'dev', HOST_NIC]);
    await run(lab, ['ip', 'route', 'show', 'proto', '212']);
    note(`${HOST_NIC} keeps its address and profile; ${routedBridge} is the guests' bridge, with no port to the LAN.`);

    step(`A guest on ${routedBridge} asks for a lease: relayed to the LAN's own DHCP server.`);
    guest = await bootGuestOnBridge(lab, { bridge: routedBridge, tap: TAP, mac: GUEST_MAC, pingAddress: LAN_HOST.address, logPath: join(lab.dir, 'routed-guest.log') });
    const routedLease = guest.lease.address;
    note(`The guest says: lease ${routedLease}/${String(guest.lease.prefixLength)}, router ${guest.lease.router ?? 'none'}, after ${(guest.leaseAfterMs / 1000).toFixed(1)} s.`);
    if (!await guest.handle.waitForPing(60_000)) throw new DemoFailure(`the guest does not reach the LAN host ${LAN_HOST.address}`);
    note(`The guest pings the LAN host ${LAN_HOST.address}.`);
    await run(lab, ['ip', 'route', 'show', 'proto', '212']);
    console.log(`           $ ip netns exec lan ping -c 3 ${routedLease}`);
    const routedPing = await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-n', '-c', '3', '-W', '2', routedLease], { allowFailure: true, timeoutMs: 20_000 });
    show(routedPing.stdout);
    await run(lab, ['ip', '-n', 'lan', 'neigh', 'show', 'to', routedLease]);
    const seen = JSON.parse(await lab.sh(`ip -j -n lan neigh show to ${routedLease}`)) as Array<{ lladdr?: string }>;
    expectNone([
      ...(routedPing.code === 0 ? [] : [`the LAN cannot ping the guest at ${routedLease}`]),
      ...(seen[0]?.lladdr === HOST_MAC ? [] : [`the LAN holds ${seen[0]?.lladdr ?? 'no MAC'} for the guest, not the host's ${HOST_MAC}`]),
    ]);
    note(`On the LAN's subnet, reached from the LAN, and every frame carries the host's MAC ${HOST_MAC}.`);
    await guest.stop();
    guest = undefined;

    step(`Unsharing ${HOST_NIC} (routed): the bridge, the relay, the routes and the sysctls go.`);
    await cli(lab, 'unshare', HOST_NIC);
    await run(lab, ['ip', 'route', 'show', 'proto', '212']);
    expectNone((await checkHostRestored(lab, { address, bridge: routedBridge })).problems);

    step('Tearing the lab down: its PID 1 dies, and every daemon, device and file of the lab with it.');
    await stopLab();
    const leftovers = [
      ...(existsSync(lab.dir) ? [`the lab's directory ${lab.dir}`] : []),
      ...(existsSync(`/proc/${String(lab.pid)}`) ? [`the lab's PID 1 (${String(lab.pid)})`] : []),
      ...(hostLinks() === hostBefore ? [] : [`this machine's network devices changed: ${hostBefore} → ${hostLinks()}`]),
    ];
    if (leftovers.length > 0) throw new DemoFailure(`left behind: ${leftovers.join(', ')}`);
    note(`Nothing left behind; this machine's own network devices are as before (${hostBefore}).`);

    return `${HOST_NIC} shared through ${bridge}; guest ${GUEST_MAC} leased ${lease} from the LAN and answered the LAN's pings; `
      + `the host kept ${address} and ${HOST_MAC}; ${HOST_NIC} back on "${HOST_PROFILE}"; `
      + `shared routed on a LAN that takes only the host's MAC: the guest leased ${routedLease} and was reached behind the host's MAC; lab torn down`;
  } finally {
    await guest?.stop().catch((error: unknown) => console.error(`stopping the guest: ${String(error)}`));
    await stopLab();
  }
}

main().then(
  (summary) => {
    console.log(`\nDEMO PASSED in ${((Date.now() - began) / 1000).toFixed(0)} s: ${summary}.`);
  },
  (error: unknown) => {
    const message = error instanceof Error ? (error instanceof DemoFailure ? error.message : error.stack ?? error.message) : String(error);
    console.log(`\nDEMO FAILED at step ${String(stepNumber)} after ${((Date.now() - began) / 1000).toFixed(0)} s: ${message}`);
    console.log('(LAB_KEEP=1 npm run demo keeps the lab\'s logs: nm.log, dnsmasq.log, guest.log in its directory.)');
    process.exitCode = 1;
  },
);
