# SPDX-License-Identifier: Apache-2.0
# Sourced by the namespace test drivers (ice_netns.sh, link_netns.sh): the
# TAP skip, the whole-test bail out, and creating and tearing down the
# driver's namespaces. The driver sets P (a unique prefix), NAMES (the
# namespaces, $P-NAME) and test_pid (the test binary, once started).

netns_skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

fail() {
	echo "Bail out! ${0##*/}: $*"
	exit 1
}

# netns_require TOOL...: root and these tools, or the test is skipped
netns_require() {
	local tool
	[[ $(id -u) -eq 0 ]] || netns_skip "needs root for network namespaces"
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || netns_skip "$tool not installed"
	done
}

# netns_create: every namespace of NAMES, loopback up
netns_create() {
	local n
	for n in "${NAMES[@]}"; do
		ip netns add "$P-$n" || return 1
		ip -n "$P-$n" link set lo up || return 1
	done
}

# netns_stop_test: the test binary, if it still runs
netns_stop_test() {
	if [[ -n ${test_pid:-} ]] && kill -0 "$test_pid" 2>/dev/null; then
		kill "$test_pid" 2>/dev/null
		wait "$test_pid" 2>/dev/null
	fi
}

# netns_delete: what runs in each namespace of NAMES, then the namespace
netns_delete() {
	local n
	for n in "${NAMES[@]}"; do
		ip netns pids "$P-$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$P-$n" 2>/dev/null
	done
}
