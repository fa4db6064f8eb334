#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Starts a sealed lab (test/lab/lab.ts, whose PID 1 is lab-init.sh) and runs a command inside it,
# or an interactive shell; the lab dies with it. Usage: test/lab/lab-shell.sh [COMMAND...]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d node_modules ] || npm ci >&2
npx tsc -p . >&2
exec node dist/test/lab/lab-shell.js "$@"
