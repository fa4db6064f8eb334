// SPDX-License-Identifier: GPL-2.0-or-later
// The guests' part of routed sharing that needs no kernel: what is logged when guests come, go
// quiet, go or are refused; which guests are newly unanswered; the addresses `ip -j addr` lists.
import test from 'ava';
import type { Log } from '../../src/log';
import type { GuestPlan } from '../../src/settings/routed/routed-plan';
import { logGuestChanges, newlyUnanswered } from '../../src/settings/routed/guest-routes';
import { addressesOf } from '../../src/settings/routed/routed-kernel-io';

const links = { uplink: 'wlp2s0', bridge: 'br-wlp2s0' };
const a = { address: '192.0.2.50', mac: '52:54:00:00:00:0a' };
const b = { address: '192.0.2.51', mac: '52:54:00:00:00:0b' };

function plan(guests: GuestPlan['guests'], refused: GuestPlan['refused'] = []): GuestPlan {
  return { guests, refused, addRoutes: [], removeRoutes: [], addProxies: [], removeProxies: [] };
}

function recordingLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const log: Log = {
    error: (m) => lines.push(`error ${m}`), warn: (m) => lines.push(`warn ${m}`),
    info: (m) => lines.push(`info ${m}`), debug: (m) => lines.push(`debug ${m}`),
  };
  return { log, lines };
}

test('each guest that comes, goes quiet or goes, and each new refusal, is logged once', (t) => {
  const { log, lines } = recordingLog();
  const refused = { address: '192.0.2.1', mac: '52:54:00:00:00:0c', reason: 'the uplink\'s gateway' };
  logGuestChanges(links, log, { guests: [a, b], refused: [] }, plan([{ ...a, unansweredSince: 1 }], [refused]));
  t.deepEqual(lines, [
    'info routed sharing of wlp2s0: guest 192.0.2.50 (52:54:00:00:00:0a) does not answer ARP; its route stays while its MAC is on br-wlp2s0, for 60 s at most',
    'info routed sharing of wlp2s0: guest 192.0.2.51 (52:54:00:00:00:0b) is gone from br-wlp2s0',
    'warn routed sharing of wlp2s0: not routing 192.0.2.1 (claimed by 52:54:00:00:00:0c on br-wlp2s0): the uplink\'s gateway',
  ]);
  lines.length = 0;
  // The same reading again: nothing new to say.
  logGuestChanges(links, log, { guests: [{ ...a, unansweredSince: 1 }], refused: [refused] }, plan([{ ...a, unansweredSince: 1 }], [refused]));
  t.deepEqual(lines, []);
  logGuestChanges(links, log, { guests: [], refused: [] }, plan([b]));
  t.deepEqual(lines, ['info routed sharing of wlp2s0: guest 192.0.2.51 (52:54:00:00:00:0b) on br-wlp2s0 is on the LAN']);
});

test('a guest is newly unanswered only in the reading where it stopped answering', (t) => {
  t.deepEqual(newlyUnanswered([a, b], plan([{ ...a, unansweredSince: 5 }, b])), [{ ...a, unansweredSince: 5 }]);
  t.deepEqual(newlyUnanswered([{ ...a, unansweredSince: 5 }], plan([{ ...a, unansweredSince: 5 }])), []);
  t.deepEqual(newlyUnanswered([], plan([a])), []);
});

test('the addresses of `ip -j addr show`, odd entries skipped', (t) => {
  t.deepEqual(addressesOf([
    { ifname: 'br0', addr_info: [{ local: '192.0.2.10', prefixlen: 32 }, { local: '192.0.2.11' }, { prefixlen: 24 }] },
    { ifname: 'br1' },
  ]), ['192.0.2.10/32']);
  t.deepEqual(addressesOf({}), []);
});
