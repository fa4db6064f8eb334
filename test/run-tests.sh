#!/usr/bin/env bash
# `npm test`: installs what the lab needs, builds, and runs every test (unit and lab).
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/lab/ensure-lab-packages.sh
bash test/guest/build-guest.sh >/dev/null
[ -d node_modules ] || npm ci
npx tsc -p .
exec npx ava "$@"
