#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# link_netns.sh TEST_BINARY [ARGS...]
#
# Builds two network namespaces joined by one veth pair (no router, no
# NAT, no STUN: one directly attached link), runs the test binary (TAP on
# stdout) with PP_LINK_NS set to the namespace prefix, and always tears
# everything down again (trap on EXIT, INT, TERM).
#
#   a eth0 10.88.0.1/24 ---- eth0 10.88.0.2/24 b
#
# The test sets the link's MTU itself (ip -n PREFIX-a/b link set eth0 mtu).
# Runs test_peer_link (path MTU probing of pp_peer on such a link).
#
# Needs root and iproute2; otherwise the whole test is skipped. Names are
# unique per run; nothing outside the namespaces created here is touched.
set -u

bin=${1:?usage: link_netns.sh TEST_BINARY [ARGS...]}
shift

# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
netns_require ip

P="ppl$(printf '%04x%04x' $$ $RANDOM)"
NAMES=(a b)
test_pid=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	netns_stop_test
	netns_delete
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

setup() {
	netns_create || return 1
	ip -n "$P-a" link add eth0 type veth peer name eth0 netns "$P-b" &&
		ip -n "$P-a" addr add 10.88.0.1/24 dev eth0 &&
		ip -n "$P-b" addr add 10.88.0.2/24 dev eth0 &&
		ip -n "$P-a" link set eth0 up &&
		ip -n "$P-b" link set eth0 up
}

setup || fail "cannot build the namespaces"

# in the background, so that a signal to this script is handled at once
PP_LINK_NS=$P "$bin" "$@" &
test_pid=$!
wait "$test_pid"
