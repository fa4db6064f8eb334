// SPDX-License-Identifier: GPL-2.0-or-later
// A Share of the lab's DHCP NIC checked against the real state, as the 3-link test
// (nm-share.test.ts) checks it, then Unshare bringing eth0 back as it was: for the scale test and
// the benchmark's links part, which makes the same check at 5000 links.
import { isDeepStrictEqual } from 'node:util';
import { type Lab, waitFor } from './lab';
import { globalAddresses, ipv4, links, networkState, pings, routes } from './nm-state';
import type { ServiceClient } from './service-client';

const NIC_MAC = '52:54:00:12:34:56';

/** What is wrong after Share and Unshare of eth0 (none: all is well); `meanwhile` runs during the Share. */
export async function checkedShareAndUnshare(lab: Lab, client: ServiceClient, meanwhile: () => Promise<void> = async () => undefined): Promise<string[]> {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => { if (!ok) problems.push(what); };
  const before = await networkState(lab);
  const address = ipv4((await links(lab)).get('eth0'));
  expect(address !== undefined, 'eth0 has a lease before');
  const [bridge] = await Promise.all([client.share('eth0'), meanwhile()]);
  expect(bridge === 'br-eth0', 'Share answers br-eth0');
  const after = await links(lab);
  expect(after.get('eth0')?.master === 'br-eth0', 'eth0 is a port of br-eth0');
  expect(after.get('br-eth0')?.address === NIC_MAC, 'br-eth0 has the NIC\'s MAC');
  expect(ipv4(after.get('br-eth0')) === address, 'br-eth0 has the NIC\'s lease');
  expect(globalAddresses(after.get('eth0')).length === 0, 'eth0 keeps no address');
  expect((await routes(lab)).some((r) => r.dst === 'default' && r.dev === 'br-eth0'), 'the default route goes through br-eth0');
  expect(await pings(lab, '192.0.2.1', 'br-eth0'), 'the gateway answers through br-eth0');
  expect(isDeepStrictEqual(await client.shared(), new Map([['eth0', 'br-eth0']])), 'Shared says eth0 → br-eth0');
  await client.unshare('eth0');
  await waitFor('eth0 as it was', async () => (isDeepStrictEqual((await networkState(lab)).eth0, before.eth0) ? true : undefined), 60_000);
  expect(!(await links(lab)).has('br-eth0'), 'br-eth0 is gone');
  return problems;
}
