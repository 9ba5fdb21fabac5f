#!/usr/bin/env bash
# Build usrsctp for PeerPipe from Debian's own source package, optimised.
#
# Debian's libusrsctp2 (0.9.5.0-2 in bookworm) is compiled with -O0: its
# build runs upstream's configure, whose --enable-debug is on by default and
# appends "-g -O0" after Debian's CFLAGS. SCTP is on every packet of the
# tunnel, and at -O0 it is a fifth of the gateway's CPU (docs/rtc-stack.md).
# This script builds the same source, Debian's patches applied, with the
# flags Debian gives every package (dpkg-buildflags, hardening=+all) and
# PeerPipe's own fixes from scripts/usrsctp-patches/ (each says what it
# fixes and how it was measured; SCTP_DEBUG stays defined, as in Debian's
# build):
#
# 1. Reads the version of the installed libusrsctp-dev (install-deps.sh
#    installs it; its headers and this build must agree).
# 2. Fetches that version's source with apt-get source, through apt state
#    of its own: deb-src entries derived from the bookworm entries of the
#    machine's apt sources (same mirrors, same keys), so the download is
#    checked against the archive's signed index. The system's apt
#    configuration is not changed; no root is needed.
# 3. Builds a static, position-independent libusrsctp.a with meson into
#    PREFIX (default: .deps/usrsctp in the checkout) with a pkg-config file.
# Idempotent: when PREFIX holds a build of the same version made by this
# script, it does nothing and needs no network.
#
# usage: build-usrsctp.sh [--prefix DIR] [--print-sources]
#   --prefix DIR      where to install (default: .deps/usrsctp)
#   --print-sources   print the deb-src lines it would use, change nothing
# Prints the pkg-config directory of the build on success.
# env:
#   PP_APT_ROOT       root of the apt configuration to read (default /); for tests
set -euo pipefail
umask 022

PP_SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
PP_ROOT=$(dirname -- "$(dirname -- "$PP_SELF")")
PP_SUITE=bookworm
PP_PATCHES=$PP_ROOT/scripts/usrsctp-patches

log() { printf 'build-usrsctp: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# shellcheck source=apt-sources.sh
. "$(dirname -- "$PP_SELF")/apt-sources.sh"

# deb-src lines for the bookworm suites (release, updates, security) of the
# enabled binary entries under ROOT, component main, keys kept.
pp_src_lines() {
	pp_apt_entries "$1" | awk -F'\t' -v s="$PP_SUITE" '
		$1 != "deb" || $2 ~ /^cdrom:/ { next }
		$3 != s && $3 != s "-updates" && $3 != s "-security" && $3 != s "/updates" { next }
		{
			line = ($4 == "-" ? "deb-src" : "deb-src [signed-by=" $4 "]") " " $2 " " $3 " main"
			if (!(line in seen)) { seen[line] = 1; print line }
		}'
}

# The Debian flags of every package, as debian/rules sets them.
pp_debian_flags() {
	export DEB_BUILD_MAINT_OPTIONS=hardening=+all
	export DEB_CFLAGS_MAINT_APPEND=-Wno-address-of-packed-member
	CFLAGS=$(dpkg-buildflags --get CFLAGS)
	CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
	LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
	# A static library going into position-independent executables.
	CFLAGS+=" -fPIC"
	export CFLAGS CPPFLAGS LDFLAGS
}

# apt-get with the private state under DIR.
pp_apt() {
	local dir=$1
	shift
	apt-get -q \
		-o Dir::Etc::SourceList="$dir/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache="$dir/cache" \
		-o Dir::State::status=/var/lib/dpkg/status \
		-o Debug::NoLocking=1 \
		-o APT::Sandbox::User="$(id -un)" \
		"$@"
}

main() {
	local prefix=$PP_ROOT/.deps/usrsctp print=0 root src_pkg version stamp want
	local work srcdir pcdir
	root=${PP_APT_ROOT:-/}
	root=${root%/}
	while (($#)); do
		case $1 in
		--prefix)
			[[ $# -ge 2 ]] || die "--prefix needs a directory"
			prefix=$2
			shift 2
			;;
		--print-sources)
			print=1
			shift
			;;
		-h | --help)
			sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$PP_SELF"
			return 0
			;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
	done

	if ((print)); then
		pp_src_lines "$root"
		return 0
	fi
	[[ -z $root ]] || die "PP_APT_ROOT is only for --print-sources"

	read -r src_pkg version < <(dpkg-query -W -f='${source:Package} ${source:Version}\n' \
		libusrsctp-dev 2>/dev/null) ||
		die "libusrsctp-dev is not installed (scripts/install-deps.sh installs it)"
	prefix=$(mkdir -p -- "$prefix" && cd -- "$prefix" && pwd)
	pcdir=$prefix/lib/pkgconfig
	shopt -s nullglob
	patches=("$PP_PATCHES"/*.patch)
	shopt -u nullglob
	want="$src_pkg $version $(cat -- "$PP_SELF" "${patches[@]}" | sha256sum | cut -c1-16)"
	stamp=$prefix/.peerpipe-build
	# One build at a time per prefix (a benchmark and a test run may race).
	exec 9>"$prefix.lock"
	flock 9 || die "cannot lock $prefix.lock"
	if [[ -f $stamp && $(<"$stamp") == "$want" && -f $pcdir/usrsctp.pc ]]; then
		log "usrsctp $version is built in $prefix"
		printf '%s\n' "$pcdir"
		return 0
	fi
	for t in apt-get dpkg-source dpkg-buildflags patch meson ninja; do
		command -v "$t" >/dev/null || die "missing $t (scripts/install-deps.sh installs it)"
	done

	work=$prefix.work
	rm -rf -- "$work"
	mkdir -p -- "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
	pp_src_lines "$root" >"$work/apt/sources.list"
	[[ -s $work/apt/sources.list ]] ||
		die "no enabled '$PP_SUITE' entry in the apt sources: cannot tell where Debian's source is"
	log "fetching the source of $src_pkg $version from: $(awk '{ printf "%s ", $(NF-2) }' "$work/apt/sources.list")"
	pp_apt "$work/apt" update >"$work/apt-update.log" 2>&1 ||
		die "apt-get update of the source indexes failed: $(tail -n 3 "$work/apt-update.log")"
	(cd -- "$work/src" && pp_apt "$work/apt" source --download-only "$src_pkg=$version") \
		>"$work/apt-source.log" 2>&1 ||
		die "apt-get source $src_pkg=$version failed: $(tail -n 3 "$work/apt-source.log")"
	(cd -- "$work/src" && dpkg-source -x ./*.dsc tree) >"$work/dpkg-source.log" 2>&1 ||
		die "dpkg-source -x failed: $(tail -n 3 "$work/dpkg-source.log")"
	srcdir=$work/src/tree
	for p in "${patches[@]}"; do
		patch -p1 --forward -d "$srcdir" <"$p" >"$work/patch.log" 2>&1 ||
			die "$(basename -- "$p") does not apply to $src_pkg $version: $(tail -n 3 "$work/patch.log")"
		log "applied $(basename -- "$p")"
	done

	cd -- "$srcdir" # dpkg-buildflags maps the current directory out of debug info
	pp_debian_flags
	log "building with CFLAGS: $CFLAGS"
	meson setup "$work/build" "$srcdir" --prefix="$prefix" --libdir=lib \
		--buildtype=plain -Ddefault_library=static -Dsctp_debug=true \
		-Dsctp_build_programs=false >"$work/meson.log" 2>&1 ||
		die "meson setup failed: $(tail -n 5 "$work/meson.log")"
	rm -rf -- "$stamp" "$prefix/include" "$prefix/lib"
	ninja -C "$work/build" install >"$work/ninja.log" 2>&1 ||
		die "the build failed: $(tail -n 10 "$work/ninja.log")"
	[[ -f $pcdir/usrsctp.pc && -f $prefix/lib/libusrsctp.a ]] ||
		die "the build installed no usrsctp.pc / libusrsctp.a under $prefix"
	printf '%s\n' "$want" >"$stamp"
	cd -- "$PP_ROOT"
	rm -rf -- "$work"
	log "usrsctp $version built in $prefix"
	printf '%s\n' "$pcdir"
}

main "$@"
