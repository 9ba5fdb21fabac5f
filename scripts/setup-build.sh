#!/usr/bin/env bash
# Configure a meson build directory of PeerPipe: builds the optimised usrsctp
# first (scripts/build-usrsctp.sh) and links it statically. A directory that
# is already configured is reconfigured (wiped when that fails).
#
# usage: scripts/setup-build.sh DIR [MESON SETUP ARGS...]
# env:
#   PP_SYSTEM_USRSCTP=1   link the system's libusrsctp2 (built at -O0) instead
set -euo pipefail

self=$(readlink -f -- "${BASH_SOURCE[0]}")
cd -- "${self%/*}/.."

[[ $# -ge 1 ]] || {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$self" >&2
	exit 2
}
dir=$1
shift

args=()
if [[ -z ${PP_SYSTEM_USRSCTP:-} ]]; then
	pcdir=$(scripts/build-usrsctp.sh)
	args=(--pkg-config-path="$pcdir" -Dusrsctp_static=true)
else
	args=(-Dusrsctp_static=false)
fi

if [[ -f $dir/meson-private/coredata.dat ]]; then
	meson setup --reconfigure "$dir" "${args[@]}" "$@" || meson setup --wipe "$dir" "${args[@]}" "$@"
else
	meson setup "$dir" "${args[@]}" "$@"
fi
