// SPDX-License-Identifier: GPL-2.0-or-later
// The bench's recovery part: how long a fault in the middle of a change takes to be undone, in a
// fresh sealed lab each run. (a) Our daemon SIGKILLed and NetworkManager restarted while a Share
// awaits Confirm: from the next daemon's start until eth0 is on its own profile with its address
// and nothing of ours is left. (b) NetworkManager restarted during a Share whose bridge waits for
// its lease: from NetworkManager being back on the bus until the same holds.
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { Lab, waitFor } from '../lab/lab';
import { ipv4, links } from '../lab/nm-state';
import { pauseDhcp, restartNetworkManagerMidChange, restored, resumeDhcp } from '../lab/recovery-lab';
import { ServiceClient } from '../lab/service-client';

export interface RecoveryTimes {
  readonly afterCrashMs: number;
  readonly afterNmRestartMs: number;
}

async function inLab<T>(run: (lab: Lab, client: ServiceClient) => Promise<T>): Promise<T> {
  const lab = await Lab.start();
  const bus = await lab.connect();
  try {
    return await run(lab, new ServiceClient(bus));
  } finally {
    bus.close();
    await resumeDhcp(lab).catch(() => undefined);
    await lab.stop();
  }
}

export async function recoveryTimes(): Promise<RecoveryTimes> {
  const afterCrashMs = await inLab(async (lab, client) => {
    const daemon = await lab.startDaemon();
    const address = ipv4((await links(lab)).get('eth0'));
    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 60) });
    daemon.kill('SIGKILL');
    await daemon.waitForExit();
    await lab.restartNetworkManager();
    const started = Date.now();
    await lab.startDaemon();
    await waitFor('eth0 restored after the crash', () => restored(lab, address), 40_000);
    return Date.now() - started;
  });
  const afterNmRestartMs = await inLab(async (lab, client) => {
    await lab.startDaemon();
    const address = ipv4((await links(lab)).get('eth0'));
    await pauseDhcp(lab);
    const sharing = client.share('eth0').catch(() => undefined);
    await waitFor('br-eth0 up with eth0 as its port', async () => ((await links(lab)).get('eth0')?.master === 'br-eth0' ? true : undefined), 20_000);
    await restartNetworkManagerMidChange(lab);
    const back = Date.now();
    await resumeDhcp(lab);
    await waitFor('eth0 restored after NetworkManager restarted', () => restored(lab, address), 40_000);
    const took = Date.now() - back;
    await sharing;
    return took;
  });
  return { afterCrashMs, afterNmRestartMs };
}
