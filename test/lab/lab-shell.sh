#!/usr/bin/env bash
# Starts a sealed lab (see lab-init.sh) and runs a command inside it, or an interactive shell;
# the lab dies with this script. Usage: test/lab/lab-shell.sh [COMMAND...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/shared-interface-lab.XXXXXX")
mkdir -p "$dir/overlay"
export LAB_EXTRA_BUS_CONF="${LAB_EXTRA_BUS_CONF-<include>$here/../../dbus-services/org.fedoraproject.SharedInterface.conf</include>}"
export LAB_POLKIT_ACTIONS="${LAB_POLKIT_ACTIONS-$here/../../polkit}"
coproc LAB { exec unshare --net --mount --uts --ipc --pid --fork --kill-child --mount-proc bash "$here/lab-init.sh" "$dir" 2>>"$dir/unshare.log"; }
lab_unshare=$LAB_PID
cleanup() { kill -9 "$(cat /proc/$lab_unshare/task/$lab_unshare/children 2>/dev/null)" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 600); do [ -e "$dir/ready" ] || [ -e "$dir/failed" ] && break; sleep 0.1; done
[ -e "$dir/ready" ] || { echo "lab did not start:" >&2; cat "$dir/lab.log" "$dir/failed" >&2 2>/dev/null; exit 1; }
pid1=$(tr -d " " </proc/$lab_unshare/task/$lab_unshare/children)
echo "lab ready: dir $dir, pid $pid1" >&2
nsenter -t "$pid1" -a -- env TMPDIR=/tmp HOME=/root DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket "${@:-bash}"
