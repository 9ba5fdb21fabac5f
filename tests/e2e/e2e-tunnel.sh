#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e-tunnel.sh: the tunnel end to end, TAP on stdout. The topology of
# topo.sh (home and office behind NAT routers, inet with peerpipe-signal
# and coturn, the internal svc network that only office reaches, home2
# and rogue); the services of services/ in svc; the real
# peerpipe-gateway in office and `peerpipe connect` in home. Every case
# asserts hashes, byte counts, exit codes or log lines, never timings.
#
# Skips every case ("# SKIP binary missing") until peerpipe-gateway is
# built and `peerpipe connect` exists. The contract the cases rely on is in
# tests/e2e/README.md.
#
# env: PP_BUILD_DIR (default: build; meson passes its own), PP_SIGNAL_BIN,
#      PP_CLI_BIN, PP_GATEWAY_BIN, PP_HOSTILE_BIN; E2E_BIG_MB (200) for (b)
#      and (i); E2E_ONLY=ERE (run only the cases whose function matches,
#      e.g. 'tunnel_up|hostile|spoof'; the others SKIP);
#      E2E_VERBOSE=1 (every case log); TOPO_KEEP=1 (keep the work dir)
set -euo pipefail
umask 077

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=topo.sh
. "$here/topo.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

BIG_MB=${E2E_BIG_MB:-200}
BIG=$((BIG_MB * 1024 * 1024))
BIG_TIMEOUT=$((300 + BIG_MB * 6))
# What a client prints when it gets no tunnel (stdout, case-insensitive),
# and what the gateway logs when it refuses a peer.
FAIL_RE='fail|refus|denied|reject|mismatch|untrusted|not pinned|unpinned|not connected'
REFUSE_RE='refus|reject|not pinned|unpinned|unknown (identity|peer|fingerprint)|not allowed|denied|untrusted'

# local ports of alice's forwards (in home)
P_API=18080 P_ECHO=18081 P_SECRET=18082 P_NOSUCH=18083 P_SOURCE=18084 P_DOWN=18085 P_GHOST=18086 P_MUTE=18087 P_DUAL=18088
# a port in svc where nothing listens (service "down"), and an address
# of svc's network that no host has ("ghost": its connect never ends)
SVC_DOWN=9009 GHOST_ADDR=172.31.0.99
# gw1's DNS server (services/mute_dns.py in svc) reads queries and never
# answers, so a name no hosts file has ("mute") resolves for MUTE_DNS_S
MUTE_NAME=mute.peerpipe.test MUTE_DNS_S=20
# in gw1's hosts file: the ghost first, then svc ("dual": the first
# address never answers, the second does)
DUAL_NAME=dual.peerpipe.test

# shellcheck disable=SC2034 # e2e_skip_all and e2e_run_cases (lib.sh) run them
CASES=(
	"tunnel up: alice's client listens on every forward and reaches api through gw1|case_tunnel_up|180"
	"(a) HTTP GET /health and /bytes (random and compressible) through the tunnel|case_http|300"
	"(d) half-close: the FIN-reliant sha service answers after the client's FIN|case_half_close|300"
	"(e) ACL deny: alice -> secret is closed locally, client prints denied, nothing reaches the service|case_deny|120"
	"(f) unknown service: exactly the same client-visible result as a denied one|case_unknown|120"
	"a service that refuses the gateway's connection: the client prints failed, the gateway logs why, the session keeps serving|case_down|120"
	"a service whose connect never ends: failed after connect_timeout (1 s), the gateway logs why|case_ghost|120"
	"a service name the DNS server never answers: failed after connect_timeout, logged as the gateway's own failure|case_mute_dns|120"
	"a service name whose first address never answers: the second gets its turn within connect_timeout|case_dual|120"
	"(c) 100 concurrent streams held open at once, every body correct|case_concurrent|600"
	"(b) $BIG_MB MB both ways at once (POST /sha256 up, GET /bytes down), SHA-256 equal|case_big|$BIG_TIMEOUT"
	"(g) unpinned identity (mallory) gets no tunnel; the gateway logs the refusal|case_unpinned|180"
	"(g) a client whose pin for gw1 is wrong refuses the gateway|case_wrong_pin|180"
	"(h) a rogue gateway joining as gw1 with another identity is refused by the client|case_rogue|240"
	"SIGHUP reload grants, then revokes, alice's access to secret; a stream revoked while its name resolves stops resolving at once|case_reload|180"
	"a path that fails one way (alice's STUN answers dropped): the gateway's consent expires and alice's does not; the gateway restarts ICE itself and a running download carries on|case_one_way|180"
	"(i) peerpipe-signal killed (-9) mid-transfer: $BIG_MB MB complete with equal hash, new streams still open|case_signal_killed|$BIG_TIMEOUT"
	"a client killed (-9) and started again gets a new tunnel although the gateway still holds the old session|case_client_restart|120"
	"a client whose network lets no UDP out gets its tunnel through the TURN relay over TCP|case_udp_blocked|120"
	"a gateway killed (-9) and started again: alice's running client gets a new tunnel by itself and her forward answers|case_gateway_restart|main"
	"a gateway lost without a close (no FIN: its old id stays in the room) and started again: alice's session, found silent, follows the new process and she gets a new tunnel before the old id leaves|case_gateway_lost|main"
	"a laptop asleep (the client stopped) until the gateway ends its session: on waking it gets a new tunnel by itself|case_client_sleep|180"
	"(j) hostile peer: zstd/lz4 bombs, oversized, bad-flag, sealed, empty and garbage messages close only that stream; a parallel stream and alice's session are untouched|case_hostile|300"
	"(k) a peer declaring alice's fingerprint with its own certificate gets no session (refused by the DTLS pin check, also when it claims alice's name while she is in the room) and alice's tunnel stays up|case_spoof|90"
	"a network change: alice's address changes mid-download, taking her WebSocket and UDP path at once; her client checks signaling, rejoins and restarts ICE from its new id, and the download carries on in the same session|case_network_change|180"
	"a network change at the gateway: gw1's address changes mid-download; alice's restart goes to its old id and is lost, gw1's own restart waits for a check of signaling, comes from its new id, and alice takes it: the download carries on in the same session|case_gateway_network_change|180"
	"SIGTERM: client and gateway exit 0, no sanitizer report in any log|case_shutdown|main"
)

e2e_need_tools
e2e_find_bins
HOSTILE_BIN=${PP_HOSTILE_BIN:-$E2E_BUILD/tests/e2e/hostile_peer}

missing=$(e2e_missing_bins)
[[ -z $missing ]] || e2e_skip_all "$missing"

# --- the cast -----------------------------------------------------------

ALICE_PID=
GW_PID=

# clone_client FROM TO: another config dir with FROM's identity (its own pins)
clone_client() {
	local from=$W/clients/$1 to=$W/clients/$2 fp
	mkdir -p -m 700 "$to"
	cp -a -- "$from/identity" "$to/identity"
	fp=$("$CLI_BIN" --config-dir "$to" id) || return 1
	[[ $fp == "$(cat "$W/$1.fp")" ]] || {
		echo "a copy of $from/identity has another fingerprint ($fp)"
		return 1
	}
	printf '%s\n' "$fp" >"$W/$2.fp"
}

# write_gw1_config SECRET_ALLOW [EXTRA_LINES [MUTE_ALLOW]]: the office
# gateway's config; CONNECT_TIMEOUT (1s) its connect_timeout
write_gw1_config() {
	local svc tmp
	svc=$(topo_addr svc)
	tmp=$W/gw1.ini.tmp
	{
		echo "# e2e: gateway gw1 in office, services in svc"
		e2e_gw_ini gw1 office
		cat <<-EOF
		bans_file = $W/gw1/bans.json
		audit_log = $W/gw1/audit.log
		connect_timeout = ${CONNECT_TIMEOUT:-1s}
		peer_buffer = 2MiB
		${2:-}

		[service api]
		address = $svc:$SVC_API
		description = e2e HTTP API
		allow = alice

		[service echo]
		address = $svc:$SVC_ECHO
		description = SHA-256 of the stream, answered after FIN
		allow = @staff

		[service source]
		address = $svc:$SVC_SOURCE
		description = seeded byte stream
		allow = @staff

		[service secret]
		address = $svc:$SVC_SINK
		description = byte-counting sink
		allow = $1

		[service down]
		address = $svc:$SVC_DOWN
		description = nothing listens here
		allow = alice

		[service ghost]
		address = $GHOST_ADDR:80
		description = no such host
		allow = alice

		[service mute]
		address = $MUTE_NAME:80
		description = a name whose DNS server never answers
		allow = ${3:-alice}

		[service dual]
		address = $DUAL_NAME:$SVC_API
		description = a name whose first address never answers
		allow = alice

		[identity alice]
		fingerprint = $(cat "$W/alice.fp")
		groups = staff

		[identity bob]
		fingerprint = $(cat "$W/bob.fp")
		EOF
	} >"$tmp"
	mv -f -- "$tmp" "$W/gw1.ini"
}

write_rogue_config() {
	{
		echo "# e2e: a rogue gateway that calls itself gw1 (another identity)"
		e2e_gw_ini rogue lobby
		cat <<-EOF
		bans_file = $W/rogue/bans.json

		[service api]
		address = 127.0.0.1:$SVC_API
		description = the rogue's own service
		allow = alice

		[identity alice]
		fingerprint = $(cat "$W/alice.fp")
		groups = staff
		EOF
	} >"$W/rogue.ini"
}

# wait_gateways N TIMEOUT_S: until the server counts N gateways
wait_gateways() {
	local i v
	for ((i = 0; i < $2 * 2; i++)); do
		v=$(signal_metric 'peerpipe_signal_peers{role="gateway"}')
		[[ -n $v ]] && ((v >= $1)) && return 0
		sleep 0.5
	done
	return 1
}

relayed() { signal_metric peerpipe_signal_messages_relayed_total; }

wait_listening() { # wait_listening FILE PORT TIMEOUT_S
	wait_grep "$1" "$3" "listening.*\\b$2\\b|\\b$2\\b.*listening"
}

# start_gw1 LOG: gw1 in office, seeing its own resolv.conf and hosts (a
# mount namespace of its own); GW_PID
start_gw1() {
	start_bg office "$1" unshare --mount --propagation private -- sh -c \
		'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
		sh "$W/gw1-resolv.conf" "$W/gw1-hosts" "$GATEWAY_BIN" --config "$W/gw1.ini"
	GW_PID=$BG_PID
}

need_tunnel() {
	[[ -f $W/tunnel.up ]] || fail "the tunnel did not come up (case 1)"
	topo_alive "$GW_PID" || fail "the gateway is not running any more: $(tail -n 3 "$W/gw1.log" | tr '\n' '|')"
	topo_alive "$ALICE_PID" || fail "alice's client is not running any more: $(tail -n 3 "$W/alice.err" | tr '\n' '|')"
}

sink_stats() { cat "$W/svc-svc/sink.stats"; }

# --- cases --------------------------------------------------------------

case_tunnel_up() {
	local p out="" i
	for p in $P_API $P_ECHO $P_SECRET $P_NOSUCH $P_SOURCE $P_DOWN $P_GHOST $P_MUTE $P_DUAL; do
		wait_listening "$W/alice.out" $p 60 ||
			fail "no 'listening' line for $p on the client's stdout: $(tail -n 5 "$W/alice.out" | tr '\n' '|')"
	done
	for ((i = 0; i < 180; i++)); do
		topo_alive "$ALICE_PID" || fail "the client exited: $(tail -n 5 "$W/alice.err" | tr '\n' '|')"
		topo_alive "$GW_PID" || fail "the gateway exited: $(tail -n 5 "$W/gw1.log" | tr '\n' '|')"
		out=$(curl_in home "http://127.0.0.1:$P_API/health" --max-time 10 2>/dev/null || true)
		[[ $out == ok ]] && break
		sleep 0.5
	done
	[[ $out == ok ]] || fail "GET /health through the tunnel never said ok (last: '$out')"
	touch "$W/tunnel.up"
	# peer_buffer reached usrsctp (the client keeps the 4 MiB default)
	grep -Eq 'alice.*sctp: connected .*buffers 2048 KiB out, 2048 KiB in' "$W/gw1.log" ||
		fail "the gateway's association does not use peer_buffer = 2MiB: $(grep 'sctp: connected' "$W/gw1.log" | tail -n 1)"
	# the gateway records where alice connects from: her NAT's public address
	alice_audit_from_home_nat peer_connected || fail "peer_connected: alice's address"
}

# alice_audit_from_home_nat EVENT: gw1's last audit record EVENT of alice
# says she came from her NAT's public address
alice_audit_from_home_nat() {
	local addr
	addr=$(jq -r --arg e "$1" 'select(.event == $e and .peer == "alice") | .address' \
		"$W/gw1/audit.log" | tail -n 1)
	note "$1: alice from $addr"
	[[ $addr == "$(topo_addr home-nat)":* ]]
}

case_http() {
	local out exp
	need_tunnel
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "GET /health: '$out'"
	exp=$("${E2E_STREAM[@]}" sha 1048576 7)
	out=$(curl_in home "http://127.0.0.1:$P_API/bytes?n=1048576&seed=7" | sha256sum | cut -d' ' -f1)
	[[ $out == "$exp" ]] || fail "GET /bytes 1 MiB: sha $out, want $exp"
	out=$(client_in home get-sha --port $P_API --path "/bytes?n=8388608&seed=8&kind=text" \
		--n 8388608 --seed 8 --kind text) || fail "GET /bytes 8 MiB text: $out"
	# the request reached the service from the gateway's inside address
	out=$(curl_in home "http://127.0.0.1:$P_API/peer")
	[[ $out == "$(topo_addr office-int)" ]] || fail "the service saw the request from '$out'"
}

case_half_close() {
	local out sha
	need_tunnel
	out=$(client_in home upload-fin --port $P_ECHO --n 5242997 --seed 5) || fail "5 MB then FIN: $out"
	sha=$(json_get "$out" .local)
	grep -q "bytes=5242997 sha=$sha end=eof" "$W/svc-svc/echo.log" ||
		fail "the sha service did not log bytes=5242997 end=eof"
	out=$(client_in home upload-fin --port $P_ECHO --n 0) || fail "FIN at once: $out"
	out=$(client_in home upload-fin --port $P_ECHO --n 1 --seed 6) || fail "1 byte then FIN: $out"
}

# refused_probe PORT NAME [WORD]: the client-visible result of a forward
# whose stream the gateway refuses with WORD (denied), saved as
# $W/WORD-NAME.{result,line}
refused_probe() {
	local port=$1 name=$2 word=${3:-denied} before out r b line i
	before=$(count_i "$W/alice.out" "$word")
	out=$(client_in home probe --port "$port" --send 'GET /health HTTP/1.0\r\n\r\n' --timeout 60)
	note "probe $name: $out"
	r=$(json_get "$out" .result)
	b=$(json_get "$out" .bytes)
	[[ $r == eof || $r == reset ]] || fail "the local connection to $name: $out (want it closed)"
	[[ $b == 0 ]] || fail "$b bytes came back from $name"
	for ((i = 0; i < 300; i++)); do
		(($(count_i "$W/alice.out" "$word") > before)) && break
		sleep 0.1
	done
	(($(count_i "$W/alice.out" "$word") > before)) || fail "the client printed no '$word' line for $name"
	line=$(grep -i -- "$word" "$W/alice.out" | tail -n +$((before + 1)) | head -n 1)
	note "client: $line"
	printf '%s %s\n' "$r" "$b" >"$W/$word-$name.result"
	printf '%s\n' "$line" >"$W/$word-$name.line"
}

case_deny() {
	need_tunnel
	refused_probe $P_SECRET secret
	[[ $(sink_stats) == "connections=0 bytes=0 open=0" ]] ||
		fail "the secret service was reached: $(sink_stats)"
}

case_unknown() {
	local a b
	need_tunnel
	[[ -s $W/denied-secret.result ]] || fail "(e) recorded no result to compare with"
	refused_probe $P_NOSUCH nosuch
	[[ $(cat "$W/denied-nosuch.result") == "$(cat "$W/denied-secret.result")" ]] ||
		fail "local result differs: unknown '$(cat "$W/denied-nosuch.result")', denied '$(cat "$W/denied-secret.result")'"
	a=$(sed -E "s/\\bnosuch\\b/SERVICE/g; s/\\b$P_NOSUCH\\b/PORT/g; s/[0-9]+/N/g" "$W/denied-nosuch.line")
	b=$(sed -E "s/\\bsecret\\b/SERVICE/g; s/\\b$P_SECRET\\b/PORT/g; s/[0-9]+/N/g" "$W/denied-secret.line")
	[[ $a == "$b" ]] || fail "the client's lines differ: '$a' vs '$b'"
}

case_down() {
	local out
	need_tunnel
	refused_probe $P_DOWN down failed
	grep -q "failed: service unreachable" "$W/failed-down.line" ||
		fail "the client's line does not say why: $(cat "$W/failed-down.line")"
	wait_count_i "$W/gw1.log" "service down unreachable: Connection refused" 1 10 ||
		fail "the gateway logged no reason for down: $(grep -i down "$W/gw1.log" | tail -n 3 | tr '\n' '|')"
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "GET /health after the refused stream: '$out'"
}

case_ghost() {
	need_tunnel
	refused_probe $P_GHOST ghost failed
	grep -q "failed: service unreachable" "$W/failed-ghost.line" ||
		fail "the client's line does not say why: $(cat "$W/failed-ghost.line")"
	grep -q "service ghost unreachable: connect timed out" "$W/gw1.log" ||
		fail "the gateway did not time the connect out: $(grep -i ghost "$W/gw1.log" | tail -n 3 | tr '\n' '|')"
}

case_mute_dns() {
	local out
	need_tunnel
	refused_probe $P_MUTE mute failed
	grep -q "failed: gateway error" "$W/failed-mute.line" ||
		fail "the client's line does not say why: $(cat "$W/failed-mute.line")"
	grep -q "query" "$W/svc-svc/dns.log" || fail "no query reached the mute DNS server"
	# connect_timeout's own words: the resolver would have said "Temporary
	# failure" only after MUTE_DNS_S
	grep -q "cannot connect to service mute: name resolution timed out (the gateway's own failure" \
		"$W/gw1.log" ||
		fail "the gateway did not time the lookup out: $(grep -i mute "$W/gw1.log" | tail -n 3 | tr '\n' '|')"
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "GET /health after the timed-out stream: '$out'"
	# the user gives up while the name is resolving: the stream closes at
	# once, and its connect_timeout (1 s) must not fire on it afterwards
	# (ASan would see it; case_shutdown reads the sanitizer logs)
	out=$(client_in home probe --port $P_MUTE --send 'GET / HTTP/1.0\r\n\r\n' --timeout 0.2 --reset)
	[[ $(json_get "$out" .result) == timeout ]] || fail "the second probe of mute: $out"
	wait_count_i "$W/gw1.log" "stream mute#[0-9]* closed" 2 10 ||
		fail "the given-up stream did not close: $(grep -i mute "$W/gw1.log" | tail -n 3 | tr '\n' '|')"
	sleep 2
	(($(count_i "$W/gw1.log" "name resolution timed out") == 1)) ||
		fail "a timeout fired for a stream that had closed: $(grep -i mute "$W/gw1.log" | tr '\n' '|')"
	# five streams at once share one lookup: the DNS server is asked once
	# (A and AAAA), not five times
	local q0 i pids=()
	q0=$(count_i "$W/svc-svc/dns.log" query)
	for i in 1 2 3 4 5; do
		client_in home probe --port $P_MUTE --send 'GET / HTTP/1.0\r\n\r\n' --timeout 10 \
			>"$W/mute-$i.json" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	for i in 1 2 3 4 5; do
		[[ $(json_get "$(cat "$W/mute-$i.json")" .bytes) == 0 ]] ||
			fail "probe $i of mute: $(cat "$W/mute-$i.json")"
	done
	wait_count_i "$W/gw1.log" "name resolution timed out" 6 10 ||
		fail "not every one of the five timed out: $(grep -ci "name resolution timed out" "$W/gw1.log")"
	i=$(($(count_i "$W/svc-svc/dns.log" query) - q0))
	note "five streams at once: $i queries reached the DNS server"
	((i >= 1 && i <= 2)) || fail "five streams at once asked the DNS server $i times"
}

# gw1's own view (its mount namespace's hosts file) of what the resolver
# gives for $DUAL_NAME, in order
dual_order() {
	topo_exec office unshare --mount --propagation private -- sh -c \
		'mount --bind "$1" /etc/hosts && getent ahostsv4 "$2"' sh "$W/gw1-hosts" "$DUAL_NAME" |
		awk '$2 == "STREAM" { print $1 }' | tr '\n' ' '
}

case_dual() {
	local order out
	need_tunnel
	order=$(dual_order)
	[[ $order == "$GHOST_ADDR $(topo_addr svc) " ]] ||
		fail "the resolver's order in gw1's namespace is '$order', not the ghost first"
	out=$(curl_in home "http://127.0.0.1:$P_DUAL/health")
	[[ $out == ok ]] || fail "GET /health through dual: '$out' ($(grep -i dual "$W/gw1.log" | tail -n 3 | tr '\n' '|'))"
}

case_concurrent() {
	local out
	need_tunnel
	out=$(client_in home concurrent --port $P_API --count 100 --group "c100-$$-$RANDOM" \
		--bytes 65536 --timeout 300) || fail "$out"
	note "$out"
	[[ $(json_get "$out" .ok) == 100 ]] || fail "$out"
	grep -q 'max_active 100$' "$W/svc-svc/api.log" || fail "the API never saw 100 connections at once"
}

case_big() {
	local up down exp got
	need_tunnel
	client_in home post-sha --port $P_API --n $BIG --seed 21 --timeout $BIG_TIMEOUT >"$W/big-up.json" &
	up=$!
	topo_exec home bash -o pipefail -c 'curl -sS --fail --noproxy "*" --max-time "$2" "$1" | sha256sum' \
		_ "http://127.0.0.1:$P_API/bytes?n=$BIG&seed=22" $BIG_TIMEOUT >"$W/big-down.sha" &
	down=$!
	exp=$("${E2E_STREAM[@]}" sha $BIG 22)
	wait $up || fail "upload: $(cat "$W/big-up.json")"
	wait $down || fail "download: curl failed"
	note "upload: $(cat "$W/big-up.json")"
	[[ $(json_get "$(cat "$W/big-up.json")" .sent) == "$BIG" ]] || fail "upload sent the wrong count"
	got=$(cut -d' ' -f1 "$W/big-down.sha")
	[[ $got == "$exp" ]] || fail "download: sha $got, want $exp"
}

# no_data NODE PORT PROBE: nothing answers through that forward, and the
# API never saw the probe
no_data() {
	local out
	out=$(curl_in "$1" "http://127.0.0.1:$2/health?probe=$3" --max-time 10 2>/dev/null || true)
	[[ $out != ok && $out != rogue ]] || fail "GET /health through $2 answered '$out'"
	! grep -q "probe=$3" "$W/svc-svc/api.log" || fail "the probe reached the API in svc"
}

case_unpinned() {
	local off pid
	topo_alive "$GW_PID" || fail "the gateway is not running any more"
	off=$(file_size "$W/gw1.log")
	start_client mallory home2 "$W/mallory.out" 28080:api
	pid=$BG_PID
	# the gateway may refuse before it offers (no SDP relayed): its log
	# line is the proof that it met mallory
	wait_grep_since "$W/gw1.log" "$off" 60 "$REFUSE_RE" || fail "the gateway logged no refusal"
	note "gateway: $(since "$W/gw1.log" "$off" | grep -Ei "$REFUSE_RE" | head -n 3)"
	no_data home2 28080 mallory
	# last: the user must learn that there is no tunnel
	wait_grep "$W/mallory.out" 90 "$FAIL_RE" ||
		fail "mallory's client printed no failure: $(tail -n 5 "$W/mallory.out" | tr '\n' '|')"
	note "client: $(grep -Ei "$FAIL_RE" "$W/mallory.out" | head -n 3)"
	stop_bg "$pid" 10
}

case_wrong_pin() {
	local r0 pid
	topo_alive "$GW_PID" || fail "the gateway is not running any more"
	r0=$(relayed)
	start_client alice2 home2 "$W/alice2.out" 38080:api
	pid=$BG_PID
	wait_grep "$W/alice2.out" 90 "$FAIL_RE" ||
		fail "the client printed no failure: $(tail -n 5 "$W/alice2.out" | tr '\n' '|')"
	note "client: $(grep -Ei "$FAIL_RE" "$W/alice2.out" | head -n 3)"
	no_data home2 38080 wrongpin
	(($(relayed) > r0)) || fail "no SDP/ICE was relayed: the client never met gw1"
	stop_bg "$pid" 10
}

case_rogue() {
	local g0 r0 pid rpid
	g0=$(signal_metric 'peerpipe_signal_peers{role="gateway"}')
	start_bg rogue "$W/rogue-gw.log" "$GATEWAY_BIN" --config "$W/rogue.ini"
	rpid=$BG_PID
	wait_gateways $((g0 + 1)) 30 ||
		fail "the rogue gateway did not join: $(tail -n 5 "$W/rogue-gw.log" | tr '\n' '|')"
	r0=$(relayed)
	start_client alice3 home2 "$W/alice3.out" 48080:api
	pid=$BG_PID
	wait_grep "$W/alice3.out" 90 "$FAIL_RE" ||
		fail "the client printed no failure: $(tail -n 5 "$W/alice3.out" | tr '\n' '|')"
	note "client: $(grep -Ei "$FAIL_RE" "$W/alice3.out" | head -n 3)"
	no_data home2 48080 rogue
	! grep -q ' req ' "$W/svc-rogue/api.log" || fail "a request reached the rogue's service"
	(($(relayed) > r0)) || fail "no SDP/ICE was relayed: the client never met the rogue"
	stop_bg "$pid" 10
	stop_bg "$rpid" 10
}

case_reload() {
	local i out off st goff goff0 others stopped
	need_tunnel
	goff=$(file_size "$W/gw1.log")
	goff0=$goff
	# with a setting that only a restart applies: the reload says so
	write_gw1_config @staff 'stream_buffer = 512KiB'
	kill -HUP "$GW_PID"
	wait_grep_since "$W/gw1.log" "$goff" 10 'reload: stream_buffer changed in the file but needs a restart' ||
		fail "the reload did not warn that stream_buffer needs a restart"
	others=$(since "$W/gw1.log" "$goff" | grep -o 'reload: [a-z_]* changed' | grep -v stream_buffer || true)
	[[ -z $others ]] || fail "the reload warned about other settings: $(tr '\n' '|' <<<"$others")"
	for ((i = 0; i < 60; i++)); do
		client_in home send --port $P_SECRET --n 1000 --seed 31 --timeout 10 >/dev/null 2>&1 || true
		st=$(sink_stats)
		[[ $st =~ bytes=([0-9]+) ]] && ((BASH_REMATCH[1] >= 1000)) && break
		sleep 0.5
	done
	note "sink after the grant: $st"
	[[ $st =~ bytes=([0-9]+) ]] && ((BASH_REMATCH[1] >= 1000 && BASH_REMATCH[1] % 1000 == 0)) ||
		fail "after SIGHUP alice still cannot use secret (sink: $st)"
	topo_alive "$GW_PID" || fail "the gateway died on SIGHUP"
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "the tunnel broke on reload: '$out'"

	write_gw1_config bob
	kill -HUP "$GW_PID"
	off=$(file_size "$W/alice.out")
	for ((i = 0; i < 60; i++)); do
		out=$(client_in home probe --port $P_SECRET --timeout 5)
		# closed at once, and the client says denied (a granted stream to
		# the sink stays open until the probe gives up)
		if [[ $(json_get "$out" .result) =~ ^(eof|reset)$ ]]; then
			wait_grep_since "$W/alice.out" "$off" 5 denied && break
		fi
		off=$(file_size "$W/alice.out")
		sleep 0.5
	done
	[[ $(json_get "$out" .result) =~ ^(eof|reset)$ && $(json_get "$out" .bytes) == 0 ]] ||
		fail "after the second SIGHUP alice can still use secret ($out)"
	wait_grep_since "$W/alice.out" "$off" 5 denied || fail "the client printed no 'denied' after the revoke"
	topo_alive "$GW_PID" || fail "the gateway died on the second SIGHUP"

	# A stream revoked while its service's name resolves stops resolving
	# then, not when the peer answers the reset: alice's client is stopped
	# (it cannot answer) across the stream's connect_timeout (4 s here),
	# which must not fire for it.
	local t0 q0 probe
	goff=$(file_size "$W/gw1.log")
	CONNECT_TIMEOUT=4s write_gw1_config bob
	kill -HUP "$GW_PID"
	wait_grep_since "$W/gw1.log" "$goff" 10 'configuration reloaded' || fail "no reload with connect_timeout 4s"
	t0=$(count_i "$W/gw1.log" 'name resolution timed out')
	q0=$(count_i "$W/svc-svc/dns.log" query)
	client_in home probe --port $P_MUTE --send 'GET / HTTP/1.0\r\n\r\n' --timeout 20 >"$W/mute-revoked.json" &
	probe=$!
	# its OPEN is at the gateway once its lookup asks the mute server
	wait_count_i "$W/svc-svc/dns.log" query $((q0 + 1)) 10 || fail "the revoked stream's lookup never reached the DNS server"
	kill -STOP "$ALICE_PID"
	goff=$(file_size "$W/gw1.log")
	CONNECT_TIMEOUT=4s write_gw1_config bob "" bob
	kill -HUP "$GW_PID"
	wait_grep_since "$W/gw1.log" "$goff" 10 'configuration reloaded' || { kill -CONT "$ALICE_PID"; fail "no reload revoking mute"; }
	sleep 5 # past the stream's connect_timeout
	kill -CONT "$ALICE_PID"
	stopped=$SECONDS
	wait_grep_since "$W/gw1.log" "$goff" 20 'stream mute#[0-9]+ closed: .* reason=access revoked' ||
		fail "the revoked mute stream did not close: $(since "$W/gw1.log" "$goff" | grep -i mute | tail -n 3 | tr '\n' '|')"
	wait "$probe" || true
	(($(count_i "$W/gw1.log" 'name resolution timed out') == t0)) ||
		fail "the lookup of a revoked stream went on to its timeout: $(since "$W/gw1.log" "$goff" | grep -i mute | tr '\n' '|')"
	goff=$(file_size "$W/gw1.log")
	write_gw1_config bob
	kill -HUP "$GW_PID"
	wait_grep_since "$W/gw1.log" "$goff" 10 'configuration reloaded' || fail "no reload back to the usual config"
	# The stop may have outlasted either side's ICE consent (10 s since
	# its last answer, by each side's own clock): the tunnel must come
	# through it with an ICE restart, and be sound before the next case
	# (which kills the signaling server that a restart needs).
	while ((SECONDS - stopped < 16)); do sleep 0.5; done
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "alice's tunnel did not come through her stop: '$out'"
	! since "$W/gw1.log" "$goff0" | grep -E '\[alice\] peer disconnected' ||
		fail "alice's session ended across her stop"
	note "across alice's stop: $(since "$W/gw1.log" "$goff0" | grep -E 'alice/.*(path lost|restart|path back)' | sed 's/^[^ ]* //' | tr '\n' '|')"
}

# STUN Binding success responses (class and method 0x0101) that leave
# home: alice answers none of the gateway's consent checks, while the
# gateway answers hers. The gateway's consent expires, alice's does not.
ONE_WAY_RULE=(OUTPUT -p udp -m u32 --u32 "0>>22&0x3C@8>>16=0x0101" -j DROP)

# paused_download NAME SEED: a 32 MiB download through alice's source
# forward that pauses after 4 MiB until $W/NAME.gate exists; its JSON goes
# to $W/NAME.json, its pid to DL_PID. Returns once it has paused.
paused_download() {
	local name=$1 seed=$2
	rm -f -- "$W/$name.gate" "$W/$name.progress"
	client_in home download --port $P_SOURCE --n 33554432 --seed "$seed" --gate "$W/$name.gate" \
		--gate-after 4194304 --progress "$W/$name.progress" --timeout 150 >"$W/$name.json" &
	DL_PID=$!
	wait_file "$W/$name.progress" 60 '^paused' || fail "the download did not get its first 4 MiB"
}

# download_kept NAME GOFF AOFF: the download of paused_download completed
# with its SHA-256 equal, and alice's session lived through it (gw1.log
# and alice.out read from offsets GOFF and AOFF).
download_kept() {
	local name=$1 goff=$2 aoff=$3 out
	wait "$DL_PID" || fail "the download failed: $(cat "$W/$name.json")"
	out=$(cat "$W/$name.json")
	note "download: $out"
	[[ $(json_get "$out" .match) == true && $(json_get "$out" .paused) == true ]] || fail "$out"
	note "gateway: $(since "$W/gw1.log" "$goff" | grep -E 'alice/' | sed 's/^[^ ]* //' | tr '\n' '|')"
	! since "$W/gw1.log" "$goff" | grep -E '\[alice\] peer disconnected' || fail "alice's session ended"
	! since "$W/alice.out" "$aoff" | grep -i 'tunnel to gw1 down' || fail "alice's client saw its tunnel go down"
	# what alice saw on her terminal: the outage, and its end
	note "alice: $(since "$W/alice.out" "$aoff" | grep 'tunnel to gw1: path' | tr '\n' '|')"
	since "$W/alice.out" "$aoff" | grep -q 'tunnel to gw1: path lost' ||
		fail "alice's client did not say that its path was lost"
	since "$W/alice.out" "$aoff" | grep -q 'tunnel to gw1: path back' ||
		fail "alice's client did not say that its path was back"
}

case_one_way() {
	local goff aoff
	need_tunnel
	goff=$(file_size "$W/gw1.log")
	aoff=$(file_size "$W/alice.out")
	paused_download ow 43
	topo_exec home iptables -I "${ONE_WAY_RULE[@]}"
	wait_grep_since "$W/gw1.log" "$goff" 30 'alice/.*ICE path lost' ||
		{ topo_exec home iptables -D "${ONE_WAY_RULE[@]}"; fail "the gateway's consent did not expire"; }
	# The gateway's ICE generation has failed for good; its restart, 2 s
	# later, runs on a path that answers both ways (as it would if the
	# fault had passed), not in a race with this shell's removal of the
	# rule: its offer goes out at once (node_hold.c).
	topo_exec home iptables -D "${ONE_WAY_RULE[@]}"
	touch "$W/ow.gate" # the rest of the download goes across the restart
	wait_grep_since "$W/gw1.log" "$goff" 10 'alice/.*the peer did not restart ICE, restarting ICE' ||
		fail "the gateway did not restart ICE: $(since "$W/gw1.log" "$goff" | grep alice/ | tail -n 3 | tr '\n' '|')"
	wait_grep_since "$W/gw1.log" "$goff" 20 'alice/.*session: path back' || fail "the path did not come back"
	download_kept ow "$goff" "$aoff"
}

# A desktop that crashes and comes back: the gateway still has the old
# session (it ends only by consent timeout) and re-addresses it to the new
# peer id instead of offering; the new client, given no offer, offers
# itself 3 s after joining and the gateway answers with a new session.
case_client_restart() {
	local pid out1=$W/bob-crash-1.out out2=$W/bob-crash-2.out
	local -a args=(connect --signal "$SIG_URL" --token-file "$W/tokens/bob.token"
		--ca-file "$E2E_CA" --gateway gw1 --pin "$(cat "$W/gw1.fp")")
	need_tunnel
	start_bg -e "$W/bob-crash-1.err" home2 "$out1" "$CLI_BIN" --config-dir "$W/clients/bob" "${args[@]}"
	pid=$BG_PID
	wait_grep "$out1" 30 'connected to gateway' || fail "bob's first client got no tunnel: $(tail -n 3 "$out1" | tr '\n' '|')"
	kill -9 "$pid"
	stop_bg "$pid" 5
	start_bg -e "$W/bob-crash-2.err" home2 "$out2" "$CLI_BIN" --config-dir "$W/clients/bob" "${args[@]}"
	pid=$BG_PID
	wait_grep "$out2" 30 'connected to gateway' ||
		fail "bob's restarted client got no tunnel: $(tail -n 3 "$out2" | tr '\n' '|')"
	wait_grep "$out2" 10 '^peerpipe: services: [1-9]' || fail "no SERVICES on the new session"
	note "gateway: $(grep -E 'session kept|a new offer' "$W/gw1.log" | tail -n 2 | sed 's/^[^ ]* //' | tr '\n' '|')"
	stop_bg "$pid" 10
	[[ $BG_STATUS == 0 ]] || fail "bob's client exited $BG_STATUS"
}

# A client on a network that lets no UDP out (a hotel, a corporate
# firewall): its only path is the TURN relay reached over TCP, which the
# signaling server hands out beside the UDP one. bob's tunnel must come up
# through it (his side's selected pair is relayed) and carry the session's
# messages (SERVICES).
udp_unblock() { topo_exec home2 iptables -D OUTPUT -p udp -j DROP 2>/dev/null || true; }

case_udp_blocked() {
	local pid out=$W/bob-tcp.out err=$W/bob-tcp.err
	need_tunnel
	topo_exec home2 iptables -I OUTPUT -p udp -j DROP || fail "cannot block UDP in home2"
	start_bg -e "$err" home2 "$out" "$CLI_BIN" --config-dir "$W/clients/bob" connect \
		--signal "$SIG_URL" --token-file "$W/tokens/bob.token" --ca-file "$E2E_CA" \
		--gateway gw1 --pin "$(cat "$W/gw1.fp")" --log-level info
	pid=$BG_PID
	if ! wait_grep "$out" 60 'connected to gateway'; then
		udp_unblock
		fail "no tunnel for bob without UDP: $(grep -E 'ice:|not connected' "$err" | tail -n 4 | tr '\n' '|')"
	fi
	wait_grep "$out" 10 '^peerpipe: services: [1-9]' || { udp_unblock; fail "no SERVICES through the relay"; }
	note "bob: $(grep -E 'ice: selected pair' "$err" | tail -n 1)"
	grep -q 'ice: selected pair relay/' "$err" || { udp_unblock; fail "bob's pair is not relayed: $(grep 'selected pair' "$err" | tr '\n' '|')"; }
	stop_bg "$pid" 10
	udp_unblock
	[[ $BG_STATUS == 0 ]] || fail "bob's client exited $BG_STATUS"
}

# A gateway that crashes and comes back (an upgrade, an OOM kill): the
# running client still holds a session with the old process, which no
# longer exists, and must not take the new gw1 for the old one (same name
# and fingerprint, a new peer id); it gets a new tunnel by itself, and a
# request through its forward is answered, without a restart of the client.
# run_case_main: the gateway is restarted in this shell (its pid must stay
# our child, for case_shutdown); the checks run in a subshell, so fail()
# only leaves that.
case_gateway_restart() {
	local eoff
	if [[ ! -f $W/tunnel.up ]] || ! topo_alive "$GW_PID"; then
		echo "the tunnel did not come up (case 1)" >"$W/case.reason"
		return 1
	fi
	eoff=$(file_size "$W/alice.out")
	restart_gw1 gw1-first.log
	(
		alice_back_after_restart "$eoff"
		note "a new tunnel and a request answered $((($(date +%s%N) - RESTART_T0) / 1000000)) ms after the gateway started again"
		note "alice: $(since "$W/alice.out" "$eoff" | grep -E 'tunnel|connected' | tr '\n' '|')"
	)
}

# restart_gw1 KEEP: gw1 killed (-9) and started again; its log so far is
# kept as KEEP (the later cases read the running gateway's log as
# gw1.log); RESTART_T0 is when it started again.
restart_gw1() {
	kill -9 "$GW_PID"
	stop_bg "$GW_PID" 5
	mv -- "$W/gw1.log" "$W/$1"
	RESTART_T0=$(date +%s%N)
	start_gw1 "$W/gw1.log"
}

# alice_back_after_restart EOFF (in a case's subshell): the restarted gw1
# joined; alice's client (its stdout since EOFF) got a new tunnel, told
# so by the new process's answer, not by the old session's ICE restarts
# running out (half a minute); her forward answers; gw1 still runs.
alice_back_after_restart() {
	local eoff=$1
	wait_grep "$W/gw1.log" 30 'signaling: joined' ||
		fail "the restarted gateway did not join: $(tail -n 5 "$W/gw1.log" | tr '\n' '|')"
	wait_grep_since "$W/alice.out" "$eoff" 60 'connected to gateway' ||
		fail "alice's client got no tunnel to the restarted gateway: $(since "$W/alice.out" "$eoff" | tail -n 4 | tr '\n' '|')"
	since "$W/alice.out" "$eoff" | grep -q 'tunnel to gw1 down: the peer restarted' ||
		fail "alice's client did not learn that gw1 restarted: $(since "$W/alice.out" "$eoff" | grep tunnel | tr '\n' '|')"
	health_via home $P_API 20 || fail "GET /health through the new tunnel did not say ok"
	topo_alive "$GW_PID" || fail "the restarted gateway exited"
}

# A gateway whose host is lost (a crash, a power cut): no FIN reaches the
# signaling server, which keeps gw1's old id in the room until its ping
# timeout (30 s), and the new process joins while it is still there.
# alice's client must not take the newcomer for gw1 on a declared name
# and identity alone: its session is checked (PING), found silent, and
# only then follows the newcomer, whose answer is for a session of its
# own; alice gets a new tunnel before the old id has left the room. The
# old connection is silenced both ways in office (by its own port), so
# that neither a FIN nor an RST reaches the server. run_case_main, as
# above; gw1's second process's log becomes gw1-second.log.
case_gateway_lost() {
	local eoff aoff port old_id rc=0
	local -a out_rule in_rule
	if [[ ! -f $W/tunnel.up ]] || ! topo_alive "$GW_PID"; then
		echo "the tunnel did not come up (case 1)" >"$W/case.reason"
		return 1
	fi
	port=$(topo_exec office ss -Htn state established "( dport = :$SIG_PORT )" |
		awk '{ sub(/.*:/, "", $3); print $3; exit }')
	old_id=$(grep -o 'joined room [^ ]* as [0-9a-f]*' "$W/gw1.log" | tail -n 1 | awk '{ print $5 }')
	if [[ ! $port =~ ^[0-9]+$ || -z $old_id ]]; then
		echo "gw1's signaling connection not found (port '$port', id '$old_id')" >"$W/case.reason"
		return 1
	fi
	out_rule=(OUTPUT -p tcp --sport "$port" --dport "$SIG_PORT" -j DROP)
	in_rule=(INPUT -p tcp --dport "$port" --sport "$SIG_PORT" -j DROP)
	topo_exec office iptables -I "${out_rule[@]}"
	topo_exec office iptables -I "${in_rule[@]}"
	eoff=$(file_size "$W/alice.out")
	aoff=$(file_size "$W/alice.err")
	restart_gw1 gw1-second.log
	(
		alice_back_after_restart "$eoff"
		# before the old id left: followed on a silent check, not on PEER_LEFT
		! grep -q "\[$old_id\] left room" "$W/signal-"*.err ||
			fail "gw1's old id left the room before alice's new tunnel: the case tests nothing"
		since "$W/alice.err" "$aoff" | grep -q 'the peer is silent, and .* declares its name and identity: the session follows it' ||
			fail "alice's session did not follow the new gw1: $(since "$W/alice.err" "$aoff" | tail -n 4 | tr '\n' '|')"
		note "a new tunnel and a request answered $((($(date +%s%N) - RESTART_T0) / 1000000)) ms after the gateway started again, gw1's old id ${old_id:0:8} still in the room"
	) || rc=$?
	topo_exec office iptables -D "${out_rule[@]}"
	topo_exec office iptables -D "${in_rule[@]}"
	return "$rc"
}

# A laptop that sleeps (its client stopped, SIGSTOP) longer than the
# gateway keeps a lost session: on waking, the client must notice that the
# tunnel is gone and get a new one by itself. The gateway, which has no
# session with alice any more, offers her a new one when she rejoins
# signaling; her session, its path lost, must give way to it rather than
# wait for ICE restarts the gateway cannot answer (26 s before).
case_client_sleep() {
	local eoff goff t0
	need_tunnel
	eoff=$(file_size "$W/alice.out")
	goff=$(file_size "$W/gw1.log")
	kill -STOP "$ALICE_PID"
	wait_grep_since "$W/gw1.log" "$goff" 60 'alice.*(session ended|peer disconnected|connection failed)' ||
		{ kill -CONT "$ALICE_PID"; fail "the gateway kept alice's session for 60 s"; }
	sleep 2
	kill -CONT "$ALICE_PID"
	t0=$(date +%s%N)
	health_via home $P_API 60 ||
		fail "GET /health after waking did not say ok: $(since "$W/alice.out" "$eoff" | tr '\n' '|')"
	since "$W/alice.out" "$eoff" | grep -q 'tunnel to gw1 down: the peer started a new session' ||
		fail "alice's session did not give way to the gateway's new one: $(since "$W/alice.out" "$eoff" | grep tunnel | tr '\n' '|')"
	note "woken: a request answered $((($(date +%s%N) - t0) / 1000000)) ms after SIGCONT"
	note "alice: $(since "$W/alice.out" "$eoff" | tr '\n' '|')"
}

case_signal_killed() {
	local dl spid out i
	need_tunnel
	rm -f -- "$W/sk.gate" "$W/sk.progress"
	client_in home download --port $P_SOURCE --n $BIG --seed 41 --gate "$W/sk.gate" \
		--gate-after 8388608 --progress "$W/sk.progress" --timeout $BIG_TIMEOUT >"$W/sk.json" &
	dl=$!
	wait_file "$W/sk.progress" 120 '^paused' || fail "the download did not get its first 8 MiB"
	spid=$(cat "$W/signal.pid")
	kill -KILL "$spid"
	for ((i = 0; i < 100; i++)); do
		topo_alive "$spid" || break
		sleep 0.1
	done
	! topo_alive "$spid" || fail "peerpipe-signal survived SIGKILL"
	! topo_exec inet ss -Hltn "sport = :$SIG_PORT" | grep -q . || fail "something still listens on $SIG_PORT"
	touch "$W/sk.gate"
	wait $dl || fail "the download failed: $(cat "$W/sk.json")"
	out=$(cat "$W/sk.json")
	note "download: $out"
	[[ $(json_get "$out" .match) == true && $(json_get "$out" .paused) == true ]] || fail "$out"
	topo_alive "$GW_PID" || fail "the gateway died with the signaling server"
	topo_alive "$ALICE_PID" || fail "the client died with the signaling server"
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "no new stream without the signaling server: '$out'"
	e2e_start_signal || fail "peerpipe-signal did not start again"
}

# --- (j) and (k): tools/hostile_peer.c, a desktop node on libpeerpipe --------

# (j): attack kind, then what the gateway's "bad data/text message"
# warning must say (pp_frame_decode's and pp_ctrl_parse's reasons)
HOSTILE_KINDS=(
	"bomb|bad data message: zstd output over 65536 bytes"
	"bomb-sized|bad data message: zstd frame content size over 65536"
	"bomb-stream|bad data message: zstd output over 65536 bytes"
	"lz4-len|bad data message: lz4 length over 65536"
	"oversized|bad data message: message over 66560 bytes"
	"badflags|bad data message: unknown flag bits"
	"sealed|bad data message: sealed message without v1.1-G"
	"empty|bad data message: empty message \(no flags byte\)"
	"garbage-text|bad text message: not valid JSON"
)
# the sha service's line for a connection reset before any byte
SHA_RESET_RE='bytes=0 sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 end=reset'

# hostile_run NAME TOKEN ATTACK [ARGS...]: the tool in home with the
# identity of client NAME and token $W/tokens/TOKEN.token; its JSON line
# on stdout, its log in $W/hostile-TOKEN-ATTACK.err
hostile_run() {
	local name=$1 token=$2 attack=$3
	shift 3
	topo_exec home "$HOSTILE_BIN" --signal "$SIG_URL" --ca-file "$E2E_CA" \
		--token-file "$W/tokens/$token.token" --identity-dir "$W/clients/$name/identity" \
		--gateway gw1 --pin "$(cat "$W/gw1.fp")" --attack "$attack" "$@" \
		2>"$W/hostile-$token-$attack.err"
}

need_hostile_bin() {
	[[ -x $HOSTILE_BIN ]] || skip "hostile_peer not built ($HOSTILE_BIN)"
}

# wait_count FILE ERE N TIMEOUT_S: until FILE has more than N matching lines
wait_count() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		(($(count_i "$1" "$2") > $3)) && return 0
		sleep 0.1
	done
	return 1
}

alice_still_up() {
	local out
	topo_alive "$GW_PID" || fail "the gateway died"
	topo_alive "$ALICE_PID" || fail "alice's client died"
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "GET /health through alice's tunnel after the attacks: '$out'"
}

# (j) One tool run per kind, each its own session of a copy of alice's
# identity: a 4 MiB stream to the FIN-reliant sha service (echo) and, once
# 1 MiB of it is through, a second stream that gets the bad message. The
# tool checks (exit 0): the gateway reset the attacked stream, the healthy
# one returned the right SHA-256, the session is still READY. Here: the
# gateway's warning and its stream-closed line, and the service's view.
case_hostile() {
	local entry kind re off out n0 n1 r0 sum=0 t0 bye
	need_tunnel
	need_hostile_bin
	# under another name than alice's: the gateway's node takes a peer with
	# alice's name and fingerprint for alice's live session (node.c
	# pp_tnode_find_live) and would not offer to it
	[[ -d $W/clients/hostile ]] || clone_client alice hostile || fail "cannot copy alice's identity"
	mk_token hostile office desktop "$W/tokens/hostile.token" || fail "token for hostile"
	for entry in "${HOSTILE_KINDS[@]}"; do
		kind=${entry%%|*}
		re=${entry#*|}
		off=$(file_size "$W/gw1.log")
		n0=$(count_i "$W/svc-svc/echo.log" 'bytes=4194304 .*end=eof')
		r0=$(count_i "$W/svc-svc/echo.log" "$SHA_RESET_RE")
		t0=$SECONDS
		out=$(hostile_run hostile hostile "$kind" --service echo --timeout 20) ||
			fail "$kind: hostile_peer: ${out:-no result} (log: $(tail -n 5 "$W/hostile-hostile-$kind.err" | tr '\n' '|'))"
		sum=$((sum + SECONDS - t0))
		note "$kind: $out"
		[[ $(json_get "$out" .ok) == true && $(json_get "$out" .attacked_reason) == "reset by peer" &&
			$(json_get "$out" .healthy_hash_ok) == true && $(json_get "$out" .session_ready_after) == true ]] ||
			fail "$kind: $out"
		# the gateway's own account: the bad message, then the stream's end
		wait_grep_since "$W/gw1.log" "$off" 5 "stream echo#[0-9]+: $re" ||
			fail "$kind: the gateway logged no '$re': $(since "$W/gw1.log" "$off" | grep -Ei 'stream|warn' | head -n 5 | tr '\n' '|')"
		wait_grep_since "$W/gw1.log" "$off" 10 'stream echo#[0-9]+ closed: .*to_service=0 .*reason=protocol error' ||
			fail "$kind: the gateway logged no 'stream ... closed: ... to_service=0 ... reason=protocol error'"
		note "gateway: $(since "$W/gw1.log" "$off" | grep -Ei "$re|reason=protocol error" | head -n 2 | tr '\n' '|')"
		# informational: was the attacked stream's end booked while the
		# session was up (before the tool's BYE)?
		bye=$(since "$W/gw1.log" "$off" | grep -Eo 'reason=protocol error|peer says BYE' | head -n 1)
		note "gateway booked the attacked stream closed before the tool's BYE: $([[ $bye == reason=* ]] && echo yes || echo no)"
		# the service: the healthy stream whole and ended by its FIN; the
		# attacked one reset before a single byte
		wait_count "$W/svc-svc/echo.log" 'bytes=4194304 .*end=eof' "$n0" 5 ||
			fail "$kind: the sha service logged no 4 MiB stream ending in EOF"
		wait_count "$W/svc-svc/echo.log" "$SHA_RESET_RE" "$r0" 5 ||
			fail "$kind: the sha service logged no connection reset with 0 bytes"
		topo_alive "$GW_PID" || fail "$kind: the gateway died"
	done
	note "the tool's runs took $sum s"
	# alice's ordinary session did not notice
	alice_still_up
	out=$(client_in home upload-fin --port $P_ECHO --n 100000 --seed 51) || fail "alice's echo after the attacks: $out"
}

# (k) eve, an identity the gateway does not know, declares alice's
# fingerprint in JOIN_ROOM; her DTLS certificate is her own.
#  1. as "eve": the gateway wants her (the declared fingerprint is a known
#     identity's; no live session has the name eve) and offers; the DTLS
#     pin check refuses her own certificate.
#  2. with a token named "alice" while alice is still in the room: the
#     gateway's node must not take her for alice's live session (same name,
#     same declared fingerprint: a session is re-addressed only when its
#     peer id has left the room); it offers, and the pin check refuses her.
#     No session either way, and alice's tunnel keeps working.
case_spoof() {
	local off out layer own alice t0
	need_tunnel
	need_hostile_bin
	[[ -d $W/clients/eve ]] || mk_client eve || fail "cannot make eve's identity"
	mk_token eve office desktop "$W/tokens/eve.token" || fail "token for eve"
	mk_token alice office desktop "$W/tokens/eve-as-alice.token" || fail "token for eve as alice"
	alice=$(cat "$W/alice.fp")
	own=$(cat "$W/eve.fp")

	off=$(file_size "$W/gw1.log")
	t0=$SECONDS
	out=$(hostile_run eve eve spoof --declare-fingerprint "$alice" --timeout 15) ||
		fail "spoof as eve: ${out:-no result} (log: $(tail -n 5 "$W/hostile-eve-spoof.err" | tr '\n' '|'))"
	note "spoof as eve ($((SECONDS - t0)) s): $out"
	[[ $(json_get "$out" .ok) == true && $(json_get "$out" .session_ready) == false ]] || fail "spoof as eve: $out"
	layer=$(json_get "$out" .refused_at)
	[[ $layer == dtls && $(json_get "$out" .offered) == true ]] || fail "spoof as eve: refused at '$layer', want dtls after an offer: $out"
	wait_grep_since "$W/gw1.log" "$off" 5 "dtls: not pinned: ${own}" ||
		fail "spoof as eve: the gateway logged no DTLS refusal of $own: $(since "$W/gw1.log" "$off" | head -n 8 | tr '\n' '|')"
	grep -qi 'received fatal alert: bad certificate' "$W/hostile-eve-spoof.err" ||
		fail "spoof as eve: the tool saw no bad_certificate alert"
	note "gateway: $(since "$W/gw1.log" "$off" | grep -Ei 'dtls: (not pinned|failed)|session ended' | head -n 3 | tr '\n' '|')"
	! since "$W/gw1.log" "$off" | grep -q 'peer connected' || fail "spoof as eve: the gateway logged a connected peer"

	off=$(file_size "$W/gw1.log")
	t0=$SECONDS
	out=$(hostile_run eve eve-as-alice spoof --declare-fingerprint "$alice" --timeout 5) ||
		fail "spoof as alice: ${out:-no result} (log: $(tail -n 5 "$W/hostile-eve-as-alice-spoof.err" | tr '\n' '|'))"
	note "spoof as alice ($((SECONDS - t0)) s): $out"
	[[ $(json_get "$out" .ok) == true && $(json_get "$out" .session_ready) == false ]] || fail "spoof as alice: $out"
	note "spoof as alice: refused at '$(json_get "$out" .refused_at)'"
	note "gateway: $(since "$W/gw1.log" "$off" | grep -Ei 'session kept|not pinned|peer refused|offer' | head -n 3 | tr '\n' '|')"
	# alice is still in the room: her live session must not be handed to
	# eve's peer id; eve gets her own offer and fails the pin check
	! since "$W/gw1.log" "$off" | grep -q 'session kept' ||
		fail "spoof as alice: the gateway re-addressed alice's live session to eve"
	wait_grep_since "$W/gw1.log" "$off" 5 "dtls: not pinned: ${own}" ||
		fail "spoof as alice: no DTLS refusal of $own in the gateway log"
	! since "$W/gw1.log" "$off" | grep -q 'peer connected' || fail "spoof as alice: the gateway logged a connected peer"
	alice_still_up
}

# alice's address after her network change (her LAN, another host part)
HOME_NEW_ADDR=192.168.1.11

# move_to NS ADDR ROUTER: NS's eth0 gets ADDR (/24) instead of its address,
# its default route via the topology's address ROUTER: a network change
move_to() {
	local router
	router=$(topo_addr "$3") || return 1
	topo_exec "$1" sh -c "ip addr flush dev eth0 && ip addr add $2/24 dev eth0 &&
		ip route add default via $router"
}

# a request through alice's api forward after a network change: a new stream
new_stream_after_change() {
	local out
	out=$(curl_in home "http://127.0.0.1:$P_API/health")
	[[ $out == ok ]] || fail "a new stream after the change: '$out'"
}

# A network change on alice's side, as a laptop moving to another network
# sees it: her address changes under a running download, which takes her
# WebSocket (its replies go to an address nobody has) and her UDP path at
# once. Her client's ICE restart offer waits for a check of its signaling
# connection; the check fails, the client rejoins from the new address
# and offers the restart from its new peer id; the gateway follows the
# session there. Without the check the offer went out on the dead
# WebSocket and the session ended when the restart window did. Her
# address stays the new one: nothing after this case needs the old.
case_network_change() {
	local goff aoff eoff
	need_tunnel
	goff=$(file_size "$W/gw1.log")
	aoff=$(file_size "$W/alice.out")
	eoff=$(file_size "$W/alice.err")
	paused_download nc 44
	move_to home "$HOME_NEW_ADDR" home-nat-lan || fail "cannot change alice's address"
	touch "$W/nc.gate" # the rest of the download goes across the change
	wait_grep_since "$W/gw1.log" "$goff" 60 "alice/.*ICE restart from the peer's new id" ||
		fail "no ICE restart from alice's new id: $(since "$W/alice.err" "$eoff" | tail -n 4 | tr '\n' '|')"
	wait_grep_since "$W/gw1.log" "$goff" 30 'alice/.*session: path back' || fail "the path did not come back"
	note "alice: $(since "$W/alice.err" "$eoff" | sed 's/^[^ ]* //' | tr '\n' '|')"
	download_kept nc "$goff" "$aoff"
	alice_audit_from_home_nat peer_path_back || fail "peer_path_back: alice's address"
	new_stream_after_change
}

# gw1's address after its network change (the office LAN, another host part)
OFFICE_NEW_ADDR=10.20.0.11

# The mirror of the above at the gateway: its address changes under a
# running download. Alice's signaling is fine, so her restart offer goes
# out at once, to gw1's old peer id, which the server keeps until its ping
# timeout: it is lost. gw1's own fallback restart waits for a check of its
# signaling connection; the check fails, gw1 rejoins from the new address
# and offers from its new id; alice's client follows the session there
# and, its own offer lost, answers instead of refusing in glare. gw1's
# address stays the new one: nothing after this case needs the old.
case_gateway_network_change() {
	local goff aoff
	need_tunnel
	goff=$(file_size "$W/gw1.log")
	aoff=$(file_size "$W/alice.out")
	paused_download gnc 45
	move_to office "$OFFICE_NEW_ADDR" office-nat-lan || fail "cannot change gw1's address"
	touch "$W/gnc.gate" # the rest of the download goes across the change
	wait_grep_since "$W/gw1.log" "$goff" 60 'alice/.*ICE restart offer held' ||
		fail "gw1 held no restart offer: $(since "$W/gw1.log" "$goff" | grep -E 'alice/|signal' | tail -n 4 | tr '\n' '|')"
	wait_grep_since "$W/gw1.log" "$goff" 30 'alice/.*held ICE restart offer sent' ||
		fail "gw1 did not send its held offer: $(since "$W/gw1.log" "$goff" | grep -E 'alice/|signal' | tail -n 4 | tr '\n' '|')"
	wait_grep_since "$W/gw1.log" "$goff" 30 'alice/.*session: path back' || fail "the path did not come back"
	note "gw1: $(since "$W/gw1.log" "$goff" | grep -Ei 'signal|liveness|joined' | sed 's/^[^ ]* //' | head -n 4 | tr '\n' '|')"
	download_kept gnc "$goff" "$aoff"
	new_stream_after_change
}

case_shutdown() {
	e2e_stop_ok "$ALICE_PID" "the client" || return 1
	e2e_stop_ok "$GW_PID" "the gateway" || return 1
	e2e_no_sanitizer_reports
}

# --- setup --------------------------------------------------------------

dump_logs() { e2e_dump_logs "$1" e2e-tunnel.sh gw1-first.log gw1-second.log gw1.log alice.out alice.err rogue-gw.log signal-1.err signal-2.err turn.log; }

e2e_setup_begin home2 rogue
e2e_start_web rogue 127.0.0.1 $SVC_API rogue || setup_fail "the rogue's web server did not start"

e2e_setup_clients alice bob mallory
e2e_setup_gw1
mk_gateway_identity rogue "$W/rogue/identity" >"$W/setup-rogue.log" 2>&1 ||
	setup_fail "rogue identity: $(tr '\n' ' ' <"$W/setup-rogue.log")"
[[ $(cat "$W/gw1.fp") != "$(cat "$W/rogue.fp")" ]] || setup_fail "two keygens gave one identity"
clone_client alice alice2 >"$W/setup-alice2.log" 2>&1 || setup_fail "$(cat "$W/setup-alice2.log")"
clone_client alice alice3 >"$W/setup-alice3.log" 2>&1 || setup_fail "$(cat "$W/setup-alice3.log")"
# pins: alice, mallory, alice3 trust the real gw1; alice2 pins the wrong key
for who in alice mallory alice3; do
	e2e_pin $who gw1 gw1
done
e2e_pin alice2 gw1 rogue

mk_token gw1 lobby gateway "$W/tokens/rogue.token" || setup_fail "token for the rogue"
mk_token alice2 office desktop "$W/tokens/alice2.token" || setup_fail "token for alice2"
mk_token alice3 lobby desktop "$W/tokens/alice3.token" || setup_fail "token for alice3"

write_gw1_config bob
write_rogue_config

start_bg svc "$W/svc-svc/dns.out" "$PY" "$here/services/mute_dns.py" \
	--listen "$(topo_addr svc):53" --ready "$W/svc-svc/dns.ready" --log "$W/svc-svc/dns.log"
wait_file "$W/svc-svc/dns.ready" 15 '^ready ' ||
	setup_fail "the mute DNS server did not start: $(tail -n 5 "$W/svc-svc/dns.out" | tr '\n' ' ')"
# gw1 alone sees a resolv.conf naming it (a mount namespace of its own)
printf 'nameserver %s\noptions timeout:%s attempts:1\n' "$(topo_addr svc)" $MUTE_DNS_S \
	>"$W/gw1-resolv.conf"
{ cat /etc/hosts; printf '%s %s\n%s %s\n' $GHOST_ADDR $DUAL_NAME "$(topo_addr svc)" $DUAL_NAME; } \
	>"$W/gw1-hosts"
start_gw1 "$W/gw1.log"
wait_gateways 1 30 || setup_fail "gw1 did not join the room: $(tail -n 10 "$W/gw1.log" | tr '\n' '|')"
start_client alice home "$W/alice.out" \
	$P_API:api $P_ECHO:echo $P_SECRET:secret $P_NOSUCH:nosuch $P_SOURCE:source $P_DOWN:down $P_GHOST:ghost $P_MUTE:mute $P_DUAL:dual
ALICE_PID=$BG_PID

e2e_run_cases

((TAP_FAILED == 0))
