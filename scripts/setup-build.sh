#!/usr/bin/env bash
# Configure a meson build directory of PeerPipe: builds the optimised usrsctp
# first (scripts/build-usrsctp.sh) and links it statically. A directory that
# is already configured is reconfigured (wiped when that fails).
#
# usage: scripts/setup-build.sh DIR [MESON SETUP ARGS...]
# When build-usrsctp.sh fails (no network for the source, say) it warns and
# links the system's library: the build works, the tunnel costs more CPU.
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

# Without the optimised usrsctp (no network for its source, say) the build
# still works, on the system's library, and says so.
args=(-Dusrsctp_static=false)
if [[ -n ${PP_SYSTEM_USRSCTP:-} ]]; then
	printf 'setup-build: PP_SYSTEM_USRSCTP is set: linking the system usrsctp (-O0)\n' >&2
elif pcdir=$(scripts/build-usrsctp.sh); then
	args=(--pkg-config-path="$pcdir" -Dusrsctp_static=true)
else
	printf 'setup-build: WARNING: the optimised usrsctp could not be built (above);\n' >&2
	printf 'setup-build: WARNING: linking the system one, built at -O0: the tunnel will use more CPU\n' >&2
fi

if [[ -f $dir/meson-private/coredata.dat ]]; then
	meson setup --reconfigure "$dir" "${args[@]}" "$@" || meson setup --wipe "$dir" "${args[@]}" "$@"
else
	meson setup "$dir" "${args[@]}" "$@"
fi
