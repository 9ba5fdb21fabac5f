#!/usr/bin/env bash
# Install the Debian 12 (bookworm) packages PeerPipe needs.
#
# 1. Adds bookworm-backports to apt, reusing the mirror that the machine's apt
#    sources already name for bookworm (deb822 *.sources or one-line *.list).
# 2. Installs the packages of scripts/apt-packages.txt that dpkg says are
#    missing ('backports:NAME' lines from bookworm-backports).
# Idempotent: a second run changes nothing and needs no network.
#
# usage: install-deps.sh [--packages FILE] [--sources-only | --print-mirror]
#   --packages FILE  package list (default: scripts/apt-packages.txt)
#   --sources-only   only add bookworm-backports to the apt sources
#   --print-mirror   print the bookworm mirror the apt sources name, change nothing
# env:
#   PP_APT_ROOT      root of the apt configuration to read and write (default /);
#                    for tests. With another root only --sources-only and
#                    --print-mirror are allowed, and they need no root.
set -euo pipefail
umask 022

PP_BACKPORTS_LIST=peerpipe-backports.list
PP_SUITE=bookworm

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# shellcheck source=apt-sources.sh
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/apt-sources.sh"

# True when an enabled binary source under ROOT already lists bookworm-backports.
pp_has_backports() {
	pp_apt_entries "$1" | awk -F'\t' -v s="$PP_SUITE-backports" \
		'$1 == "deb" && $3 == s { found = 1 } END { exit !found }'
}

# The mirror of the first enabled binary bookworm entry under ROOT:
# "URI<tab>SIGNED_BY". Security archives and cdrom: entries are skipped;
# a network URI is preferred over a local one (file:, copy:).
pp_find_mirror() {
	pp_apt_entries "$1" | awk -F'\t' -v s="$PP_SUITE" '
		$1 != "deb" || $3 != s || $2 ~ /^cdrom:/ || $2 ~ /security/ { next }
		$2 ~ /^([a-z0-9]+\+)?(https?|ftp):/ { print $2 "\t" $4; net = 1; exit }
		loc == "" { loc = $2 "\t" $4 }
		END { if (!net && loc != "") print loc; if (!net && loc == "") exit 1 }
	'
}

# Add bookworm-backports under ROOT unless a source already lists it.
# Sets PP_SOURCES_CHANGED=1 when it wrote the list file.
PP_SOURCES_CHANGED=0
pp_setup_backports() {
	local root=$1 mirror uri signed list tmp
	list="$root/etc/apt/sources.list.d/$PP_BACKPORTS_LIST"
	if pp_has_backports "$root"; then
		log "apt sources already list $PP_SUITE-backports"
		return 0
	fi
	if ! mirror=$(pp_find_mirror "$root") || [[ -z $mirror ]]; then
		die "no enabled '$PP_SUITE' entry in $root/etc/apt/sources.list or" \
			"$root/etc/apt/sources.list.d/*.{list,sources}: cannot tell which" \
			"mirror to use for $PP_SUITE-backports (is this Debian 12?)"
	fi
	uri=${mirror%%$'\t'*}
	signed=${mirror#*$'\t'}
	mkdir -p "${list%/*}"
	tmp="$list.tmp.$$"
	{
		printf '# Added by PeerPipe scripts/install-deps.sh (mirror taken from the %s entry).\n' "$PP_SUITE"
		if [[ $signed == - ]]; then
			printf 'deb %s %s-backports main\n' "$uri" "$PP_SUITE"
		else
			printf 'deb [signed-by=%s] %s %s-backports main\n' "$signed" "$uri" "$PP_SUITE"
		fi
	} >"$tmp"
	mv -f "$tmp" "$list"
	PP_SOURCES_CHANGED=1
	log "added $PP_SUITE-backports from $uri in $list"
}

# Read the package list into PP_PKGS (plain) and PP_BPKGS (backports).
pp_read_packages() {
	local file=$1 line word
	PP_PKGS=()
	PP_BPKGS=()
	[[ -r $file ]] || die "cannot read package list $file"
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%%#*}
		for word in $line; do
			case $word in
			backports:?*) PP_BPKGS+=("${word#backports:}") ;;
			*:*) die "$file: bad entry '$word' (only 'backports:NAME' is known)" ;;
			*) PP_PKGS+=("$word") ;;
			esac
		done
	done <"$file"
}

# Print the packages among the arguments that are not installed.
pp_missing() {
	local p
	local -A ok=()
	(($#)) || return 0
	# dpkg-query exits 1 when it does not know a package; the rest still print.
	while read -r p; do ok[$p]=1; done < <(dpkg-query -W \
		-f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null | awk '/^ii/ { print $2 }')
	for p in "$@"; do
		[[ -n ${ok[$p]:-} ]] || printf '%s\n' "$p"
	done
}

# True when apt's package lists were fetched less than a day ago.
pp_lists_fresh() {
	[[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*Release' -mmin -1440 -print -quit 2>/dev/null) ]]
}

# True when apt knows every package among the arguments (SUITE: "" or backports).
pp_all_known() {
	local suite=$1 p
	shift
	for p in "$@"; do
		if [[ -n $suite ]]; then
			apt-cache madison "$p" 2>/dev/null | grep -q " $suite/" || return 1
		else
			apt-cache show "$p" >/dev/null 2>&1 || return 1
		fi
	done
}

APT_OPTS=(-y -q --no-install-recommends
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
	-o DPkg::Lock::Timeout=600)

PP_UPDATED=0
pp_apt_update() {
	log "apt-get update"
	apt-get -q -o DPkg::Lock::Timeout=600 update
	PP_UPDATED=1
}

# Install packages; on failure with lists not refreshed in this run, update
# once and retry (the lists may name versions the mirror no longer has).
pp_apt_install() {
	log "installing: $*"
	if apt-get "${APT_OPTS[@]}" install "$@"; then return 0; fi
	((PP_UPDATED == 0)) || return 1
	pp_apt_update || return 1
	apt-get "${APT_OPTS[@]}" install "$@"
}

pp_require_root() {
	((EUID == 0)) && return 0
	if command -v sudo >/dev/null 2>&1; then
		log "not root: re-running with sudo"
		exec sudo -- "$BASH" "$PP_SELF" "$@"
	fi
	die "must run as root (and sudo is not installed): run it as root"
}

main() {
	local mode=install root pkgfile
	local -a args=("$@") missing=() bmissing=()
	PP_SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
	pkgfile="$(dirname -- "$PP_SELF")/apt-packages.txt"
	root=${PP_APT_ROOT:-/}
	root=${root%/}

	while (($#)); do
		case $1 in
		--packages)
			[[ $# -ge 2 ]] || die "--packages needs a file"
			pkgfile=$(readlink -f -- "$2")
			shift 2
			;;
		--sources-only)
			mode=sources
			shift
			;;
		--print-mirror)
			mode=print
			shift
			;;
		-h | --help)
			sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$PP_SELF"
			return 0
			;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
	done

	if [[ $mode == print ]]; then
		local m
		m=$(pp_find_mirror "$root") || die "no enabled '$PP_SUITE' entry in the apt sources under ${root:-/}"
		printf '%s\n' "${m%%$'\t'*}"
		return 0
	fi
	if [[ -n $root ]]; then
		[[ $mode == sources ]] || die "PP_APT_ROOT is only for --sources-only and --print-mirror"
	else
		pp_require_root "${args[@]}"
	fi

	pp_setup_backports "$root"
	[[ $mode == sources ]] && return 0

	export DEBIAN_FRONTEND=noninteractive
	pp_read_packages "$pkgfile"
	mapfile -t missing < <(pp_missing "${PP_PKGS[@]}")
	mapfile -t bmissing < <(pp_missing "${PP_BPKGS[@]}")

	if ((PP_SOURCES_CHANGED)); then
		pp_apt_update
	elif ((${#missing[@]} + ${#bmissing[@]})); then
		if ! pp_lists_fresh || ! pp_all_known "" "${missing[@]}" ||
			! pp_all_known "$PP_SUITE-backports" "${bmissing[@]}"; then
			pp_apt_update
		fi
	fi
	if ((${#missing[@]})); then pp_apt_install "${missing[@]}"; fi
	if ((${#bmissing[@]})); then pp_apt_install -t "$PP_SUITE-backports" "${bmissing[@]}"; fi

	# Node.js runs the browser interop harness (tests/interop). A machine
	# that already has node and npm (NodeSource's, say) keeps them: Debian's
	# npm would replace that nodejs.
	if ! command -v npm >/dev/null 2>&1; then
		pp_apt_install nodejs npm
	fi

	mapfile -t missing < <(pp_missing "${PP_PKGS[@]}" "${PP_BPKGS[@]}")
	((${#missing[@]} == 0)) || die "still not installed: ${missing[*]}"
	log "all $((${#PP_PKGS[@]} + ${#PP_BPKGS[@]})) packages of ${pkgfile##*/} are installed"
}

main "$@"
