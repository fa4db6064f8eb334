// SPDX-License-Identifier: GPL-2.0-or-later
// firewalld in the sealed lab: started on the lab's own system bus (its runtime changes stay in the
// lab's network namespace and end with it), eth0's profile in `zone` while `run` runs.
import { type Lab, waitFor } from './lab';

export async function withFirewalldZone(lab: Lab, zone: string, run: () => Promise<void>): Promise<void> {
  const firewalld = lab.spawn(['firewalld', '--nofork', '--nopid']);
  try {
    await waitFor('firewalld to run', async () => ((await lab.exec(['firewall-cmd', '--state'], { allowFailure: true })).code === 0 ? true : undefined), 60_000);
    await lab.sh(`nmcli connection modify 'Wired eth0' connection.zone ${zone} && nmcli device reapply eth0`);
    await waitFor(`eth0 in zone ${zone}`, async () => ((await lab.sh('firewall-cmd --get-zone-of-interface=eth0 || true')).trim() === zone ? true : undefined), 30_000);
    await run();
  } finally {
    await lab.sh("nmcli connection modify 'Wired eth0' connection.zone ''");
    firewalld.kill();
    await firewalld.waitForExit();
  }
}
