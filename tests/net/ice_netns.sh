#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ice_netns.sh TEST_BINARY [ARGS...]
#
# Builds a throw-away topology of network namespaces for the ICE tests,
# runs the test binary (TAP on stdout) with PP_ICE_NS set to the namespace
# prefix, and always tears everything down again (trap on EXIT, INT, TERM).
#
#   a 10.1.0.2 -- 10.1.0.1 [nat1 MASQUERADE] 198.18.1.2 --+
#                                                         [inet] 198.18.3.1 -- 198.18.3.2 srv (coturn:
#   b 10.2.0.2 -- 10.2.0.1 [nat2 MASQUERADE] 198.18.2.2 --+                               STUN + TURN)
#
#   m1 10.77.0.1 ---- 10.77.0.2 m2      (one LAN with multicast, for mDNS)
#
# Runs test_ice_netns (the ICE layer through NAT and TURN) and
# test_peer_netns (whole peer connections: dead paths, ICE restart).
#
# Needs root, iproute2, iptables and coturn's turnserver; otherwise the
# whole test is skipped. Names are unique per run; nothing outside the
# namespaces created here is touched.
set -u

bin=${1:?usage: ice_netns.sh TEST_BINARY [ARGS...]}
shift

# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
netns_require ip iptables turnserver

P="ppi$(printf '%04x%04x' $$ $RANDOM)"
NAMES=(inet srv nat1 nat2 a b m1 m2)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ice-netns.XXXXXX")
turn_pid=
test_pid=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	netns_stop_test
	if [[ -n $turn_pid ]]; then
		kill "$turn_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$turn_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$turn_pid" 2>/dev/null
		wait "$turn_pid" 2>/dev/null
	fi
	netns_delete
	if [[ $rc -ne 0 && -s $tmp/turn.log ]]; then
		echo "# coturn log (last lines):" >&2
		tail -n 30 "$tmp/turn.log" | sed 's/^/#   /' >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { # nsx NAME CMD...: run in namespace $P-NAME
	local n=$1
	shift
	ip netns exec "$P-$n" "$@"
}

# link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two namespaces
link() {
	ip -n "$P-$1" link add "$2" type veth peer name "$5" netns "$P-$4" || return 1
	ip -n "$P-$1" addr add "$3" dev "$2" && ip -n "$P-$1" link set "$2" up &&
		ip -n "$P-$4" addr add "$6" dev "$5" && ip -n "$P-$4" link set "$5" up
}

setup() {
	local n
	netns_create || return 1
	link inet n1 198.18.1.1/24 nat1 wan 198.18.1.2/24 &&
		link inet n2 198.18.2.1/24 nat2 wan 198.18.2.2/24 &&
		link inet srv 198.18.3.1/24 srv wan 198.18.3.2/24 &&
		link nat1 lan 10.1.0.1/24 a eth0 10.1.0.2/24 &&
		link nat2 lan 10.2.0.1/24 b eth0 10.2.0.2/24 &&
		link m1 eth0 10.77.0.1/24 m2 eth0 10.77.0.2/24 || return 1
	ip -n "$P-nat1" route add default via 198.18.1.1 &&
		ip -n "$P-nat2" route add default via 198.18.2.1 &&
		ip -n "$P-srv" route add default via 198.18.3.1 &&
		ip -n "$P-a" route add default via 10.1.0.1 &&
		ip -n "$P-b" route add default via 10.2.0.1 &&
		ip -n "$P-m1" route add 224.0.0.0/4 dev eth0 &&
		ip -n "$P-m2" route add 224.0.0.0/4 dev eth0 || return 1
	for n in inet nat1 nat2; do
		nsx "$n" sysctl -qw net.ipv4.ip_forward=1 || return 1
	done
	# The home routers: Linux NAT (port-preserving MASQUERADE) with the usual
	# stateful firewall that drops unsolicited packets from the WAN. Dropped
	# before conntrack confirms them, such packets leave no state behind;
	# without the DROP, a peer's early check would pin a conntrack entry on
	# the router's own port and MASQUERADE would then move the outgoing
	# mapping to another port (an accidental symmetric NAT).
	for n in nat1 nat2; do
		nsx "$n" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE &&
			nsx "$n" iptables -A INPUT -i wan -m conntrack --ctstate NEW,INVALID -j DROP &&
			nsx "$n" iptables -A FORWARD -i wan -m conntrack --ctstate NEW,INVALID -j DROP ||
			return 1
	done
}

start_turn() {
	local secret=$1
	nsx srv turnserver -n --listening-ip=198.18.3.2 --relay-ip=198.18.3.2 \
		--listening-port=3478 --min-port=50000 --max-port=50999 \
		--use-auth-secret --static-auth-secret="$secret" --realm=peerpipe.test \
		--no-tls --no-dtls --no-cli --no-rfc5780 \
		--allowed-peer-ip=198.18.0.0-198.19.255.255 --db="$tmp/turndb" \
		--pidfile="$tmp/turn.pid" --log-file="$tmp/turn.log" --simple-log \
		>/dev/null 2>&1 &
	turn_pid=$!
	for _ in $(seq 100); do
		if nsx srv ss -Hlun 'sport = :3478' 2>/dev/null | grep -q 3478 &&
			nsx srv ss -Hltn 'sport = :3478' 2>/dev/null | grep -q 3478; then
			return 0
		fi
		kill -0 "$turn_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

setup || fail "cannot build the namespaces"
secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
start_turn "$secret" || fail "coturn did not start"

# in the background, so that a signal to this script is handled at once
PP_ICE_NS=$P PP_ICE_TURN_SECRET=$secret PP_ICE_TURN_ADDR=198.18.3.2:3478 \
	"$bin" "$@" &
test_pid=$!
wait "$test_pid"
