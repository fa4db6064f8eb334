#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The one way our scripts install Debian packages:
#   bash test/lab/apt-install.sh WHO PACKAGE=/a/file/it/provides ...
# installs the packages whose file is missing, with no service started on the host (policy-rc.d
# forbids it: openssh-server, firewalld, cockpit-ws or libvirt must only ever run inside a lab),
# one installer at a time (parallel test runs and scripts take turns on a lock), refreshing the
# package lists once when they are stale. Prints nothing unless it installs or fails; fails loudly.
set -euo pipefail

who=${1:?usage: apt-install.sh WHO PACKAGE=/FILE ...}
shift
die() { echo "$who: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (installs Debian packages)"

missing=()
for spec in "$@"; do
  pkg=${spec%%=*} file=${spec#*=}
  [ -e "$file" ] || missing+=("$pkg")
done
[ ${#missing[@]} -gt 0 ] || exit 0

exec 9>/run/lock/shared-interface-apt.lock 2>/dev/null || exec 9>/tmp/shared-interface-apt.lock
flock -w 900 9 || die "waited 15 min for another installer of ours to finish"
# Someone else's policy-rc.d may mean a different intent; don't override or delete it.
if [ -e /usr/sbin/policy-rc.d ] && ! grep -q 'shared-interface' /usr/sbin/policy-rc.d; then
  die "/usr/sbin/policy-rc.d exists and is not ours; not installing with someone else's policy"
fi
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
printf '#!/bin/sh\n# shared-interface: no service may start on the host while we install\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d

export DEBIAN_FRONTEND=noninteractive
echo "$who: installing ${missing[*]}" >&2
log=$(mktemp)
install_quietly() {
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >"$log" 2>&1
}
# A fresh machine has no package lists, and old ones give 404s: refresh once and retry.
if ! install_quietly; then
  apt-get update -qq -o DPkg::Lock::Timeout=600 >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "apt-get update failed"; }
  install_quietly || { tail -n 30 "$log" >&2; die "apt-get install ${missing[*]} failed"; }
fi
rm -f "$log"
for spec in "$@"; do
  [ -e "${spec#*=}" ] || die "${spec#*=} is still missing after installing ${spec%%=*}"
done
