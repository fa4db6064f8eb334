#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `npm test`: installs what the lab needs, builds, and runs every test (unit and lab).
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/lab/ensure-lab-packages.sh
bash test/lab/ensure-firewall-packages.sh
bash test/packaging/ensure-packaging-tools.sh
bash test/guest/build-guest.sh >/dev/null
bash test/guest/ensure-libvirt.sh
bash test/lab/ensure-libvirt-xml.sh
bash test/lab/ensure-remote.sh
bash test/ansible/ensure-ansible.sh
bash test/browser/ensure-browser-packages.sh
[ -d node_modules ] || npm ci
npx tsc -p .
# The bundles, man pages and completion, once: the tests' own `make install`s then find them built.
make --no-print-directory -s all
npm run --silent build:page
# Once here, not in each parallel test worker: KVM when a short boot proves it works, else TCG.
SI_GUEST_ACCEL=${SI_GUEST_ACCEL:-$(node dist/test/guest/probe-accel.js)}
export SI_GUEST_ACCEL
exec npx ava "$@"
