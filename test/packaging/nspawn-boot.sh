#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boots this machine's own systemd in a throwaway container, INSIDE a lab (run by lab.spawn):
#   nspawn-boot.sh NAME BINDDIR
# The container shares the lab's network namespace (never the host's), its root is a tmpfs with
# this machine's /usr under a tmpfs overlay (--volatile=yes, --overlay): nothing it writes
# outlives it. BINDDIR appears read-only at /run/si-pkg inside it.
#
# systemd needs a cgroup tree of its own: the lab's /sys has none mounted, and the host's is a v1
# hybrid that systemd-nspawn 252 cannot use from here. So: the unified (v2) hierarchy mounted in
# the lab's mount namespace, a cgroup NAME for the container (removed by the test afterwards),
# and a cgroup and pid namespace rooted there, where nspawn sees a whole unified tree and is PID 1
# (systemd reads its root cgroup from /proc/1/cgroup). nspawn keeps CAP_NET_ADMIN only for a network
# of the container's own: this one is the lab's, so it is granted (without it NetworkManager, and
# every service, gets EPERM from netlink and nftables).
set -euo pipefail
name=$1 binddir=$2
cg=/sys/fs/cgroup
[ "$(stat -fc %T $cg)" = cgroup2fs ] || mount -t cgroup2 lab-cgroup2 $cg
mkdir $cg/"$name"
echo $$ >$cg/"$name"/cgroup.procs
# systemd.unit=basic.target: only journald, the bus and what we ask for (not every service this
# machine happens to have installed); NetworkManager owns the network; systemd-networkd, which
# would fight it, is masked.
exec unshare --cgroup --mount --pid --fork --mount-proc bash -c '
  umount /sys/fs/cgroup
  mount -t cgroup2 lab-cgroup2 /sys/fs/cgroup
  exec systemd-nspawn -D / --volatile=yes --overlay=/usr::/usr --register=no --keep-unit \
    --network-namespace-path=/proc/self/ns/net --capability=CAP_NET_ADMIN \
    --bind-ro="$1":/run/si-pkg --quiet -b -- \
    systemd.firstboot=off systemd.unit=basic.target systemd.wants=NetworkManager.service \
    systemd.mask=systemd-networkd.service systemd.mask=systemd-networkd.socket \
    systemd.mask=systemd-networkd-wait-online.service systemd.show_status=no
' nspawn "$binddir"
