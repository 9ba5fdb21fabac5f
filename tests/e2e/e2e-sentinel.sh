#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e-sentinel.sh: Sentinel (scan detection and bans) end to end, TAP on
# stdout. The topology of topo.sh: peerpipe-gateway gw1 in office with
# explicit Sentinel limits (10 DENIED in 60 s ban for 1 h; bans_file and
# audit_log in the work dir), the services in svc, alice's `peerpipe
# connect` in home with forwards to api and to 20 service names that do
# not exist, bob's in home2 with api only. Every case asserts log lines,
# audit records, exit codes or files, never timings.
#
# env: PP_BUILD_DIR (default: build; meson passes its own), PP_SIGNAL_BIN,
#      PP_CLI_BIN, PP_GATEWAY_BIN, PP_HOSTILE_BIN; E2E_ONLY=ERE (only the
#      cases whose function matches; the others SKIP); E2E_VERBOSE=1
#      (every case log); TOPO_KEEP=1 (keep the work dir)
set -euo pipefail
umask 077

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=topo.sh
. "$here/topo.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

# local ports: alice's api and her 20 scan forwards (home), bob's api (home2)
P_API=18080 P_SCAN0=18100 N_SCAN=20 P_BOB=28080
DENIED_LIMIT=10
# refused streams the gateway logs per peer and minute (gw_stream.c), and
# how many more case 6 makes
TURN_AWAY_BURST=20 TURN_AWAY_QUIET=5
REASON="Sentinel: $DENIED_LIMIT denied streams in 60 s"
ALERT_RE="ALERT: this identity is banned by the gateway: $REASON \\(signature 0\\)"
RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# shellcheck disable=SC2034 # e2e_skip_all and e2e_run_cases (lib.sh) run them
CASES=(
	"tunnel up: alice and bob reach api through gw1, whose Sentinel is on with no bans|case_up|180"
	"scan: alice asks for unknown services; the 10th DENIED bans her: ALERT peer_banned, BYE, session closed; logged, audited, saved; bob unaffected|case_scan|180"
	"banned: alice's new client gets no tunnel (refused: banned), her key declaring bob's fingerprint is refused at DTLS; bob still works|case_banned|main"
	"bans list shows alice's ban (table and --json); lifting a name without a ban exits 1|case_list|60"
	"restart with sentinel = false: the ban survives and alice is refused again; bob reconnects|case_restart|main"
	"bans lift alice: she connects again without a gateway restart; with Sentinel off her 25 DENIED streams ban nobody, 20 of them logged|case_lift|240"
	"a corrupt bans file (alice's 5 refused streams not logged counted as she goes): the gateway refuses to start; --check-config and bans list exit 1; bans lift --all sets it aside and the gateway starts|case_corrupt|main"
	"services: the stream that reaches sentinel_services (an allowed name) is denied with the ban, never connected; the ban lifted after|case_services|main"
	"SIGTERM: clients and gateway exit 0, no sanitizer report in any log|case_shutdown|main"
)

e2e_need_tools
e2e_find_bins
HOSTILE_BIN=${PP_HOSTILE_BIN:-$E2E_BUILD/tests/e2e/hostile_peer}

missing=$(e2e_missing_bins "$HOSTILE_BIN")
[[ -z $missing ]] || e2e_skip_all "$missing"

# --- the cast -----------------------------------------------------------

GW_PID=
GW_LOG=
ALICE_PID=
ALICE_OUT=
BOB_PID=

# write_gw1_config SENTINEL [SERVICES_LIMIT [EXTRA_SERVICE]]: the office
# gateway's config, Sentinel on or off; EXTRA_SERVICE: one more name for
# the API, allowed to alice
write_gw1_config() {
	{
		echo "# e2e: gateway gw1 in office with Sentinel's limits written out"
		e2e_gw_ini gw1 office
		cat <<-EOF
		audit_log = $W/audit.log
		sentinel = $1
		sentinel_window = 60s
		sentinel_denied = $DENIED_LIMIT
		sentinel_services = ${2:-16}
		sentinel_failed = 20
		sentinel_alerts = 3
		ban_time = 1h
		bans_file = $W/gw1/bans.json

		[service api]
		address = $(topo_addr svc):$SVC_API
		description = e2e HTTP API
		allow = alice, bob

		$([[ -z ${3:-} ]] || printf '[service %s]\naddress = %s\nallow = alice\n' "$3" "$(topo_addr svc):$SVC_API")

		[identity alice]
		fingerprint = $(cat "$W/alice.fp")

		[identity bob]
		fingerprint = $(cat "$W/bob.fp")
		EOF
	} >"$W/gw1.ini.tmp"
	mv -f -- "$W/gw1.ini.tmp" "$W/gw1.ini"
}

gw() { "$GATEWAY_BIN" --config "$W/gw1.ini" "$@"; }

alice_forwards() {
	local i
	echo "$P_API:api"
	for ((i = 0; i < N_SCAN; i++)); do printf '%d:scan%02d\n' $((P_SCAN0 + i)) "$i"; done
}

# audit_of EVENT: the audit records of EVENT, one JSON object per line
audit_of() { jq -c --arg e "$1" 'select(.event == $e)' "$W/audit.log"; }

# scan_until_banned OUT: probes alice's scan forwards one after the other
# (each probe's local connection must close with 0 bytes) until her
# client has printed DENIED_LIMIT denied lines: the ban must come with
# the last of them. The number of probes goes to $W/scan.count.
scan_until_banned() {
	local out=$1 i r port n0
	n0=$(count_i "$out" 'denied: not allowed')
	for ((i = 0; i < N_SCAN; i++)); do
		grep -Eq -- "$ALERT_RE" "$out" && break
		(($(count_i "$out" 'denied: not allowed') - n0 >= DENIED_LIMIT)) && break
		port=$((P_SCAN0 + i))
		r=$(client_in home probe --port "$port" --send 'GET / HTTP/1.0\r\n\r\n' --timeout 30)
		note "probe scan$(printf %02d "$i"): $r"
		[[ $(json_get "$r" .bytes) == 0 ]] || fail "bytes came back from scan$i: $r"
		echo $((i + 1)) >"$W/scan.count"
		# its denied line, before the next probe
		wait_count_i "$out" 'denied: not allowed' $((n0 + i + 1)) 30 ||
			fail "no denied line for scan$i: $(tail -n 3 "$out" | tr '\n' '|')"
	done
}

need_up() {
	[[ -f $W/tunnel.up ]] || fail "the tunnels did not come up (case 1)"
	topo_alive "$GW_PID" || fail "the gateway is not running: $(tail -n 3 "$GW_LOG" | tr '\n' '|')"
}

# need_up_main: the first check of need_up for run_case_main cases (they
# must not exit): false with $W/case.reason
need_up_main() {
	[[ -f $W/tunnel.up ]] && return 0
	echo "the tunnels did not come up (case 1)" >"$W/case.reason"
	return 1
}

# --- cases --------------------------------------------------------------

case_up() {
	local p
	wait_grep "$ALICE_OUT" 60 "listening.*\\b$P_API\\b" || fail "alice's client is not listening"
	for ((p = P_SCAN0; p < P_SCAN0 + N_SCAN; p++)); do
		wait_grep "$ALICE_OUT" 10 "listening.*\\b$p\\b" || fail "no listening line for $p"
	done
	health_via home $P_API 90 || fail "alice: GET /health through the tunnel never said ok"
	health_via home2 $P_BOB 90 || fail "bob: GET /health through the tunnel never said ok"
	grep -q 'sentinel on; 0 active bans in' "$GW_LOG" || fail "the gateway did not log 'sentinel on; 0 active bans'"
	touch "$W/tunnel.up"
}

case_scan() {
	local off bad rec fp n held
	need_up
	off=$(file_size "$GW_LOG")
	fp=$(cat "$W/alice.fp")
	# a request the API holds (a barrier nobody else joins): a stream that
	# is live when the ban comes, and must be reset with it rather than
	# left to the session's orderly close, which goes on delivering what
	# the peer sends for its grace time
	start_bg home "$W/held.out" curl -sS --noproxy '*' --max-time 60 \
		"http://127.0.0.1:$P_API/barrier?group=held&n=2&timeout=50"
	held=$BG_PID
	sleep 1
	scan_until_banned "$ALICE_OUT"
	wait_grep "$ALICE_OUT" 30 "$ALERT_RE" || fail "alice's client printed no ALERT peer_banned: $(tail -n 5 "$ALICE_OUT" | tr '\n' '|')"
	note "client: $(grep -E -- "$ALERT_RE" "$ALICE_OUT")"
	wait_grep "$ALICE_OUT" 30 "gateway says BYE: banned until [0-9TZ:-]+: $REASON" ||
		fail "alice's client printed no BYE with the ban"
	wait_grep "$ALICE_OUT" 30 'tunnel to gw1 down' || fail "alice's session was not closed"
	(($(count_i "$ALICE_OUT" 'denied: not allowed') >= DENIED_LIMIT)) ||
		fail "the client printed fewer than $DENIED_LIMIT denied lines"
	note "probes until the ban: $(cat "$W/scan.count")"

	# the gateway's log and audit log
	wait_grep_since "$GW_LOG" "$off" 10 "\\[alice\\] peer banned until [0-9TZ:-]+: identity alice \\($fp\\): $REASON" ||
		fail "the gateway logged no 'peer banned until ...: identity alice': $(since "$GW_LOG" "$off" | grep -i ban | head -n 3 | tr '\n' '|')"
	wait_grep_since "$GW_LOG" "$off" 10 'closing the session of banned peer alice' ||
		fail "the gateway logged no 'closing the session of banned peer alice'"
	note "gateway: $(since "$GW_LOG" "$off" | grep -E 'peer banned|banned peer' | tr '\n' '|')"
	wait_grep_since "$GW_LOG" "$off" 10 '\[alice\] stream api#[0-9]+ closed: service=api .* reason=peer banned' ||
		fail "alice's live api stream was not reset with the ban: $(since "$GW_LOG" "$off" | grep 'stream api#' | tail -n 2 | tr '\n' '|')"
	stop_bg "$held" 5
	rec=$(audit_of peer_banned)
	[[ $(wc -l <<<"$rec") == 1 ]] || fail "want one peer_banned record: $rec"
	note "audit: $rec"
	[[ $(json_get "$rec" .peer) == alice && $(json_get "$rec" .fingerprint) == "$fp" &&
		$(json_get "$rec" .reason) == "$REASON" && $(json_get "$rec" .counter) == denied &&
		$(json_get "$rec" .ban_s) == 3600 ]] || fail "peer_banned record: $rec"
	[[ $(json_get "$rec" .until) =~ $RFC3339_RE ]] || fail "until is no RFC 3339 time: $rec"
	# the ban came with the 10th DENIED stream, not later: the records
	# before it are exactly 10 stream_denied of alice
	n=$(jq -s '[.[] | select(.event == "stream_denied" or .event == "peer_banned")] |
		(map(.event) | index("peer_banned")) as $i | .[:$i] | map(select(.peer == "alice")) | length' "$W/audit.log")
	[[ $n == "$DENIED_LIMIT" ]] || fail "$n stream_denied records before the ban, want $DENIED_LIMIT"
	# saved
	bad=$(jq -r --arg fp "$fp" '.bans[] | select(.fingerprint == $fp) | .identity + " " + .reason' "$W/gw1/bans.json") ||
		fail "bans.json does not parse"
	[[ $bad == "alice $REASON" ]] || fail "bans.json holds '$bad'"
	[[ $(stat -c %a "$W/gw1/bans.json") == 600 ]] || fail "bans.json is not mode 0600"

	# bob did not notice
	health_via home2 $P_BOB 30 || fail "bob's tunnel broke"
	! grep -q 'ALERT' "$W/bob.out" || fail "bob got an ALERT"
	topo_alive "$GW_PID" || fail "the gateway died"
}

# case_banned: alice's client is restarted here (its pid must stay our
# child); the checks run in a subshell.
case_banned() {
	local rc=0 off
	need_up_main || return 1
	stop_bg "$ALICE_PID" 15
	note "alice's first client exited $BG_STATUS"
	off=$(file_size "$GW_LOG")
	ALICE_OUT=$W/alice-2.out
	# shellcheck disable=SC2046
	start_client alice home "$ALICE_OUT" $(alice_forwards)
	ALICE_PID=$BG_PID
	(
		set -euo pipefail
		local out fp bobfp
		fp=$(cat "$W/alice.fp")
		bobfp=$(cat "$W/bob.fp")
		# she joins; the gateway refuses her at the door and says why
		wait_grep_since "$GW_LOG" "$off" 60 "peer refused: banned until [0-9TZ:-]+: identity alice \\($fp\\): $REASON" ||
			fail "the gateway logged no 'peer refused: banned until ...': $(since "$GW_LOG" "$off" | tail -n 5 | tr '\n' '|')"
		note "gateway: $(since "$GW_LOG" "$off" | grep -m1 'peer refused: banned')"
		[[ -n $(audit_of peer_refused | jq -r 'select(.identity == "alice" and .reason == "banned") | .until') ]] ||
			fail "no peer_refused record for alice"
		# her client learns that there is no tunnel, and never gets one
		wait_grep "$ALICE_OUT" 60 'not connected' ||
			fail "alice's new client printed no 'not connected': $(tail -n 5 "$ALICE_OUT" | tr '\n' '|')"
		note "client: $(grep -m1 'not connected' "$ALICE_OUT")"
		out=$(curl_in home "http://127.0.0.1:$P_API/health?probe=banned" --max-time 5 2>/dev/null || true)
		[[ $out != ok ]] || fail "GET /health through the banned client answered ok"
		! grep -q 'connected to gateway' "$ALICE_OUT" || fail "the banned client got a tunnel"
		! grep -q 'probe=banned' "$W/svc-svc/api.log" || fail "the banned client's request reached the API"

		# her key declaring bob's fingerprint: offered (bob is not banned),
		# but her certificate is not among the pins any more
		mk_token spoof office desktop "$W/tokens/spoof.token"
		off=$(file_size "$GW_LOG")
		out=$(topo_exec home "$HOSTILE_BIN" --signal "$SIG_URL" --ca-file "$E2E_CA" \
			--token-file "$W/tokens/spoof.token" --identity-dir "$W/clients/alice/identity" \
			--gateway gw1 --pin "$(cat "$W/gw1.fp")" --attack spoof --declare-fingerprint "$bobfp" \
			--timeout 15 2>"$W/hostile-spoof.err") ||
			fail "hostile_peer: ${out:-no result} ($(tail -n 3 "$W/hostile-spoof.err" | tr '\n' '|'))"
		note "spoof: $out"
		[[ $(json_get "$out" .ok) == true && $(json_get "$out" .session_ready) == false &&
			$(json_get "$out" .refused_at) == dtls ]] || fail "spoof: $out"
		wait_grep_since "$GW_LOG" "$off" 5 "dtls: not pinned: $fp" ||
			fail "the gateway logged no 'dtls: not pinned: $fp'"
		! since "$GW_LOG" "$off" | grep -q 'peer connected' || fail "the gateway connected the spoofer"

		health_via home2 $P_BOB 30 || fail "bob's tunnel broke"
	) || rc=$?
	return $rc
}

case_list() {
	local out fp rc
	need_up
	fp=$(cat "$W/alice.fp")
	out=$(gw bans list) || fail "bans list exited $?"
	note "$out"
	head -n 1 <<<"$out" | grep -Eq '^IDENTITY +FINGERPRINT +REASON +UNTIL +REMAINING$' || fail "no table header: $out"
	grep -Eq "^alice +${fp} +${REASON} +[0-9TZ:-]+ +[0-9]+[hm]" <<<"$out" || fail "no row for alice: $out"
	[[ $(wc -l <<<"$out") == 2 ]] || fail "want one ban: $out"
	out=$(gw bans list --json) || fail "bans list --json exited $?"
	[[ $(jq -r 'length' <<<"$out") == 1 && $(jq -r '.[0].identity' <<<"$out") == alice &&
		$(jq -r '.[0].fingerprint' <<<"$out") == "$fp" && $(jq -r '.[0].reason' <<<"$out") == "$REASON" &&
		$(jq -r '.[0].remaining_s > 0 and .[0].remaining_s <= 3600' <<<"$out") == true ]] ||
		fail "bans list --json: $out"
	rc=0
	out=$(gw bans lift bob 2>&1) || rc=$?
	[[ $rc == 1 && $out == *"no ban for bob"* ]] || fail "bans lift bob: exit $rc, '$out'"
	rc=0
	gw bans frob >/dev/null 2>&1 || rc=$?
	[[ $rc == 2 ]] || fail "bans frob exited $rc, want 2"
}

case_restart() {
	local rc=0
	need_up_main || return 1
	e2e_stop_ok "$GW_PID" "the gateway" || return 1
	write_gw1_config false
	if ! start_gw "$W/gw1-2.log"; then
		echo "the gateway did not start again: $(tail -n 5 "$W/gw1-2.log" | tr '\n' '|')" >"$W/case.reason"
		return 1
	fi
	(
		set -euo pipefail
		grep -q 'sentinel off (existing bans are enforced, none are added); 1 active bans in' "$GW_LOG" ||
			fail "the restarted gateway did not log the loaded ban: $(head -n 5 "$GW_LOG" | tr '\n' '|')"
		wait_grep "$GW_LOG" 90 "peer refused: banned until .*identity alice" ||
			fail "the restarted gateway did not refuse alice: $(tail -n 5 "$GW_LOG" | tr '\n' '|')"
		health_via home2 $P_BOB 120 || fail "bob did not get his tunnel back"
		wait_grep "$GW_LOG" 5 'peer connected: identity bob' || fail "no 'peer connected: identity bob'"
		! grep -q 'peer connected: identity alice' "$GW_LOG" || fail "alice got in after the restart"
	) || rc=$?
	return $rc
}

case_lift() {
	local out off rc i before
	need_up
	off=$(file_size "$GW_LOG")
	out=$(gw bans lift alice) || fail "bans lift alice exited $?"
	note "$out"
	[[ $out == "lifted the ban of alice ($(cat "$W/alice.fp"))" ]] || fail "bans lift alice said '$out'"
	[[ $(jq '.bans | length' "$W/gw1/bans.json") == 0 ]] || fail "bans.json still holds bans"
	rc=0
	out=$(gw bans lift alice 2>&1) || rc=$?
	[[ $rc == 1 && $out == *"no ban for alice"* ]] || fail "a second lift: exit $rc, '$out'"
	# the running gateway (the same process) lets her in at her next try
	wait_grep "$ALICE_OUT" 150 'connected to gateway' ||
		fail "alice did not connect after the lift: $(tail -n 5 "$ALICE_OUT" | tr '\n' '|')"
	wait_grep_since "$GW_LOG" "$off" 10 'bans file re-read: 0 active bans' || fail "no 'bans file re-read' line"
	wait_grep_since "$GW_LOG" "$off" 10 'peer connected: identity alice' || fail "no 'peer connected: identity alice'"
	health_via home $P_API 60 || fail "alice: no /health after the lift"
	topo_alive "$GW_PID" || fail "the gateway is not the same process"

	# Sentinel is off now: more DENIED than the limit ban nobody. The
	# gateway logs (and audits) TURN_AWAY_BURST refused streams of a peer a
	# minute and counts the rest: the count comes when she goes (case 7).
	off=$(file_size "$GW_LOG")
	before=$(count_i "$ALICE_OUT" 'denied: not allowed')
	for ((i = 0; i < TURN_AWAY_BURST + TURN_AWAY_QUIET; i++)); do
		out=$(client_in home probe --port $((P_SCAN0 + i % N_SCAN)) --send 'GET / HTTP/1.0\r\n\r\n' --timeout 30)
		[[ $(json_get "$out" .result) =~ ^(eof|reset)$ && $(json_get "$out" .bytes) == 0 ]] ||
			fail "probe $i with Sentinel off: $out"
	done
	for ((i = 0; i < 100; i++)); do
		(($(count_i "$ALICE_OUT" 'denied: not allowed') >= before + TURN_AWAY_BURST + TURN_AWAY_QUIET)) && break
		sleep 0.1
	done
	(($(count_i "$ALICE_OUT" 'denied: not allowed') >= before + TURN_AWAY_BURST + TURN_AWAY_QUIET)) ||
		fail "alice's client printed fewer than $((TURN_AWAY_BURST + TURN_AWAY_QUIET)) new denied lines"
	health_via home $P_API 30 || fail "alice lost her tunnel with Sentinel off"
	! since "$GW_LOG" "$off" | grep -q 'peer banned' || fail "Sentinel off banned someone"
	n=$(since "$GW_LOG" "$off" | grep -Ec '\[alice\] stream scan[0-9]+#[0-9]+ denied: no such service')
	[[ $n == "$TURN_AWAY_BURST" ]] || fail "$n refused streams of alice logged in a minute, want $TURN_AWAY_BURST"
	! grep -q 'is banned by the gateway' "$ALICE_OUT" || fail "alice's new client got an ALERT peer_banned"
	[[ $(audit_of peer_banned | wc -l) == 1 ]] || fail "a second peer_banned record"
}

case_corrupt() {
	local rc=0 st i
	need_up_main || return 1
	e2e_stop_ok "$GW_PID" "the gateway" || return 1
	# alice's refused streams that case 6 did not see logged are counted
	# when she goes
	if ! grep -Eq "\\[alice\\] peer disconnected after [0-9]+ s: .* \\($TURN_AWAY_QUIET more refused streams were not logged\\)" "$GW_LOG"; then
		echo "alice's disconnect did not count her $TURN_AWAY_QUIET refused streams not logged: $(grep 'alice\] peer disconnected' "$GW_LOG" | tail -n 1)" >"$W/case.reason"
		return 1
	fi
	printf '{"version":1,"bans":[{"fingerprint":' >"$W/gw1/bans.json"
	# refuses to start: exits 1 by itself, and says why and what to do
	start_bg office "$W/gw1-corrupt.log" "$GATEWAY_BIN" --config "$W/gw1.ini"
	for ((i = 0; i < 300; i++)); do
		topo_alive "$BG_PID" || break
		sleep 0.1
	done
	stop_bg "$BG_PID" 1 # reaps it (and stops it if it did start after all)
	st=$BG_STATUS
	(
		set -euo pipefail
		local out
		note "the gateway on a corrupt bans file exited $st"
		[[ $st == 1 ]] || fail "the gateway exited $st on a corrupt bans file, want 1"
		grep -q "bans file unreadable, refusing to start (bans must not be forgotten): $W/gw1/bans.json: not JSON" \
			"$W/gw1-corrupt.log" || fail "no clear refusal: $(tail -n 3 "$W/gw1-corrupt.log" | tr '\n' '|')"
		grep -q 'bans lift --all' "$W/gw1-corrupt.log" || fail "the refusal names no repair"
		! grep -q 'signaling: joined' "$W/gw1-corrupt.log" || fail "it joined the room all the same"
		out=$(gw --check-config 2>&1) && fail "--check-config passed a corrupt bans file: $out"
		[[ $out == *"bans file unreadable: $W/gw1/bans.json: not JSON"* ]] || fail "--check-config: '$out'"
		out=$(gw bans list 2>&1) && fail "bans list on a corrupt file exited 0: $out"
		[[ $out == *"not JSON"* ]] || fail "bans list: '$out'"
		out=$(gw bans lift --all) || fail "bans lift --all exited $?"
		note "$out"
		[[ $out == *"kept it as $W/gw1/bans.json.corrupt-"* ]] || fail "bans lift --all: '$out'"
		ls "$W/gw1/bans.json.corrupt-"* >/dev/null || fail "the corrupt file was not kept"
		[[ $(jq '.bans | length' "$W/gw1/bans.json") == 0 ]] || fail "bans.json is not an empty store"
	) || rc=$?
	((rc == 0)) || return $rc
	if ! start_gw "$W/gw1-3.log"; then
		echo "the gateway did not start after the repair: $(tail -n 5 "$W/gw1-3.log" | tr '\n' '|')" >"$W/case.reason"
		return 1
	fi
	(
		set -euo pipefail
		grep -q 'sentinel off (existing bans are enforced, none are added); 0 active bans' "$GW_LOG" ||
			fail "the repaired store is not empty"
		health_via home2 $P_BOB 120 || fail "bob did not get his tunnel back"
	) || rc=$?
	return $rc
}

# case_services: gw1 restarted with Sentinel on, sentinel_services = 2 and
# scan00 an allowed name of the API: alice's api is her first name, scan00
# her second, which bans her. That stream must be refused, not connected
# and then reset with the session: what it carried would reach the API.
case_services() {
	local rc=0 reason
	need_up_main || return 1
	e2e_stop_ok "$GW_PID" "the gateway" || return 1
	write_gw1_config true 2 scan00
	if ! start_gw "$W/gw1-4.log"; then
		echo "the gateway did not start: $(tail -n 5 "$W/gw1-4.log" | tr '\n' '|')" >"$W/case.reason"
		return 1
	fi
	reason="Sentinel: 2 distinct services asked for in 60 s"
	(
		set -euo pipefail
		local out
		health_via home $P_API 120 || fail "alice did not get her tunnel back"
		out=$(client_in home probe --port $P_SCAN0 --send 'GET /health?probe=services-limit HTTP/1.0\r\n\r\n' --timeout 30)
		note "probe scan00: $out"
		[[ $(json_get "$out" .bytes) == 0 ]] || fail "bytes came back from the stream that banned alice: $out"
		wait_grep "$GW_LOG" 30 "\\[alice\\] peer banned until [0-9TZ:-]+: identity alice \\(.*\\): $reason" ||
			fail "no ban for the services limit: $(grep -i ban "$GW_LOG" | tail -n 3 | tr '\n' '|')"
		wait_grep "$GW_LOG" 10 '\[alice\] stream scan00#[0-9]+ denied: peer banned' ||
			fail "the stream that reached the limit was not refused: $(grep 'scan00' "$GW_LOG" | tail -n 3 | tr '\n' '|')"
		! grep -q 'probe=services-limit' "$W/svc-svc/api.log" || fail "the banned stream's request reached the API"
		[[ $(audit_of peer_banned | jq -r 'select(.counter == "services") | .peer') == alice ]] ||
			fail "no peer_banned record with counter services"
		out=$(gw bans lift alice) || fail "bans lift alice exited $?"
		health_via home2 $P_BOB 30 || fail "bob's tunnel broke"
	) || rc=$?
	return $rc
}

case_shutdown() {
	e2e_stop_ok "$ALICE_PID" "alice's client" || return 1
	e2e_stop_ok "$BOB_PID" "bob's client" || return 1
	e2e_stop_ok "$GW_PID" "the gateway" || return 1
	e2e_no_sanitizer_reports
}

# --- setup --------------------------------------------------------------

dump_logs() { e2e_dump_logs "$1" e2e-sentinel.sh gw1.log gw1-2.log gw1-3.log gw1-4.log gw1-corrupt.log alice.out alice-2.out bob.out signal-1.err; }

e2e_setup_begin home2
e2e_setup_clients alice bob
e2e_setup_gw1 alice bob

write_gw1_config true
start_gw "$W/gw1.log" >"$W/setup-start.log" 2>&1 || setup_fail "$(cat "$W/setup-start.log")"
ALICE_OUT=$W/alice.out
# shellcheck disable=SC2046
start_client alice home "$ALICE_OUT" $(alice_forwards)
ALICE_PID=$BG_PID
start_client bob home2 "$W/bob.out" $P_BOB:api
BOB_PID=$BG_PID

e2e_run_cases

((TAP_FAILED == 0))
