// SPDX-License-Identifier: GPL-2.0-or-later
// The probe that verifies a routed Share lets its lease go: once Share returns, the LAN's DHCP
// server (the lab's dnsmasq) soon holds no lease for the probe's MAC, so probes leave nothing
// behind on the LAN's server.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { probeMac } from '../../src/settings/routed/routed-lease-probe';
import { waitFor } from './lab';
import { withLabService } from './service-client';

test.serial('the probe of a routed Share releases its lease: the LAN\'s lease file soon holds nothing for its MAC', async (t) => {
  await withLabService({}, async (lab, client) => {
    const leases = () => readFileSync(join(lab.dir, 'dnsmasq.leases'), 'utf8');
    const mac = probeMac('br-eth0');
    const progress = await client.progress();
    t.is(await client.share('eth0', { mode: makeVariant('s', 'routed') }), 'br-eth0');
    t.regex(progress.find(([, step]) => step === 'probe-leased')?.[2] ?? '', /got 192\.0\.2\.\d+ from the LAN's DHCP server through eth0, and let it go$/);
    // dnsmasq writes its lease file as it handles the release: polled, with a bound.
    await waitFor(`no lease for the probe's MAC ${mac} in the LAN's lease file`, () => (leases().includes(mac) ? undefined : true), 10_000);
    t.false(leases().includes(mac));
    t.log(readFileSync(join(lab.dir, 'dnsmasq.log'), 'utf8').split('\n').filter((l) => l.includes(mac)).join('\n'));
    await client.unshare('eth0');
  });
});
