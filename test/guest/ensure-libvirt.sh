#!/usr/bin/env bash
# Installs libvirt's daemon, its QEMU driver and virsh from Debian's packages, when missing, for the
# lab test that starts the guest the way virt-manager does (test/lab/libvirt-guest.test.ts). The
# daemon only ever runs inside a sealed lab, with lab-local config and state (test/lab/libvirt-lab.ts).
#
# Only libvirt-daemon (monolithic libvirtd, virtlogd), libvirt-daemon-driver-qemu and libvirt-clients:
# never libvirt-daemon-system, whose dependency libvirt-daemon-config-network defines and autostarts
# the "default" NAT network (virbr0) on the host, and whose units would start libvirtd on the host.
# policy-rc.d forbids starting any service during the install all the same. Afterwards it checks that
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
missing=()
for pkg in "${!needed[@]}"; do [ -e "${needed[$pkg]}" ] || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-libvirt: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another of our installers (ensure-lab-packages.sh in a parallel run) may hold one for a while.
  for _ in $(seq 300); do [ -e /usr/sbin/policy-rc.d ] || break; sleep 1; done
  [ -e /usr/sbin/policy-rc.d ] && die "/usr/sbin/policy-rc.d exists and is not ours; not installing with someone else's policy"
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  install_quietly() {
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >"$log" 2>&1
  }
  log=$(mktemp)
  # Stale package lists give 404s: refresh once and retry.
  if ! install_quietly; then
    apt-get update -qq -o DPkg::Lock::Timeout=300 || die "apt-get update failed"
    install_quietly || { tail -n 30 "$log" >&2; die "apt-get install ${missing[*]} failed"; }
  fi
  rm -f "$log" /usr/sbin/policy-rc.d
  trap - EXIT
fi
for pkg in "${!needed[@]}"; do [ -e "${needed[$pkg]}" ] || die "${needed[$pkg]} is still missing after installing $pkg"; done

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
