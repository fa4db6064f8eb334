#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the lab guest (busybox sh, PID 1). Built into the initramfs by build-guest.sh.
#
# Kernel command line parameters (read from /proc/cmdline):
#   si.mode=lease|probe   lease (default): load NIC modules, DHCP, stay up, power off.
#                         probe: print GUEST-BOOTED and power off at once (accelerator probe).
#   si.uptime=SECONDS     how long to stay up (answering pings) after a lease; default 30.
#   si.dhcp_tries=N       DHCP discover attempts; default 10.
#   si.dhcp_timeout=S     seconds between attempts; default 2.
#   si.hostname=NAME      hostname sent in the DHCP request; default si-guest.
#   si.ping=ADDRESS       after the lease, ping ADDRESS (a host on the LAN) and report it.
#
# Lines printed on the console (ttyS0) for the host to read, each on its own line:
#   GUEST-BOOTED kernel=<release>
#   GUEST-LEASE mac=<mac> ip=<ip/prefix> router=<gw|none>
#   GUEST-PING <address> ok|failed      (with si.ping)
#   GUEST-NO-LEASE mac=<mac|none> reason=<word>
#   GUEST-POWEROFF
# PID 1 must never exit (that panics the kernel), so every path ends in poweroff -f.

PATH=/bin:/sbin
export PATH

say() {
	# The leading newline keeps the marker at the start of a line even when a
	# kernel message was printed without one.
	printf '\n%s\n' "$*"
}

power_off() {
	say "GUEST-POWEROFF"
	poweroff -f
	# Not reached; if it is, sleeping keeps PID 1 alive.
	while :; do sleep 3600; done
}

no_lease() {
	say "GUEST-NO-LEASE mac=${MAC:-none} reason=$1"
	sleep 1
	power_off
}

mkdir -p /proc /sys /dev /run /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

MODE=lease
UPTIME=30
DHCP_TRIES=10
DHCP_TIMEOUT=2
GUEST_HOSTNAME=si-guest
PING_ADDRESS=
# shellcheck disable=SC2013 # the command line is words, not lines
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	si.mode=*) MODE=${arg#si.mode=} ;;
	si.uptime=*) UPTIME=${arg#si.uptime=} ;;
	si.dhcp_tries=*) DHCP_TRIES=${arg#si.dhcp_tries=} ;;
	si.dhcp_timeout=*) DHCP_TIMEOUT=${arg#si.dhcp_timeout=} ;;
	si.hostname=*) GUEST_HOSTNAME=${arg#si.hostname=} ;;
	si.ping=*) PING_ADDRESS=${arg#si.ping=} ;;
	esac
done
hostname "$GUEST_HOSTNAME"

say "GUEST-BOOTED kernel=$(uname -r)"
[ "$MODE" = probe ] && power_off

# Modules in dependency order, as resolved by build-guest.sh (built-ins are absent).
if [ -f /etc/modules.list ]; then
	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "/lib/modules/$mod.ko" || no_lease "insmod-$mod"
	done < /etc/modules.list
fi

# The first non-loopback interface is the virtio NIC; probing is asynchronous.
IFACE=
i=0
while [ $i -lt 100 ]; do
	for dev in /sys/class/net/*; do
		name=${dev##*/}
		[ "$name" = lo ] || [ ! -e "$dev" ] || { IFACE=$name; break; }
	done
	[ -n "$IFACE" ] && break
	sleep 0.1
	i=$((i + 1))
done
[ -n "$IFACE" ] || no_lease no-interface
MAC=$(cat "/sys/class/net/$IFACE/address")

ip link set lo up
ip link set "$IFACE" up || no_lease link-up-failed

rm -f /run/lease
udhcpc -i "$IFACE" -f -q -n -t "$DHCP_TRIES" -T "$DHCP_TIMEOUT" \
	-x "hostname:$GUEST_HOSTNAME" -s /etc/udhcpc.script || no_lease dhcp-timeout
[ -s /run/lease ] || no_lease no-address-applied
# shellcheck disable=SC1091 # written by guest-udhcpc.sh at run time
. /run/lease

say "GUEST-LEASE mac=$MAC ip=$LEASE_IP/$LEASE_PREFIX router=${LEASE_ROUTER:-none}"

if [ -n "$PING_ADDRESS" ]; then
	if ping -c 3 -W 2 "$PING_ADDRESS" >/dev/null 2>&1; then
		say "GUEST-PING $PING_ADDRESS ok"
	else
		say "GUEST-PING $PING_ADDRESS failed"
	fi
fi

# The kernel answers ICMP echo by itself; nothing to do but wait.
sleep "$UPTIME"
power_off
