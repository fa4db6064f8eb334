#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# PID 1 of a sealed lab. Started by lab.ts (or lab-shell.sh) as
#   unshare --net --mount --uts --ipc --pid --fork --kill-child --mount-proc lab-init.sh DIR
# Everything below happens in namespaces of our own: the host's network, /run, resolv.conf,
# hostname and NetworkManager state are never touched. When this process dies, the kernel kills
# every daemon in the pid namespace and the network namespace (with its devices) goes away.
#
# Environment (all optional):
#   LAB_NM=0          do not start NetworkManager (the ifcfg fallback's lab)
#   LAB_NIC_PROFILE   dhcp (default) | dhcp4 | static | none: the profile NM gets for eth0 (dhcp4:
#                     DHCP with ipv6.method disabled, an IPv4-only host)
#   LAB_OVERLAY=1     overlay /usr, /etc and /var on a tmpfs, so tests may `make install` into them
#   LAB_POLKIT_ACTIONS  a directory whose *.policy files polkit in the lab should know (empty: none)
#   LAB_EXTRA_BUS_CONF  XML added to the lab bus's configuration (our bus policy's <include>)
#   LAB_LAN=external  no LAN of the lab's own: eth0's peer stays in the lab's namespace as lan0,
#                     down, for lab-fleet.ts to move onto a shared LAN; NM's eth0 profile (dhcp
#                     only) is added but not awaited: it connects once the peer is plugged in
#   LAB_MAC           eth0's MAC (default 52:54:00:12:34:56; labs on one LAN need their own)
#   LAB_HOSTNAME      the lab's hostname (default lab)
set -euo pipefail

dir=$1
log() { printf '%s lab: %s\n' "$(date +%T.%3N)" "$*" >>"$dir/lab.log"; }
fail() { log "FAILED: $*"; echo "$*" >"$dir/failed"; exit 1; }
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

[ "$$" = 1 ] || fail "lab-init.sh must run as PID 1 of a new pid namespace"

# 1. Mounts: private propagation first, so nothing we mount is seen by the host.
mount --make-rprivate /
mount -t tmpfs -o mode=0755 lab-run /run
mkdir -p /run/dbus /run/NetworkManager /run/netns /run/lock /run/user
if [ "${LAB_OVERLAY:-0}" = 1 ]; then
  mount -t tmpfs -o mode=0755 lab-overlay "$dir/overlay"
  for top in usr etc var; do
    mkdir -p "$dir/overlay/$top.upper" "$dir/overlay/$top.work"
    mount -t overlay "lab-$top" \
      -o "lowerdir=/$top,upperdir=$dir/overlay/$top.upper,workdir=$dir/overlay/$top.work" "/$top"
  done
fi
mount -t tmpfs -o mode=0755 lab-nm-etc /etc/NetworkManager
mount -t tmpfs -o mode=0700 lab-nm-var /var/lib/NetworkManager
mkdir -p /etc/NetworkManager/system-connections /etc/NetworkManager/conf.d
: >"$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf
# A sysfs of this network namespace, read-only: NM then knows it runs in a container and does
# not wait for udev to announce devices.
mount -t sysfs -o ro lab-sysfs /sys
# Our own /tmp: what runs inside must not share files with the host's /tmp by accident. The lab
# directory (often under the host's /tmp) and the project's own checkout (wherever it was cloned,
# /tmp included) stay reachable at the same paths: outer path first, so one inside the other works.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
keep=()
while read -r path; do keep+=("$path"); done < <(printf '%s\n' "$repo" "$dir" | awk '{ print length, $0 }' | sort -n | cut -d' ' -f2-)
for i in "${!keep[@]}"; do mkdir -p "/run/lab-keep/$i"; mount --bind "${keep[$i]}" "/run/lab-keep/$i"; done
mount -t tmpfs -o mode=1777 lab-tmp /tmp
for i in "${!keep[@]}"; do mkdir -p "${keep[$i]}"; mount --bind "/run/lab-keep/$i" "${keep[$i]}"; done
hostname "${LAB_HOSTNAME:-lab}"

# polkit reads actions only from /usr/share/polkit-1/actions: give the lab a copy with ours in it.
# With the overlay the file goes where `make install` would put it (and may be replaced by it).
if [ -n "${LAB_POLKIT_ACTIONS:-}" ] && [ "${LAB_OVERLAY:-0}" = 1 ]; then
  cp "$LAB_POLKIT_ACTIONS"/*.policy /usr/share/polkit-1/actions/
elif [ -n "${LAB_POLKIT_ACTIONS:-}" ]; then
  mkdir -p /run/lab-polkit-actions
  cp -a /usr/share/polkit-1/actions/. "$LAB_POLKIT_ACTIONS"/*.policy /run/lab-polkit-actions/
  mount --bind /run/lab-polkit-actions /usr/share/polkit-1/actions
fi

# 2. The LAN: a second network namespace with a DHCP server and a "router" at 192.0.2.1,
# reached through a veth whose lab end is the NIC to share, eth0.
ip link set lo up
lan=${LAB_LAN:-own}
if [ "$lan" = external ]; then
  ip link add eth0 address "${LAB_MAC:-52:54:00:12:34:56}" type veth peer name lan0
else
  ip netns add lan
  ip link add eth0 address "${LAB_MAC:-52:54:00:12:34:56}" type veth peer name lan0 netns lan
  ip -n lan link set lo up
  ip -n lan link add lanbr type bridge stp_state 0 forward_delay 0
  ip -n lan link set lan0 master lanbr up
  ip -n lan addr add 192.0.2.1/24 dev lanbr
  ip -n lan addr add 2001:db8::1/64 dev lanbr nodad
  ip -n lan link set lanbr up
  ip netns exec lan dnsmasq --keep-in-foreground --conf-file=/dev/null --bind-interfaces \
    --interface=lanbr --except-interface=lo --port=0 \
    --dhcp-range=192.0.2.100,192.0.2.199,255.255.255.0,1h --dhcp-option=option:router,192.0.2.1 \
    --enable-ra --dhcp-range=::,constructor:lanbr,ra-only,64,1h \
    --dhcp-leasefile="$dir/dnsmasq.leases" --dhcp-authoritative \
    --pid-file="$dir/dnsmasq.pid" --log-facility="$dir/dnsmasq.log" --log-dhcp &
fi

# 3. A private system bus. Debian's own system.conf (policies from system.d, activation through
# the setuid helper), plus a second socket in DIR so the test process outside can connect too.
# The configuration lives in /run, not DIR (mode 0700): dbus-daemon rereads it as messagebus on
# ReloadConfig, which is how a test's `make install` of a bus policy takes effect.
cat >/run/dbus/lab-system-bus.conf <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <include>/usr/share/dbus-1/system.conf</include>
  <listen>unix:path=$dir/system_bus_socket</listen>
  ${LAB_EXTRA_BUS_CONF:-}
</busconfig>
EOF
dbus-daemon --config-file=/run/dbus/lab-system-bus.conf --nofork --nopidfile >>"$dir/dbus.log" 2>&1 &
# It opens its sockets one after the other: wait for both.
for _ in $(seq 200); do [ -S /run/dbus/system_bus_socket ] && [ -S "$dir/system_bus_socket" ] && break; sleep 0.05; done
[ -S /run/dbus/system_bus_socket ] && [ -S "$dir/system_bus_socket" ] || fail "dbus-daemon did not start (see dbus.log)"
chmod 0666 "$dir/system_bus_socket"

# 4. NetworkManager, configured so it cannot touch anything but this lab.
cat >/etc/NetworkManager/NetworkManager.conf <<'EOF'
[main]
plugins=keyfile
dns=none
rc-manager=unmanaged
hostname-mode=none
no-auto-default=*
auth-polkit=false

[logging]
level=INFO
domains=DEFAULT,CORE:INFO

[connectivity]
enabled=false
EOF
start_nm() {
  NetworkManager --no-daemon >>"$dir/nm.log" 2>&1 &
  echo $! >"$dir/nm.pid"
  nm-online -s -q -t 30 || fail "NetworkManager did not finish starting (see nm.log)"
}
if [ "${LAB_NM:-1}" = 1 ]; then
  start_nm
  case "${LAB_NIC_PROFILE:-dhcp}" in
    dhcp|dhcp4)
      if [ "${LAB_NIC_PROFILE:-dhcp}" = dhcp4 ]; then ipv6=(ipv6.method disabled); else ipv6=(ipv6.method auto ipv6.addr-gen-mode eui64); fi
      nmcli connection add type ethernet ifname eth0 con-name "Wired eth0" ipv4.method auto "${ipv6[@]}" >/dev/null
      # Without a LAN of its own, NM connects the profile by itself once eth0 has a carrier
      # (lab-fleet.ts plugs its peer into the fleet's LAN).
      if [ "$lan" != external ]; then
        nmcli --wait 30 connection up "Wired eth0" >/dev/null
        # Activation may complete on IPv6 (router advertisements) before the DHCPv4 lease.
        for _ in $(seq 150); do ip -4 addr show dev eth0 | grep -q inet && break; sleep 0.1; done
        ip -4 addr show dev eth0 | grep -q inet || fail "eth0 got no DHCP lease"
      fi ;;
    static)
      nmcli connection add type ethernet ifname eth0 con-name "Wired eth0" \
        ipv4.method manual ipv4.addresses 192.0.2.10/24 ipv4.gateway 192.0.2.1 \
        ipv4.dns 192.0.2.53 ipv4.dns-search lab.example \
        ipv4.routes "198.51.100.0/24 192.0.2.254" \
        ipv6.method manual ipv6.addresses 2001:db8::10/64 ipv6.addr-gen-mode eui64 >/dev/null
      nmcli --wait 30 connection up "Wired eth0" >/dev/null ;;
    none) ip link set eth0 up ;;
  esac
else
  ip link set eth0 up
fi

log "ready"
echo ready >"$dir/ready"
# PID 1 lives until the test kills it or closes our stdin (the test process died); its death
# ends the whole lab. bash reaps the daemons' zombies meanwhile.
trap - ERR
while :; do
  read -r -t 1 _ && continue
  [ $? -gt 128 ] || exit 0
done
