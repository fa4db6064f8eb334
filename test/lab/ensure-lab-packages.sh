#!/usr/bin/env bash
# Installs what the sealed lab needs from Debian's packages, when missing, and checks that this
# machine can run a lab at all. Fails loudly; never skips.
set -euo pipefail

die() { echo "lab: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "the lab needs root (it creates namespaces and runs NetworkManager inside them); run as root"

# Debian package → a file it provides.
declare -A needed=(
  [network-manager]=/usr/sbin/NetworkManager
  [dnsmasq-base]=/usr/sbin/dnsmasq
  [iproute2]=/usr/sbin/ip
  [dbus]=/usr/bin/dbus-daemon
  [polkitd]=/usr/lib/polkit-1/polkitd
  [iputils-ping]=/usr/bin/ping
  [systemd]=/usr/bin/busctl
  [libglib2.0-bin]=/usr/bin/gdbus
  [util-linux]=/usr/bin/nsenter
  [procps]=/usr/bin/pgrep
  [busybox-static]=/bin/busybox
  [make]=/usr/bin/make
)
missing=()
for pkg in "${!needed[@]}"; do [ -e "${needed[$pkg]}" ] || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "lab: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  # Installing network-manager must not start it on the host: policy-rc.d forbids it, and
  # without systemd running nothing else would.
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
for pkg in "${!needed[@]}"; do [ -e "${needed[$pkg]}" ] || die "${needed[$pkg]} is still missing after installing $pkg"; done

unshare --net --mount --uts --ipc --pid --fork --mount-proc true 2>/dev/null \
  || die "this machine cannot create namespaces (unshare --net --mount --uts --ipc --pid failed); the lab cannot run here"
