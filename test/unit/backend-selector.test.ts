// SPDX-License-Identifier: GPL-2.0-or-later
// A settings backend is one candidate in the selector's ordered list, and describes itself to the
// domain as data: a stand-in third backend (as systemd-networkd would be) is chosen, listed,
// shared through and switched away from without the domain or the selector knowing its name.
import test from 'ava';
import type { BackendDescription } from '../../src/bridge/backend-description';
import { DEFAULT_SHARE_OPTIONS } from '../../src/bridge/request-options';
import { Sharing } from '../../src/bridge/sharing';
import type { BackendCandidate } from '../../src/settings/backend-candidate';
import { BackendSelector } from '../../src/settings/backend-selector';
import { FakeClock } from './fake-clock';
import { FakeHost, nic, RecordingLog } from './fake-host';

const NETWORKD: BackendDescription = {
  name: 'systemd-networkd',
  safetyNet: 'copy of the .network files',
  manageHint: (iface) => `give ${iface} a .network file in /etc/systemd/network`,
};

/** A candidate whose applicability the test switches, as NameOwnerChanged would. */
class SwitchedCandidate implements BackendCandidate {
  started = 0;
  private changed = (): void => undefined;

  constructor(readonly name: string, private readonly backend: () => FakeHost, private applies: boolean) {}

  set(applies: boolean): void {
    this.applies = applies;
    this.changed();
  }

  get remedy(): string { return `start ${this.name}`; }

  notApplicable(): string | undefined { return this.applies ? undefined : 'not here'; }

  async start(): Promise<FakeHost> {
    this.started++;
    return this.backend();
  }

  async follow(changed: () => void): Promise<() => Promise<void>> {
    this.changed = changed;
    return async () => { this.changed = () => undefined; };
  }
}

const candidate = (name: string, backend: () => FakeHost, applies: boolean) => new SwitchedCandidate(name, backend, applies);

test('a third backend is one candidate: the first that applies serves, and the domain speaks of it in its own words', async (t) => {
  const networkd = new FakeHost(NETWORKD);
  networkd.interfaces = [...networkd.interfaces, nic('eth2', '52:54:00:00:00:03', { managed: false })];
  let networkdClosed = 0;
  networkd.close = async () => { networkdClosed++; };
  const nm = candidate('NetworkManager', () => new FakeHost(), false);
  const third = candidate('systemd-networkd', () => networkd, true);
  const fallback = candidate('ifcfg', () => new FakeHost({ name: 'ifcfg', safetyNet: 'snapshot of the ifcfg files' }), true);
  const log = new RecordingLog();
  const selector = new BackendSelector([nm, third, fallback], log);
  let notified = 0;
  selector.onChange(() => { notified++; });
  await selector.start();
  t.is(selector.current, networkd, 'the first candidate that applies, in order');
  t.is(fallback.started, 0, 'a later candidate is not started');
  t.true(log.lines.includes('info settings backend: systemd-networkd'));

  const messages: string[] = [];
  const sharing = new Sharing(selector, networkd, log, undefined, new FakeClock(), {
    progress: (_nic, step, message) => messages.push(`${step}: ${message}`),
    pendingChanged: () => undefined,
  });
  t.is(sharing.backendName(), 'systemd-networkd');
  const eth2 = sharing.list().find((l) => l.iface.name === 'eth2')?.shareability;
  t.deepEqual(eth2, { shareable: false, reason: 'systemd-networkd does not manage it', hint: 'give eth2 a .network file in /etc/systemd/network' });
  const step = await sharing.prepareShare('eth0', DEFAULT_SHARE_OPTIONS);
  if ('noOp' in step) throw new Error('no-op');
  t.is(await step.apply(), 'br-eth0');
  t.true(messages.some((m) => m.startsWith('checkpoint: copy of the .network files taken;')), messages.join('\n'));
  t.deepEqual(networkd.steps, ['begin', 'apply', 'commit']);

  // The first candidate comes to apply (NetworkManager appears on the bus): the choice is made again.
  const before = notified;
  nm.set(true);
  await selector.close().then(() => undefined, () => undefined);
  t.is(nm.started, 1);
  t.is(networkdClosed, 1, 'the backend left behind is closed');
  t.is(selector.current?.description.name, 'NetworkManager');
  t.true(notified > before);
});

test('no candidate applies: no backend, and the log and a caller\'s error say why of each and what to do', async (t) => {
  const log = new RecordingLog();
  const selector = new BackendSelector([candidate('NetworkManager', () => new FakeHost(), false), candidate('ifcfg', () => new FakeHost(), false)], log);
  t.is(selector.whyNone().reason, 'the settings backend is starting', 'before the first choice');
  await selector.start();
  t.is(selector.current, undefined);
  t.true(log.lines.includes('info settings backend: none (NetworkManager: not here; ifcfg: not here)'), log.lines.join('\n'));
  const sharing = new Sharing(selector, new FakeHost(), log, undefined, new FakeClock());
  const error = await t.throwsAsync(() => sharing.prepareShare('eth0', DEFAULT_SHARE_OPTIONS));
  t.like(error, {
    code: 'BackendUnavailable',
    message: 'no settings backend applies on this host (NetworkManager: not here; ifcfg: not here)',
    hint: 'start NetworkManager, or start ifcfg',
  });
  await selector.close();
});
