#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `npm run bench`: installs what the lab needs, builds, and runs the benchmark (prints Markdown).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/lab/ensure-lab-packages.sh
# scdoc: `make install` (the installed CLI and daemon the bench measures) builds the man pages.
bash test/lab/apt-install.sh bench scdoc=/usr/bin/scdoc
[ -d node_modules ] || npm ci
npm run build --silent
# The bundles `make install` installs, built from this build (an older one is not rebuilt there).
make --no-print-directory -s all
exec node dist/test/bench/bench.js
