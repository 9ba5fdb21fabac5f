#!/usr/bin/env bash
# Says which usrsctp the programs run on (a meson test, suite "build").
# usage: check-usrsctp-link.sh static|system PROGRAM...
# static: each PROGRAM must carry usrsctp inside (scripts/build-usrsctp.sh's
#         optimised build) and need no libusrsctp.so; fails otherwise.
# system: skipped (exit 77) with the reason, so a build on Debian's -O0
#         library shows as "skipped" in the summary instead of passing quietly.
set -uo pipefail

mode=${1:-}
shift || true
case $mode in
system)
	echo "linked against the system's libusrsctp2 (built at -O0): configure with scripts/setup-build.sh"
	exit 77
	;;
static) ;;
*)
	echo "usage: $0 static|system PROGRAM..." >&2
	exit 2
	;;
esac
(($#)) || {
	echo "no program given" >&2
	exit 2
}
rc=0
for p in "$@"; do
	if readelf -d "$p" | grep 'NEEDED.*libusrsctp' >/dev/null; then
		echo "FAIL $p: needs a shared libusrsctp"
		rc=1
	elif ! nm "$p" 2>/dev/null | grep ' T usrsctp_init_nothreads$' >/dev/null; then
		echo "FAIL $p: carries no usrsctp"
		rc=1
	else
		echo "ok   $p: usrsctp linked in"
	fi
done
exit $rc
