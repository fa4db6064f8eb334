#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# udhcpc event script of the lab guest (installed as /etc/udhcpc.script).
# busybox udhcpc passes the lease in the environment: $interface, $ip, $mask
# (prefix length), $router (space-separated list).
# On bound/renew it applies the address and default route, then records the
# lease in /run/lease for /init to report.
# shellcheck disable=SC2154 # interface, ip, mask, broadcast, router come from udhcpc

case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-32}" ${broadcast:+broadcast "$broadcast"} dev "$interface" || exit 1
	gw=
	for r in $router; do
		gw=$r
		break
	done
	if [ -n "$gw" ]; then
		ip route replace default via "$gw" dev "$interface"
	fi
	{
		echo "LEASE_IP=$ip"
		echo "LEASE_PREFIX=${mask:-32}"
		echo "LEASE_ROUTER=$gw"
	} > /run/lease.tmp && mv /run/lease.tmp /run/lease
	;;
leasefail | nak)
	;;
esac
exit 0
