#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Interop test with headless Debian Chromium (TAP on stdout).
#
# Builds a network namespace of its own (unique name, removed on exit) with
# a veth pair: Chromium gathers on 10.213.77.1 (pp0, the default route: it
# only uses the interface of the default route), peerpipe-rtc-echo binds
# ICE to 10.213.78.1 (pp1). The namespace has no link to the outside, so
# nothing leaves it. peerpipe-signal (plain ws, loopback only) and the
# page's HTTP server listen on the namespace's 127.0.0.1.
#
# Needs root (ip netns). Skips only when Chromium is not installed.
# Environment: PP_SIGNAL_BIN, PP_RTC_ECHO_BIN, PP_CLI_BIN (meson sets
# them), PP_CHROMIUM (default /usr/bin/chromium), PP_INTEROP_CASES,
# PP_INTEROP_VERBOSE=1, PP_INTEROP_KEEP=1 (keep the scratch directory).
set -u

HERE="$(cd -- "$(dirname -- "$0")" && pwd)"
CHROMIUM="${PP_CHROMIUM:-/usr/bin/chromium}"
BROWSER_ADDR=10.213.77.1
C_ADDR=10.213.78.1

if [ ! -x "$CHROMIUM" ]; then
	echo "1..0 # SKIP $CHROMIUM is not installed (scripts/install-deps.sh installs Debian's chromium)"
	exit 0
fi

bail() {
	echo "1..1"
	echo "not ok 1 - interop setup: $*"
	echo "0 passed, 1 failed" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || bail "needs root for ip netns"
command -v ip >/dev/null || bail "ip (iproute2) not found"
command -v node >/dev/null || bail "node not found"
command -v npm >/dev/null || bail "npm not found"
: "${PP_SIGNAL_BIN:=$HERE/../../build/src/server/peerpipe-signal}"
: "${PP_CLI_BIN:=$HERE/../../build/src/cli/peerpipe}"
: "${PP_RTC_ECHO_BIN:=$HERE/../../build/src/tools/peerpipe-rtc-echo}"
for b in "$PP_SIGNAL_BIN" "$PP_CLI_BIN" "$PP_RTC_ECHO_BIN"; do
	[ -x "$b" ] || bail "$b not built"
done
export PP_SIGNAL_BIN PP_CLI_BIN PP_RTC_ECHO_BIN

# Node dependencies (playwright-core only; it never downloads a browser
# here: the test uses Debian's). One installer at a time.
if [ ! -f "$HERE/node_modules/playwright-core/package.json" ]; then
	(
		flock 9
		if [ ! -f "$HERE/node_modules/playwright-core/package.json" ]; then
			cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2
		fi
	) 9>"$HERE/.npm-ci.lock" || bail "npm ci failed in $HERE"
fi

NS="ppinterop-$$-$RANDOM"
TMPD="$(mktemp -d /tmp/pp-interop.XXXXXX)"
chmod 700 "$TMPD"

cleanup() {
	local pids
	pids="$(ip netns pids "$NS" 2>/dev/null)"
	# everything in the namespace was started by this script
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if [ "${PP_INTEROP_KEEP:-0}" = 1 ]; then
		echo "# scratch directory kept: $TMPD"
	else
		rm -rf "$TMPD"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" || bail "ip netns add failed"
ip -n "$NS" link set lo up &&
	ip -n "$NS" link add pp0 type veth peer name pp1 &&
	ip -n "$NS" addr add "$BROWSER_ADDR/24" dev pp0 &&
	ip -n "$NS" addr add "$C_ADDR/24" dev pp1 &&
	ip -n "$NS" link set pp0 up &&
	ip -n "$NS" link set pp1 up &&
	ip -n "$NS" route add default dev pp0 ||
	bail "cannot set up the veth pair in $NS"

# Counts what rtc-echo sends to the browser's own address (see the mDNS
# case in chromium_interop.mjs); the test runs without it if iptables fails.
ip netns exec "$NS" iptables -w -A OUTPUT -p udp -s "$C_ADDR" -d "$BROWSER_ADDR" \
	-m comment --comment pp-c-to-browser 2>/dev/null ||
	echo "# iptables unavailable: the mDNS case cannot tell from the wire whether C resolved the name"

echo "# netns $NS: Chromium on $BROWSER_ADDR (pp0), rtc-echo on $C_ADDR (pp1); scratch $TMPD"

PP_INTEROP_TMP="$TMPD" PP_BROWSER_ADDR="$BROWSER_ADDR" PP_C_ADDR="$C_ADDR" PP_CHROMIUM="$CHROMIUM" \
	HOME="$TMPD" \
	ip netns exec "$NS" node "$HERE/chromium_interop.mjs"
rc=$?
exit $rc
