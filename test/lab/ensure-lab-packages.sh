#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
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
  [iputils-arping]=/usr/bin/arping
  [systemd]=/usr/bin/busctl
  [libglib2.0-bin]=/usr/bin/gdbus
  [util-linux]=/usr/bin/nsenter
  [procps]=/usr/bin/pgrep
  [busybox-static]=/bin/busybox
  [make]=/usr/bin/make
)
specs=()
for pkg in "${!needed[@]}"; do specs+=("$pkg=${needed[$pkg]}"); done
bash "$(dirname "$0")/apt-install.sh" lab "${specs[@]}"

unshare --net --mount --uts --ipc --pid --fork --mount-proc true 2>/dev/null \
  || die "this machine cannot create namespaces (unshare --net --mount --uts --ipc --pid failed); the lab cannot run here"
