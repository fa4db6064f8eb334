#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs libvirt's daemon, its QEMU driver and virsh from Debian's packages, when missing, for the
# lab test that starts the guest the way virt-manager does (test/lab/libvirt-guest.test.ts). The
# daemon only ever runs inside a sealed lab, with lab-local config and state (test/lab/libvirt-lab.ts).
#
# Only libvirt-daemon (monolithic libvirtd, virtlogd), libvirt-daemon-driver-qemu and libvirt-clients:
# never libvirt-daemon-system, whose dependency libvirt-daemon-config-network defines and autostarts
# the "default" NAT network (virbr0) on the host, and whose units would start libvirtd on the host.
# apt-install.sh forbids starting any service during the install all the same. Afterwards it checks that
# no libvirtd or virtlogd runs in the host's namespaces and that the host has no virbr0.
# Fails loudly; never skips.
set -euo pipefail

die() { echo "ensure-libvirt: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (installs packages)"

# Debian package → a file it provides.
declare -A needed=(
  [libvirt-daemon]=/usr/sbin/libvirtd
  [libvirt-daemon-driver-qemu]=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
  [libvirt-clients]=/usr/bin/virsh
)
specs=()
for pkg in "${!needed[@]}"; do specs+=("$pkg=${needed[$pkg]}"); done
bash "$(dirname "$0")/../lab/apt-install.sh" ensure-libvirt "${specs[@]}"

# The lab mounts tmpfs over these (libvirtd's paths are compiled in); a mount point must exist.
# libvirt-daemon-system would create them; we don't install it.
mkdir -p /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt

# Nothing of libvirt may run on the host itself: a libvirtd or virtlogd in this network namespace
# (a lab's have their own), or a virbr0 here, means something started it outside a lab.
host_net=$(readlink /proc/self/ns/net)
for pid in $(pgrep -x libvirtd || true) $(pgrep -x virtlogd || true); do
  if [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)" = "$host_net" ]; then
    die "$(cat "/proc/$pid/comm") (pid $pid) runs in the host's network namespace; stop it (systemctl stop libvirtd virtlogd) — the lab tests never start it there"
  fi
done
if ip link show dev virbr0 >/dev/null 2>&1; then
  die "the host has a virbr0 (libvirt's default NAT network); the lab tests never create it — remove it with 'virsh net-destroy default' or 'ip link del virbr0'"
fi
