// SPDX-License-Identifier: GPL-2.0-or-later
// Our event script for busybox's udhcpc (busybox ships none): udhcpc runs it with the lease in the
// environment; it configures IPv4 on the device with ip(8).
// The lease's address gets the lease's lifetime, so it shows as dynamic and expires with the client.
// Only IPv4 is touched: static IPv6 addresses on the device stay.
export const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc event script of shared-interfaced (written by it; changes are overwritten).
# udhcpc passes the lease in the environment: interface, ip, mask, router, lease.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface" scope global
	ip link set dev "$interface" up
	;;
bound|renew)
	lft=\${lease:-forever}
	if [ "$1" = bound ]; then ip -4 addr flush dev "$interface" scope global; fi
	ip addr replace "$ip/\${mask:-32}" dev "$interface" valid_lft "$lft" preferred_lft "$lft" || exit 1
	for gw in $router; do
		ip route replace default via "$gw" dev "$interface"
		break
	done
	;;
esac
exit 0
`;
