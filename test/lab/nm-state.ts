// SPDX-License-Identifier: GPL-2.0-or-later
// Reading the lab's real state for assertions: the kernel (ip -j), NetworkManager (nmcli and its
// keyfiles on disk), never our daemon's opinion of it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseIni } from 'ini';
import { sleep, type Lab } from './lab';

export interface IpAddr { ifname: string; address: string; master?: string; operstate: string; addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string }> }

export async function links(lab: Lab): Promise<Map<string, IpAddr>> {
  const list = (await lab.ipJson('addr show')) as IpAddr[];
  return new Map(list.map((l) => [l.ifname, l]));
}

export function globalAddresses(link: IpAddr | undefined): string[] {
  return (link?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`).sort();
}

export function ipv4(link: IpAddr | undefined): string | undefined {
  return link?.addr_info.find((a) => a.family === 'inet' && a.scope === 'global')?.local;
}

/** Keyfile name → content, read straight from the lab's mount namespace. */
export function keyfiles(lab: Lab, dir = '/etc/NetworkManager/system-connections'): Map<string, string> {
  const root = `/proc/${lab.pid}/root${dir}`;
  return new Map(readdirSync(root).sort().map((name) => [name, readFileSync(join(root, name), 'utf8')]));
}

export function parseKeyfile(text: string): Record<string, Record<string, string>> {
  return parseIni(text) as Record<string, Record<string, string>>;
}

/** Active profiles as "NAME:DEVICE" lines, sorted. */
export async function activeProfiles(lab: Lab): Promise<string[]> {
  const out = await lab.sh('nmcli -t -f NAME,DEVICE connection show --active');
  return out.trim().split('\n').filter((l) => l && !l.startsWith('lo:')).sort();
}

export async function routes(lab: Lab, family: '-4' | '-6' = '-4'): Promise<Array<{ dst: string; dev: string; gateway?: string }>> {
  return (await lab.ipJson(`${family} route show table main`)) as Array<{ dst: string; dev: string; gateway?: string }>;
}

export async function pings(lab: Lab, address: string, device: string): Promise<boolean> {
  const r = await lab.exec(['ping', '-c', '1', '-W', '1', '-I', device, address], { allowFailure: true });
  return r.code === 0;
}

/** Everything "the exact previous state" covers: profiles on disk, what is active, addresses, links. */
export async function networkState(lab: Lab): Promise<{ keyfiles: Map<string, string>; active: string[]; eth0: string[]; links: string[] }> {
  const all = await links(lab);
  return {
    keyfiles: keyfiles(lab),
    active: await activeProfiles(lab),
    eth0: globalAddresses(all.get('eth0')),
    links: [...all.keys()].sort(),
  };
}

/**
 * What `read` gives once it equals `expected`, or as it is after `timeoutMs` (for the assertion's
 * diff). After a change the call does not wait for autoconfigured IPv6 addresses (README: they
 * come with the next router advertisement), so a state with them settles a moment later.
 */
export async function settledTo<T>(read: () => Promise<T>, expected: T, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await read();
    if (isDeepStrictEqual(now, expected) || Date.now() > deadline) return now;
    await sleep(200);
  }
}

/** Two readings of networkState() agree on everything it covers. */
export function sameNetworkState(a: Awaited<ReturnType<typeof networkState>>, b: Awaited<ReturnType<typeof networkState>>): boolean {
  const plain = (s: typeof a) => JSON.stringify({ ...s, keyfiles: [...s.keyfiles] });
  return plain(a) === plain(b);
}

/** NetworkManager's checkpoints as busctl prints the property: 'ao 0' when there is none. */
export async function nmCheckpoints(lab: Lab): Promise<string> {
  return (await lab.sh('busctl get-property org.freedesktop.NetworkManager /org/freedesktop/NetworkManager org.freedesktop.NetworkManager Checkpoints')).trim();
}
