#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the firewalls the firewall lab tests run inside the lab, from Debian's packages, when
# missing: iptables (both its nft and legacy backends), nftables, and firewalld. Nothing is
# started on the host (apt-install.sh's policy-rc.d), and the host's rules are never touched:
# every rule the tests make lives in a lab's own network namespace.
set -euo pipefail
bash "$(dirname "$0")/apt-install.sh" firewall \
  iptables=/usr/sbin/iptables-nft iptables=/usr/sbin/iptables-legacy \
  nftables=/usr/sbin/nft \
  firewalld=/usr/sbin/firewalld
