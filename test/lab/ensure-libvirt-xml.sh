#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the libvirt interface XML tests need (test/lab/libvirt-xml.test.ts): xmllint, to check our
# XML against libvirt's own schema, and that schema (interface.rng, shipped by libvirt0). libvirtd
# itself comes from test/guest/ensure-libvirt.sh.
set -euo pipefail
bash "$(dirname "$0")/apt-install.sh" libvirt-xml \
  libxml2-utils=/usr/bin/xmllint \
  libvirt0=/usr/share/libvirt/schemas/interface.rng
