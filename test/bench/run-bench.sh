#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `npm run bench`: installs what the lab needs, builds, and runs the benchmark (prints Markdown).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/lab/ensure-lab-packages.sh
[ -d node_modules ] || npm ci
npm run build --silent
exec node dist/test/bench/bench.js
