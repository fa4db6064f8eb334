#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Self-check of the lab guest, runnable on its own as root:
#   bash test/guest/selfcheck.sh [--cold] [--no-ts]
# 1. builds the guest (build-guest.sh; --cold drops the cached build first, keeps the .debs);
# 2. in a private set of namespaces (unshare), makes bridge br0 192.0.2.1/24 with dnsmasq;
# 3. shell phase: boots the guest on tap0 with plain qemu, checks the GUEST-LEASE line, the
#    dnsmasq lease file, ping, and the power-off;
# 4. TypeScript phase (unless --no-ts or no tsc): compiles guest.ts and selfcheck-driver.ts to a
#    temporary folder and runs them from the host, entering the lab with nsenter.
# Nothing touches the host's own network namespace.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COLD=0
TS=1
for arg in "$@"; do
	case "$arg" in
	--cold) COLD=1 ;;
	--no-ts) TS=0 ;;
	*)
		echo "usage: $0 [--cold] [--no-ts]" >&2
		exit 2
		;;
	esac
done

[[ $(id -u) -eq 0 ]] || {
	echo "selfcheck: must run as root" >&2
	exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }

# Lab tools (build-guest.sh installs qemu and cpio).
need=()
for p in dnsmasq-base iproute2 iputils-ping util-linux procps; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] || need+=("$p")
done
if [[ ${#need[@]} -gt 0 ]]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

CACHE_DIR=${SI_GUEST_CACHE_DIR:-/var/cache/shared-interface-guest}
if [[ $COLD -eq 1 ]]; then
	rm -rf "$CACHE_DIR/builds"
fi
t0=$(now)
eval "$(bash "$HERE/build-guest.sh")"
echo "selfcheck: build-guest.sh took $(elapsed "$t0") (KERNEL=$KERNEL)"
: "${KERNEL:?}" "${INITRD:?}"

WORK=$(mktemp -d /tmp/si-guest-selfcheck.XXXXXX)
LAB_PID=
cleanup() {
	# The lab's namespaces die with its first process (--kill-child ends the rest).
	[[ -n $LAB_PID ]] && kill "$LAB_PID" 2>/dev/null && wait "$LAB_PID" 2>/dev/null
	if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "selfcheck: logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Runs as PID 1 of the lab namespaces; expanded there, not here.
# shellcheck disable=SC2016
LAB_SCRIPT='
set -euo pipefail
fail() { echo "lab: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" "BEGIN { printf \"%.2f s\", b - a }"; }
ip link set lo up
ip link add br0 type bridge
ip addr add 192.0.2.1/24 dev br0
ip link set br0 up
ip link add br1 type bridge   # no DHCP here: the TypeScript phase checks GUEST-NO-LEASE on it
ip link set br1 up
ip tuntap add dev tap0 mode tap
ip link set tap0 master br0 up
dnsmasq --no-daemon --conf-file=/dev/null --interface=br0 --bind-interfaces \
	--dhcp-range=192.0.2.50,192.0.2.99,1h --dhcp-leasefile="$WORK/leases" --pid-file="$WORK/dnsmasq.pid" \
	>"$WORK/dnsmasq.log" 2>&1 &
DNSMASQ=$!
# --no-daemon is debug mode: dnsmasq writes no pid file then; wait for its DHCP socket instead.
for _ in $(seq 50); do grep -q "sockets bound" "$WORK/dnsmasq.log" && break; sleep 0.1; done
kill -0 $DNSMASQ && grep -q "sockets bound" "$WORK/dnsmasq.log" ||
	fail "dnsmasq did not start: $(cat "$WORK/dnsmasq.log")"

MAC=52:54:00:5e:00:01
UPTIME=8
ACCEL=${SI_GUEST_ACCEL:-tcg}
t0=$(now)
setpriv --pdeathsig KILL -- qemu-system-x86_64 -nodefaults -no-user-config -nographic -serial stdio \
	-accel "$ACCEL" $([[ $ACCEL == kvm ]] && echo -cpu host) -smp 1 -m 256 -no-reboot \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 quiet panic=-1 si.uptime=$UPTIME" \
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
	-device "virtio-net-pci,netdev=n0,mac=$MAC,romfile=" \
	</dev/null >"$WORK/sh-guest.log" 2>&1 &
QEMU=$!
line=
for _ in $(seq 1200); do
	line=$(tr -d "\r" <"$WORK/sh-guest.log" | grep -E "^GUEST-(NO-)?LEASE " || true)
	[[ -n $line ]] && break
	kill -0 $QEMU 2>/dev/null || break
	sleep 0.1
done
echo "lab: $line (after $(elapsed "$t0"))"
[[ $line =~ ^GUEST-LEASE\ mac=$MAC\ ip=192\.0\.2\.([0-9]+)/24\ router=192\.0\.2\.1$ ]] ||
	fail "no lease line; console:$(echo; tail -n 20 "$WORK/sh-guest.log")"
IP=192.0.2.${BASH_REMATCH[1]}
grep -qi "$MAC" "$WORK/leases" || fail "$MAC not in the dnsmasq lease file: $(cat "$WORK/leases")"
echo "lab: lease file: $(cat "$WORK/leases")"
ping -c 3 -i 0.3 -W 2 "$IP" >"$WORK/ping.log" || fail "ping $IP failed: $(cat "$WORK/ping.log")"
echo "lab: ping $IP ok ($(tail -n 1 "$WORK/ping.log"))"
timeout $((UPTIME + 60)) tail --pid=$QEMU -f /dev/null || fail "guest did not power off"
wait $QEMU || fail "qemu exited with $?"
grep -q "^GUEST-POWEROFF" <(tr -d "\r" <"$WORK/sh-guest.log") || fail "no GUEST-POWEROFF line"
echo "lab: guest powered off after $(elapsed "$t0")"
echo "lab: SHELL-PHASE-PASS"

# Stay up for the TypeScript phase, which enters with nsenter.
touch "$WORK/lab-ready"
while [[ ! -e $WORK/lab-done ]]; do sleep 0.2; done
'

export WORK KERNEL INITRD
unshare --net --mount --uts --ipc --pid --fork --kill-child bash -c "$LAB_SCRIPT" &
LAB_PID=$!

# Wait for the shell phase; the lab exits early on failure.
while [[ ! -e $WORK/lab-ready ]]; do
	if ! kill -0 "$LAB_PID" 2>/dev/null; then
		wait "$LAB_PID" || true
		LAB_PID=
		echo "selfcheck: FAIL (shell phase)"
		exit 1
	fi
	sleep 0.2
done

if [[ $TS -eq 1 ]]; then
	TSC=$ROOT/node_modules/.bin/tsc
	if [[ ! -x $TSC ]] || ! command -v node >/dev/null; then
		echo "selfcheck: FAIL: TypeScript phase needs node and $TSC (npm ci), or pass --no-ts" >&2
		exit 1
	fi
	cat >"$WORK/tsconfig.json" <<-EOF
		{
		  "extends": "$ROOT/tsconfig.json",
		  "compilerOptions": { "rootDir": "$HERE", "outDir": "$WORK/js", "sourceMap": false, "types": ["node"], "typeRoots": ["$ROOT/node_modules/@types"] },
		  "files": ["$HERE/guest.ts", "$HERE/selfcheck-driver.ts"],
		  "include": []
		}
	EOF
	"$TSC" -p "$WORK/tsconfig.json"
	# The lab's first process, as seen from the host: unshare's only child.
	lab_init=$(cat "/proc/$LAB_PID/task/$LAB_PID/children")
	SI_GUEST_DIR=$HERE node "$WORK/js/selfcheck-driver.js" "${lab_init// /}" "$WORK/leases" "$WORK"
fi

touch "$WORK/lab-done"
wait "$LAB_PID"
LAB_PID=
echo "selfcheck: PASS"
