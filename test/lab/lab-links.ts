// SPDX-License-Identifier: GPL-2.0-or-later
// A lab host with thousands of links, as a container host or a hypervisor has, and links that
// come and go: for the scale test and the benchmark's "links" part.
import type { Lab } from './lab';

/** The links made here, left unmanaged as NetworkManager's udev rules leave veths on a real host. */
const UNMANAGED = 'interface-name:vb*;interface-name:vc*;interface-name:churn*';

/**
 * `pairs` veth pairs vbN/vcN, made with one `ip -batch` while NetworkManager is stopped (it takes
 * them in at its start, faster than one event at a time), left unmanaged as NetworkManager's udev
 * rules leave veths on a real host (churn's too); and `profiles` keyfile profiles for devices that
 * don't exist. Call it before the daemon starts: NetworkManager restarts.
 */
export async function populate(lab: Lab, pairs: number, profiles: number): Promise<void> {
  await lab.sh(`printf '[keyfile]\\nunmanaged-devices=${UNMANAGED}\\n' >/etc/NetworkManager/conf.d/90-veths.conf`);
  await lab.stopNetworkManager();
  if (pairs > 0) {
    await lab.sh(`for i in $(seq 1 ${pairs}); do echo "link add vb$i type veth peer name vc$i"; done >/run/veths.batch; ip -batch /run/veths.batch`, { timeoutMs: 300_000 });
  }
  if (profiles > 0) {
    await lab.sh(`
      for i in $(seq 1 ${profiles}); do
        printf '[connection]\\nid=profile-%s\\nuuid=%s\\ntype=ethernet\\ninterface-name=nx%s\\nautoconnect=false\\n' $i "$(cat /proc/sys/kernel/random/uuid)" $i >/etc/NetworkManager/system-connections/profile-$i.nmconnection
      done
      chmod 600 /etc/NetworkManager/system-connections/*.nmconnection`, { timeoutMs: 120_000 });
  }
  await lab.sh(`NetworkManager --no-daemon >>${lab.dir}/nm.log 2>&1 & echo $! >${lab.dir}/nm.pid; nm-online -s -q -t 600`, { timeoutMs: 660_000 });
}

/**
 * Makes `count` links (veth pairs: the lab's kernel may have no dummy module, and the host's
 * modules are not ours to load) with one `ip -batch`, then deletes them with another. Continuous
 * churn is not what this is: NetworkManager 1.42 then answers nothing for longer than a D-Bus
 * call waits (see docs/scale.md).
 */
export async function linksComeAndGo(lab: Lab, count: number): Promise<void> {
  const pairs = Math.ceil(count / 2);
  await lab.sh(`for i in $(seq 1 ${pairs}); do echo "link add churn$i type veth peer name churnp$i"; done >/run/churn-add.batch
    for i in $(seq 1 ${pairs}); do echo "link del churn$i"; done >/run/churn-del.batch
    ip -batch /run/churn-add.batch
    ip -batch /run/churn-del.batch`, { timeoutMs: 120_000 });
}
