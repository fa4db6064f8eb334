// SPDX-License-Identifier: GPL-2.0-or-later
// libvirt's own daemon inside a sealed lab, so a guest can be started the way virt-manager does it:
// `virsh create` with <interface type='bridge'>. Debian 12's monolithic libvirtd (9.0) and virtlogd,
// installed by test/guest/ensure-libvirt.sh, run here with lab-local config and state: tmpfs over
// /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt (/run is the lab's
// already), in the lab's mount namespace only. Nothing of it outlives the lab.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { guestCommandLine, parseConsole, GuestError, type Accel, type GuestBehaviour, type GuestImage, type GuestLease } from '../guest/guest';
import { sleep, waitFor, type Lab, type LabProcess } from './lab';

const STATE_DIRS = ['/etc/libvirt', '/var/lib/libvirt', '/var/cache/libvirt', '/var/log/libvirt'];
const URI = 'qemu:///system';

// libvirtd resolves its built-in QEMU user (Debian: libvirt-qemu) before reading qemu.conf, and
// refuses to start without it; libvirt-daemon-system would create it, we don't install that. The
// lab gets copies of passwd and group with it; qemu itself runs as root (qemu.conf below), so the
// guest can read the kernel in the lab's directory (mode 0700) and libvirt chowns nothing.
const SETUP = `
for d in ${STATE_DIRS.join(' ')}; do
  [ -d "$d" ] || { echo "$d is missing: run test/guest/ensure-libvirt.sh" >&2; exit 1; }
  mount -t tmpfs -o mode=0755 lab-libvirt "$d"
done
mkdir -p /run/lab-libvirt
cp /etc/passwd /etc/group /run/lab-libvirt/
grep -q '^libvirt-qemu:' /etc/passwd || echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>/run/lab-libvirt/passwd
grep -q '^libvirt-qemu:' /etc/group || echo 'libvirt-qemu:x:64055:' >>/run/lab-libvirt/group
mount --bind /run/lab-libvirt/passwd /etc/passwd
mount --bind /run/lab-libvirt/group /etc/group
cat >/etc/libvirt/libvirtd.conf <<'EOF'
# Only root in the lab talks to it; the lab's polkit has no libvirt rules.
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:stderr"
EOF
cat >/etc/libvirt/virtlogd.conf <<'EOF'
log_outputs = "3:stderr"
EOF
cat >/etc/libvirt/qemu.conf <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
# The lab's sysfs has no cgroup tree, yet /proc/self/mounts still lists the host's.
cgroup_controllers = [ ]
# No private /dev for qemu: the lab is its sandbox already.
namespaces = [ ]
EOF
`;

export interface LibvirtGuestOptions {
  /** The domain's name. */
  readonly name: string;
  readonly image: GuestImage;
  readonly accel: Accel;
  readonly bridge: string;
  readonly mac: string;
  readonly behaviour?: GuestBehaviour;
}

/** The domain XML: what virt-manager would write for this guest, on a bridge. */
export function guestDomainXml(options: LibvirtGuestOptions & { readonly kernel: string; readonly initrd: string; readonly consolePath: string }): string {
  const cpu = options.accel === 'kvm' ? "\n  <cpu mode='host-passthrough'/>" : '';
  return `<domain type='${options.accel === 'kvm' ? 'kvm' : 'qemu'}'>
  <name>${options.name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>${cpu}
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${options.kernel}</kernel>
    <initrd>${options.initrd}</initrd>
    <cmdline>${guestCommandLine(options.behaviour)}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'>
      <source bridge='${options.bridge}'/>
      <mac address='${options.mac}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='${options.consolePath}'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>
`;
}

export class LabLibvirt {
  private constructor(
    private readonly lab: Lab,
    readonly virtlogd: LabProcess,
    readonly libvirtd: LabProcess,
    readonly startedInMs: number,
  ) {}

  /** Starts virtlogd, then libvirtd, in the lab; resolves when virsh gets answers. */
  static async start(lab: Lab): Promise<LabLibvirt> {
    const started = Date.now();
    const missing = ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/bin/virsh'].filter((file) => !existsSync(file));
    if (missing.length > 0) throw new Error(`libvirt is not installed (${missing.join(', ')} missing): run test/guest/ensure-libvirt.sh`);
    await lab.sh(SETUP);
    const virtlogd = lab.spawn(['virtlogd']);
    await waitFor('virtlogd to listen', async () => ((await lab.exec(['test', '-S', '/run/libvirt/virtlogd-sock'], { allowFailure: true })).code === 0 ? true : undefined), 30_000)
      .catch((error: unknown) => { throw new Error(`${String(error)}\nvirtlogd:\n${virtlogd.output}`); });
    const libvirtd = lab.spawn(['libvirtd']);
    // libvirtd probes QEMU's capabilities before it answers: a few seconds.
    const deadline = Date.now() + 90_000;
    while ((await lab.exec(['virsh', '-c', URI, 'version'], { allowFailure: true })).code !== 0) {
      if (!libvirtd.running || Date.now() > deadline) {
        throw new Error(`libvirtd ${libvirtd.running ? 'did not answer within 90 s' : 'exited'}:\n${libvirtd.output}`);
      }
      await sleep(200);
    }
    return new LabLibvirt(lab, virtlogd, libvirtd, Date.now() - started);
  }

  async virsh(args: readonly string[]): Promise<string> {
    return (await this.lab.exec(['virsh', '-c', URI, ...args])).stdout;
  }

  /**
   * `virsh create`s a transient domain of the lab guest. libvirt changes the owner of the kernel
   * and initrd it boots where it runs qemu as its own user: it gets copies, in the lab's directory.
   */
  async createGuest(options: LibvirtGuestOptions): Promise<LibvirtGuest> {
    const dir = join(this.lab.dir, 'libvirt', options.name);
    mkdirSync(dir, { recursive: true });
    const kernel = join(dir, 'vmlinuz');
    const initrd = join(dir, 'initrd.img');
    copyFileSync(options.image.kernel, kernel);
    copyFileSync(options.image.initrd, initrd);
    const consolePath = join(dir, 'console.log');
    const xml = guestDomainXml({ ...options, kernel, initrd, consolePath });
    const xmlPath = join(dir, 'domain.xml');
    writeFileSync(xmlPath, xml);
    const started = Date.now();
    await this.lab.exec(['virsh', '-c', URI, 'create', xmlPath]);
    return new LibvirtGuest(this, options.name, options.mac, consolePath, started, xml);
  }
}

/** A transient domain started by LabLibvirt.createGuest, its serial console in a file. */
export class LibvirtGuest {
  constructor(
    private readonly libvirt: LabLibvirt,
    readonly name: string,
    readonly mac: string,
    readonly consolePath: string,
    private readonly started: number,
    readonly xml: string,
  ) {}

  console(): string {
    try {
      return readFileSync(this.consolePath, 'utf8');
    } catch {
      return ''; // qemu has not opened it yet
    }
  }

  /** Resolves with the lease the guest reports; GuestError NoLease when it reports none. */
  async waitForLease(timeoutMs: number): Promise<GuestLease & { readonly afterMs: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = parseConsole(this.console());
      if (report.lease !== undefined) return { ...report.lease, afterMs: Date.now() - this.started };
      if (report.noLease !== undefined) throw new GuestError('NoLease', `guest got no DHCP lease (${report.noLease}); console:\n${this.console()}`);
      if (report.poweredOff || Date.now() > deadline) {
        const domains = await this.libvirt.virsh(['list', '--all']).catch(String);
        throw new GuestError(report.poweredOff ? 'Exited' : 'Timeout', `the libvirt guest reported no lease; console:\n${this.console()}\ndomains:\n${domains}`);
      }
      await sleep(100);
    }
  }

  /** The tap libvirt made for the guest's <interface> (vnetN), from `virsh domiflist`. */
  async tap(): Promise<string> {
    const table = await this.libvirt.virsh(['domiflist', this.name]);
    const row = table.split('\n').find((line) => line.toLowerCase().includes(this.mac.toLowerCase()));
    const tap = row?.trim().split(/\s+/)[0];
    if (tap === undefined) throw new Error(`virsh domiflist ${this.name} lists no interface with ${this.mac}:\n${table}`);
    return tap;
  }

  /** `virsh destroy`: pulls the plug; the transient domain disappears. */
  async destroy(): Promise<void> {
    await this.libvirt.virsh(['destroy', this.name]);
  }

  async listed(): Promise<boolean> {
    return (await this.libvirt.virsh(['list', '--all', '--name'])).split('\n').some((line) => line.trim() === this.name);
  }
}
