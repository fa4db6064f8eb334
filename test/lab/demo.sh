#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `npm run demo`: the main job on the built-in lab (test/lab/demo.ts narrates it). Installs what the
# lab and the guest need from Debian's packages when missing, builds the guest (cached after the
# first run) and the TypeScript, then runs the demo. Fails loudly (not root, no namespaces, no
# packages); the lab is torn down whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/lab/ensure-lab-packages.sh
echo "demo: preparing the guest (built from Debian's packages on the first run, then cached)" >&2
bash test/guest/build-guest.sh >/dev/null
[ -d node_modules ] || npm ci
npx tsc -p .
exec node dist/test/lab/demo.js
