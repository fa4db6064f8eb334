#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The one way our scripts install Debian packages:
#   bash test/lab/apt-install.sh WHO PACKAGE=/a/file/it/provides ...
# installs the packages whose file is missing, with no service started on the host (policy-rc.d
# forbids it: openssh-server, firewalld, cockpit-ws or libvirt must only ever run inside a lab),
# one installer at a time (parallel test runs and scripts take turns on a lock), refreshing the
# package lists once when they are stale. Prints nothing unless it installs or fails; every
# failure says on stderr what failed and what to do, and exits non-zero.
#
# The tests run it with stand-ins (test/unit/apt-install.test.ts): SI_POLICY_RC_D and SI_APT_LOCK
# name other files, SI_APT_LOCK_WAIT is how many seconds to wait for the lock (default 900), and
# PATH may put another apt-get first.
set -euo pipefail

who=${1:?usage: apt-install.sh WHO PACKAGE=/FILE ...}
shift
die() { echo "$who: $*" >&2; exit 1; }
policy=${SI_POLICY_RC_D:-/usr/sbin/policy-rc.d}
lock=${SI_APT_LOCK:-/run/lock/shared-interface-apt.lock}
lock_wait=${SI_APT_LOCK_WAIT:-900}

missing=()
for spec in "$@"; do
  pkg=${spec%%=*} file=${spec#*=}
  [ -e "$file" ] || missing+=("$pkg")
done
[ ${#missing[@]} -gt 0 ] || exit 0
[ "$(id -u)" = 0 ] || die "needs root to install ${missing[*]}; run as root, or install them yourself"

# The lock's file: /run/lock may be missing on a minimal image. Only this one redirection is quiet.
mkdir -p "$(dirname "$lock")" 2>/dev/null || true
{ exec 9>"$lock"; } 2>/dev/null || { lock=/tmp/shared-interface-apt.lock; exec 9>"$lock"; }
flock -w "$lock_wait" 9 || die "waited $lock_wait s for another installer of ours (lock $lock) to finish; if none runs, remove $lock and try again"

# policy-rc.d answers 101 when a service may not start (invoke-rc.d's contract). A policy that
# already forbids everything is what we want: install under it, and leave it as it is. One that
# would let a service start is someone else's intent, which we neither override nor delete.
ours=
if [ -e "$policy" ]; then
  if grep -q 'shared-interface' "$policy" 2>/dev/null; then
    ours=yes # left behind by a run of ours that was killed: ours to replace and remove
  else
    rc=0
    "$policy" shared-interface-probe.service start >/dev/null 2>&1 || rc=$?
    [ "$rc" = 101 ] || die "$policy exists and lets services start (it answered $rc, not 101 for 'start'):" \
      "installing ${missing[*]} could start their services on this host. Make it answer 101" \
      "while the packages install (or move it aside), then run this again."
  fi
else
  ours=yes
fi
# Whatever ends this script (an error included) removes what it made: our policy-rc.d, apt's log.
log=
trap 'rm -f "$log"; [ -z "$ours" ] || rm -f "$policy"' EXIT
if [ -n "$ours" ]; then
  printf '#!/bin/sh\n# shared-interface: no service may start on the host while we install\nexit 101\n' >"$policy"
  chmod +x "$policy"
fi

export DEBIAN_FRONTEND=noninteractive
echo "$who: installing ${missing[*]}" >&2
log=$(mktemp)
install_quietly() {
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >"$log" 2>&1
}
# A fresh machine has no package lists, and old ones give 404s: refresh once and retry.
if ! install_quietly; then
  apt-get update -qq -o DPkg::Lock::Timeout=600 >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "apt-get update failed (above); check this machine's package sources and network, then run this again"; }
  install_quietly \
    || { tail -n 30 "$log" >&2; die "apt-get install ${missing[*]} failed (above); fix what apt says, then run this again"; }
fi
for spec in "$@"; do
  [ -e "${spec#*=}" ] || die "${spec#*=} is still missing after installing ${spec%%=*}"
done
