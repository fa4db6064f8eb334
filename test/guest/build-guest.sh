#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the lab guest (kernel + initramfs) from Debian packages, or reuses the cached build.
#
# Prints on stdout, and nothing else:
#   KERNEL=<path to bzImage>
#   INITRD=<path to initramfs>
#   KERNEL_RELEASE=<uname -r of the guest>
# Progress and errors go to stderr; any problem exits non-zero with a message.
#
# The guest is linux-image-cloud-amd64's kernel, the virtio NIC modules it needs
# (resolved from the modules' own depends=, built-ins skipped), busybox-static and
# guest-init.sh as /init. The .debs are unpacked, never installed: installing a
# kernel would run initramfs/bootloader hooks on the host, and busybox-static
# conflicts with the busybox package.
#
# Cache: $SI_GUEST_CACHE_DIR (default /var/cache/shared-interface-guest), keyed by
# the kernel and busybox package versions and a hash of the build inputs.
# Must run as root (apt-get, mknod).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${SI_GUEST_CACHE_DIR:-/var/cache/shared-interface-guest}
KERNEL_META=linux-image-cloud-amd64
BUSYBOX_PKG=busybox-static
# Modules the guest needs; any of them may be built into the kernel.
WANTED_MODULES=(virtio_pci virtio_net af_packet)
# Host tools: qemu to run the guest, cpio to pack it.
HOST_PACKAGES=(qemu-system-x86 cpio gzip)

log() { echo "build-guest: $*" >&2; }
die() {
	echo "build-guest: ERROR: $*" >&2
	exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, creates device nodes)"

# apt_quietly CMD...: runs an apt command; its output is shown only when it fails.
# Waits for the dpkg lock, which a parallel test run may hold.
apt_quietly() {
	local out rc=0
	out=$(mktemp)
	DEBIAN_FRONTEND=noninteractive "$@" -o DPkg::Lock::Timeout=300 >"$out" 2>&1 || rc=$?
	[[ $rc -eq 0 ]] || tail -n 30 "$out" >&2
	rm -f "$out"
	return "$rc"
}

APT_UPDATED=0
apt_update_once() {
	[[ $APT_UPDATED -eq 1 ]] && return 0
	log "apt-get update"
	apt_quietly apt-get update || die "apt-get update failed"
	APT_UPDATED=1
}

# candidate_version PKG: the version apt would install, empty if unknown.
candidate_version() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$' || true
}

# ensure_packages PKG...: install those not installed yet (no recommends).
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
			missing+=("$p")
		fi
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	for p in "${missing[@]}"; do
		[[ -n $(candidate_version "$p") ]] || apt_update_once
	done
	log "installing ${missing[*]}"
	if ! apt_quietly apt-get install -y --no-install-recommends "${missing[@]}"; then
		# Stale package lists give 404s; refresh once and retry.
		[[ $APT_UPDATED -eq 1 ]] && die "apt-get install ${missing[*]} failed"
		apt_update_once
		apt_quietly apt-get install -y --no-install-recommends "${missing[@]}" ||
			die "apt-get install ${missing[*]} failed"
	fi
}

# resolve_versions: sets KERNEL_PKG, KERNEL_VER, BUSYBOX_VER from the package lists.
# One apt-cache call: on Debian's container images apt keeps no binary cache, so
# each call re-reads the lists (~0.5 s), which is most of a cached run's time.
resolve_versions() {
	local info
	if ! info=$(apt-cache show --no-all-versions "$KERNEL_META" "$BUSYBOX_PKG" 2>/dev/null); then
		apt_update_once
		info=$(apt-cache show --no-all-versions "$KERNEL_META" "$BUSYBOX_PKG" 2>/dev/null) ||
			die "apt-cache knows no $KERNEL_META or $BUSYBOX_PKG (is a Debian main source configured?)"
	fi
	# The meta package pins the ABI package: "Depends: linux-image-6.1.0-NN-cloud-amd64 (= V)".
	read -r KERNEL_PKG KERNEL_VER BUSYBOX_VER < <(awk -v meta="$KERNEL_META" -v bb="$BUSYBOX_PKG" '
		/^Package: / { pkg = $2 }
		/^Version: / && pkg == bb { bbver = $2 }
		/^Depends: / && pkg == meta {
			if (match($0, /linux-image-[^ ,()]+ \(= [^)]+\)/)) {
				split(substr($0, RSTART, RLENGTH), f, /[ ()=]+/)
				kpkg = f[1]; kver = f[2]
			}
		}
		END { print kpkg, kver, bbver }' <<<"$info")
	[[ -n $KERNEL_PKG && -n $KERNEL_VER ]] || die "cannot resolve the kernel package pinned by $KERNEL_META"
	[[ -n $BUSYBOX_VER ]] || die "no installable version of $BUSYBOX_PKG"
}

# fetch_deb PKG VERSION: path of the .deb in the cache, downloading it if needed.
fetch_deb() {
	local pkg=$1 ver=$2 dir deb
	dir="$CACHE_DIR/debs/$pkg/${ver//[^A-Za-z0-9._+~-]/_}"
	deb=$(find "$dir" -maxdepth 1 -name '*.deb' 2>/dev/null | head -n1 || true)
	if [[ -n $deb && $(dpkg-deb -f "$deb" Version 2>/dev/null || true) == "$ver" ]]; then
		touch "$dir"
		echo "$deb"
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	log "downloading $pkg=$ver"
	# Root downloads into a root-owned folder; the _apt sandbox could not write there.
	(cd "$dir" && apt_quietly apt-get -o APT::Sandbox::User=root download "$pkg=$ver") ||
		die "apt-get download $pkg=$ver failed"
	deb=$(find "$dir" -maxdepth 1 -name '*.deb' | head -n1)
	[[ -n $deb ]] || die "apt-get download $pkg=$ver left no .deb in $dir"
	echo "$deb"
}

# decompress_module SRC DEST: copy a module, decompressing .ko.xz/.ko.zst/.ko.gz
# (busybox insmod only loads plain ELF).
decompress_module() {
	case "$1" in
	*.ko) cp "$1" "$2" ;;
	*.ko.xz)
		ensure_packages xz-utils
		xz -dc "$1" >"$2"
		;;
	*.ko.zst)
		ensure_packages zstd
		zstd -qdc "$1" >"$2"
		;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) die "unknown module format: $1" ;;
	esac
}

# module_name PATH: kernel/drivers/net/virtio_net.ko.xz -> virtio_net
module_name() {
	local n=${1##*/}
	n=${n%%.ko*}
	echo "${n//-/_}"
}

# resolve_module NAME: appends NAME's dependencies and then NAME to MODULE_ORDER,
# copying each .ko into $INITRD_ROOT/lib/modules. Built-ins are skipped.
declare -A MODULE_PATH=() MODULE_BUILTIN=() MODULE_SEEN=()
MODULE_ORDER=()
resolve_module() {
	local name=$1 dest deps dep
	[[ -n ${MODULE_SEEN[$name]:-} ]] && return 0
	MODULE_SEEN[$name]=1
	[[ -n ${MODULE_BUILTIN[$name]:-} ]] && return 0
	[[ -n ${MODULE_PATH[$name]:-} ]] || die "module $name is neither built into $KERNEL_RELEASE nor shipped as a module"
	dest="$INITRD_ROOT/lib/modules/$name.ko"
	decompress_module "${MODULE_PATH[$name]}" "$dest"
	# .modinfo holds NUL-separated key=value strings; depends= lists module names.
	deps=$(tr '\0' '\n' <"$dest" | awk '/^depends=/ && !seen { seen = 1; print substr($0, 9) }')
	for dep in ${deps//,/ }; do
		resolve_module "${dep//-/_}"
	done
	MODULE_ORDER+=("$name")
}

build() {
	local work=$1 kdeb=$2 bbdeb=$3 out=$4 moddir f
	log "unpacking $(basename "$kdeb")"
	dpkg-deb -x "$kdeb" "$work/kernel"
	dpkg-deb -x "$bbdeb" "$work/busybox"

	moddir=$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d)
	[[ $(wc -l <<<"$moddir") -eq 1 && -n $moddir ]] || die "expected one module tree in $kdeb, found: $moddir"
	KERNEL_RELEASE=${moddir##*/}
	[[ -f $work/kernel/boot/vmlinuz-$KERNEL_RELEASE ]] || die "$kdeb has no boot/vmlinuz-$KERNEL_RELEASE"

	while IFS= read -r f; do
		MODULE_BUILTIN[$(module_name "$f")]=1
	done <"$moddir/modules.builtin"
	while IFS= read -r f; do
		MODULE_PATH[$(module_name "$f")]=$f
	done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')

	INITRD_ROOT=$work/root
	mkdir -p "$INITRD_ROOT"/{bin,sbin,etc,lib/modules,proc,sys,dev,run,tmp,root}
	local m
	for m in "${WANTED_MODULES[@]}"; do
		resolve_module "$m"
	done
	printf '%s\n' "${MODULE_ORDER[@]}" >"$INITRD_ROOT/etc/modules.list"
	log "guest $KERNEL_RELEASE loads modules: ${MODULE_ORDER[*]:-(none, all built in)}"

	install -m 0755 "$work/busybox/bin/busybox" "$INITRD_ROOT/bin/busybox"
	local applet
	while IFS= read -r applet; do
		# --list-full prints e.g. "sbin/ip", "usr/bin/awk"; the guest has no /usr.
		applet=${applet#usr/}
		[[ $applet == bin/busybox ]] && continue
		ln -sf /bin/busybox "$INITRD_ROOT/$applet"
	done < <("$INITRD_ROOT/bin/busybox" --list-full)
	for applet in sh insmod ip udhcpc poweroff sleep mount hostname cat ping; do
		[[ -L $INITRD_ROOT/bin/$applet || -L $INITRD_ROOT/sbin/$applet ]] || die "busybox lacks the $applet applet"
	done

	install -m 0755 "$HERE/guest-init.sh" "$INITRD_ROOT/init"
	install -m 0755 "$HERE/guest-udhcpc.sh" "$INITRD_ROOT/etc/udhcpc.script"
	mknod -m 0600 "$INITRD_ROOT/dev/console" c 5 1
	mknod -m 0666 "$INITRD_ROOT/dev/null" c 1 3

	mkdir -p "$out"
	cp "$work/kernel/boot/vmlinuz-$KERNEL_RELEASE" "$out/vmlinuz"
	(cd "$INITRD_ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
		gzip -n -6 >"$out/initrd.img"
	echo "$KERNEL_RELEASE" >"$out/kernel-release"
	{
		echo "kernel_package=$KERNEL_PKG=$KERNEL_VER"
		echo "busybox_package=$BUSYBOX_PKG=$BUSYBOX_VER"
		echo "kernel_release=$KERNEL_RELEASE"
		echo "modules=${MODULE_ORDER[*]}"
	} >"$out/manifest"
}

print_result() {
	echo "KERNEL=$1/vmlinuz"
	echo "INITRD=$1/initrd.img"
	echo "KERNEL_RELEASE=$(cat "$1/kernel-release")"
}

main() {
	ensure_packages "${HOST_PACKAGES[@]}"
	resolve_versions

	local inputs_hash key final
	inputs_hash=$(cat "$HERE/build-guest.sh" "$HERE/guest-init.sh" "$HERE/guest-udhcpc.sh" | sha256sum | cut -c1-16)
	key="${KERNEL_PKG}_${KERNEL_VER}_busybox_${BUSYBOX_VER}_${inputs_hash}"
	key=${key//[^A-Za-z0-9._+~-]/_}
	final="$CACHE_DIR/builds/$key"

	if [[ -f $final/complete ]]; then
		touch "$final" # marks it used, for the pruning below
		print_result "$final"
		return 0
	fi

	mkdir -p "$CACHE_DIR/builds"
	# One builder at a time; a waiter finds the finished build after the lock.
	exec 9>"$CACHE_DIR/.lock"
	flock 9
	if [[ -f $final/complete ]]; then
		print_result "$final"
		return 0
	fi

	# Left over by a builder that was killed; we hold the lock, so none is running.
	rm -rf "$CACHE_DIR"/build.*

	local kdeb bbdeb work
	kdeb=$(fetch_deb "$KERNEL_PKG" "$KERNEL_VER")
	bbdeb=$(fetch_deb "$BUSYBOX_PKG" "$BUSYBOX_VER")
	work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -rf '$work'" EXIT
	build "$work" "$kdeb" "$bbdeb" "$work/out"
	touch "$work/out/complete"
	rm -rf "$final"
	mv "$work/out" "$final"

	# Drop builds and .debs not used for a week (other checkouts may still use recent ones).
	find "$CACHE_DIR/builds" -mindepth 1 -maxdepth 1 -type d ! -name "$key" \
		! -newermt '7 days ago' -exec rm -rf {} + 2>/dev/null || true
	find "$CACHE_DIR/debs" -mindepth 2 -maxdepth 2 -type d \
		! -newermt '7 days ago' -exec rm -rf {} + 2>/dev/null || true
	log "built $final"
	print_result "$final"
}

main "$@"
