#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs Debian's OpenSSH server and client, when missing, for labs that run an sshd
# (test/lab/lab-ssh.ts). sshd only ever runs inside a sealed lab, with a host key and an
# sshd_config of the lab's own; apt-install.sh forbids starting it during the install.
#
# The package also enables ssh.service on the host. Where this script is what brings sshd to the
# machine, it first creates /etc/ssh/sshd_not_to_be_run, the file Debian's ssh.service and init
# script check (ConditionPathExists=!), so the host never runs the sshd we installed for the labs,
# not even after a reboot. A machine that had sshd before keeps it exactly as it was.
# Fails loudly; never skips.
set -euo pipefail

die() { echo "ensure-ssh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (installs packages)"

if [ ! -e /usr/sbin/sshd ]; then
  mkdir -p /etc/ssh
  printf 'shared-interface: sshd is installed for sealed lab tests only; it must not run on this host\n' \
    >/etc/ssh/sshd_not_to_be_run
fi
bash "$(dirname "$0")/apt-install.sh" ensure-ssh \
  openssh-server=/usr/sbin/sshd openssh-client=/usr/bin/ssh openssh-client=/usr/bin/ssh-keygen

# sshd may only ever run inside a lab: one in this network namespace means something started it here.
host_net=$(readlink /proc/self/ns/net)
for pid in $(pgrep -x sshd || true); do
  if [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)" = "$host_net" ] && [ -e /etc/ssh/sshd_not_to_be_run ]; then
    die "sshd (pid $pid) runs in the host's network namespace although this script installed it for labs only"
  fi
done
