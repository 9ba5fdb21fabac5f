#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e-topo.sh: self-test of the e2e topology (topo.sh) and the test
# services, TAP on stdout. Needs root, iproute2, iptables, coturn, curl,
# openssl, jq and the built peerpipe-signal; else skipped.
#
# Proves: the namespaces and NAT routers are built; the services answer in
# svc; office reaches svc and nobody else does (svc has no way out either);
# home and office are seen through their NATs' public addresses (HTTP and
# STUN) and the NATs drop unsolicited traffic; peerpipe-signal in inet is
# reachable over TLS with the test CA from behind both NATs; two
# topologies can run at once; the cleanup trap removes everything after an
# error and after SIGTERM; topo_down leaves the root namespace as it was.
#
# env: PP_BUILD_DIR (default: build), PP_SIGNAL_BIN, E2E_VERBOSE=1 (case logs),
#      TOPO_KEEP=1 (keep the work dir)
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=topo.sh
. "$here/topo.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

e2e_need_tools
e2e_find_bins
[[ -x $SIGNAL_BIN ]] || {
	echo "1..0 # SKIP peerpipe-signal not built ($SIGNAL_BIN)"
	exit 0
}

root_state() {
	printf 'netns=%s\n' "$(ip netns list | awk -v p="$TOPO_PREFIX-" 'index($1, p) == 1' | wc -l)"
	printf 'iptables=%s\n' "$(iptables-save 2>/dev/null | grep -cv '^#' || true)"
	printf 'nft=%s\n' "$(nft list ruleset 2>/dev/null | wc -l || true)"
	printf 'links=%s\n' "$(ip -o link show | wc -l)"
	printf 'addrs=%s\n' "$(ip -o addr show | wc -l)"
	printf 'routes=%s\n' "$(ip route show table all | wc -l)"
}

on_exit_hook() {
	local rc=$1
	if ((rc != 0)) && [[ $TAP_N -lt $TAP_PLAN ]]; then
		echo "Bail out! e2e-topo.sh stopped early (exit $rc)"
	fi
}

topo_init
W=$TOPO_DIR
TOPO_EXIT_HOOKS+=(on_exit_hook)
topo_install_trap
root_state >"$W/root.before"

tap_plan 12

topo_up home2 rogue || tap_bail "cannot build the topology"
e2e_make_pki "$W/pki" || tap_bail "cannot make the test PKI"
e2e_start_turn || tap_bail "coturn did not start"
e2e_start_signal || tap_bail "peerpipe-signal did not start"
e2e_start_services svc "$(topo_addr svc)" svc || tap_bail "the services did not start in svc"
e2e_start_web inet "$(topo_addr www)" 8080 www || tap_bail "the web server did not start in inet"

case_built() {
	local n
	for n in inet home-nat home home2 office-nat office svc rogue; do
		ip netns list | awk '{ print $1 }' | grep -qx "$(topo_ns "$n")" || fail "namespace $n missing"
	done
	[[ -z $(ip -n "$(topo_ns svc)" route show default) ]] || fail "svc has a default route"
	[[ $(topo_exec office sysctl -n net.ipv4.ip_forward) == 0 ]] || fail "office forwards"
	[[ $(topo_exec svc sysctl -n net.ipv4.ip_forward) == 0 ]] || fail "svc forwards"
	[[ $(topo_exec home-nat sysctl -n net.ipv4.ip_forward) == 1 ]] || fail "home-nat does not forward"
	topo_exec home-nat iptables -S FORWARD | grep -Eq -- '-i wan .*--ctstate (NEW,INVALID|INVALID,NEW) -j DROP' ||
		fail "home-nat lacks the WAN DROP rule"
	topo_exec office-nat iptables -t nat -S POSTROUTING | grep -q MASQUERADE ||
		fail "office-nat does not masquerade"
}

case_services() {
	local svc out exp
	svc=$(topo_addr svc)
	out=$(curl_in svc "http://$svc:$SVC_API/health") || fail "GET /health failed"
	[[ $out == ok ]] || fail "GET /health said '$out'"
	exp=$("${E2E_STREAM[@]}" sha 3000000 11)
	out=$(curl_in svc "http://$svc:$SVC_API/bytes?n=3000000&seed=11" | sha256sum | cut -d' ' -f1)
	[[ $out == "$exp" ]] || fail "GET /bytes: sha $out, want $exp"
	out=$(client_in svc post-sha --host "$svc" --port $SVC_API --n 2000000 --seed 12) ||
		fail "POST /sha256: $out"
	out=$(client_in svc upload-fin --host "$svc" --port $SVC_ECHO --n 1000001 --seed 13) ||
		fail "sha service: $out"
	out=$(client_in svc upload-fin --host "$svc" --port $SVC_ECHO --n 0) ||
		fail "sha service, empty stream: $out"
	out=$(client_in svc download --host "$svc" --port $SVC_SOURCE --n 3000000 --seed 14) ||
		fail "source: $out"
	out=$(client_in svc send --host "$svc" --port $SVC_SINK --n 12345 --seed 1) ||
		fail "sink: $out"
	grep -qx 'connections=1 bytes=12345 open=0' "$W/svc-svc/sink.stats" ||
		fail "sink stats: $(cat "$W/svc-svc/sink.stats")"
	grep -q 'close .* bytes=12345 end=eof' "$W/svc-svc/sink.log" || fail "sink log lacks the close line"
}

case_office_reaches_svc() {
	local svc out
	svc=$(topo_addr svc)
	out=$(curl_in office "http://$svc:$SVC_API/health") || fail "office: GET /health failed"
	[[ $out == ok ]] || fail "office: GET /health said '$out'"
	client_in office download --host "$svc" --port $SVC_SOURCE --n 20000000 --seed 15 ||
		fail "office: download from the source failed"
	client_in office upload-fin --host "$svc" --port $SVC_ECHO --n 20000000 --seed 16 ||
		fail "office: upload to the sha service failed"
	out=$(curl_in office "http://$svc:$SVC_API/peer")
	[[ $out == "$(topo_addr office-int)" ]] || fail "svc saw office as '$out'"
}

case_svc_isolated() {
	local n out r svc
	svc=$(topo_addr svc)
	for n in home home2 rogue inet home-nat office-nat; do
		out=$(client_in "$n" connect-test --host "$svc" --port $SVC_API --timeout 3)
		r=$(json_get "$out" .result)
		note "$n -> svc: $out"
		[[ $r != connected ]] || fail "$n reached svc ($svc:$SVC_API)"
	done
	# and office does not route for others: home aims at office's inside address
	out=$(client_in home connect-test --host "$(topo_addr office)" --port 22 --timeout 3)
	[[ $(json_get "$out" .result) != connected ]] || fail "home reached office's LAN address"
}

case_svc_no_way_out() {
	local out a
	for a in sig www office-nat home-nat; do
		out=$(client_in svc connect-test --host "$(topo_addr "$a")" --port 8080 --timeout 3)
		note "svc -> $a: $out"
		[[ $(json_get "$out" .result) == unreachable ]] || fail "svc -> $a: $out (want unreachable)"
	done
}

case_nat() {
	local out
	out=$(curl_in home "http://$(topo_addr www):8080/peer") || fail "home: GET /peer failed"
	[[ $out == "$(topo_addr home-nat)" ]] || fail "www saw home as '$out', want home-nat"
	out=$(curl_in home2 "http://$(topo_addr www):8080/peer") || fail "home2: GET /peer failed"
	[[ $out == "$(topo_addr home-nat)" ]] || fail "www saw home2 as '$out', want home-nat"
	out=$(curl_in office "http://$(topo_addr www):8080/peer") || fail "office: GET /peer failed"
	[[ $out == "$(topo_addr office-nat)" ]] || fail "www saw office as '$out', want office-nat"
	out=$(curl_in rogue "http://$(topo_addr www):8080/peer") || fail "rogue: GET /peer failed"
	[[ $out == "$(topo_addr rogue)" ]] || fail "www saw rogue as '$out'"
	out=$(client_in home stun --server "$(topo_addr turn):$TURN_PORT" --timeout 3) ||
		fail "STUN from home: $out"
	note "STUN home: $out"
	[[ $(json_get "$out" .mapped) == "$(topo_addr home-nat)":* ]] || fail "STUN from home: $out"
	out=$(client_in office stun --server "$(topo_addr turn):$TURN_PORT" --timeout 3) ||
		fail "STUN from office: $out"
	note "STUN office: $out"
	[[ $(json_get "$out" .mapped) == "$(topo_addr office-nat)":* ]] || fail "STUN from office: $out"
}

case_nat_drops_unsolicited() {
	local out
	# a listener on office-nat's WAN side: unsolicited SYNs must be dropped
	# (timeout), not answered (refused or connected)
	start_bg office-nat "$W/nat-listen.out" "$PY" "$here/services/sink.py" \
		--listen "$(topo_addr office-nat):7000" --ready "$W/nat-listen.ready" \
		--stats "$W/nat-listen.stats"
	wait_file "$W/nat-listen.ready" 10 '^ready' || fail "listener on office-nat did not start"
	out=$(client_in office connect-test --host "$(topo_addr office-nat)" --port 7000 --timeout 3)
	[[ $(json_get "$out" .result) == connected ]] || fail "office cannot reach its router: $out"
	out=$(client_in rogue connect-test --host "$(topo_addr office-nat)" --port 7000 --timeout 3)
	note "rogue -> office-nat:7000: $out"
	[[ $(json_get "$out" .result) == timeout ]] || fail "unsolicited SYN from the internet: $out (want timeout)"
	out=$(client_in home connect-test --host "$(topo_addr office-nat)" --port 7000 --timeout 3)
	[[ $(json_get "$out" .result) == timeout ]] || fail "home -> office-nat: $out (want timeout)"
}

case_signal_through_nat() {
	local n out
	for n in home home2 office rogue; do
		out=$(curl_in "$n" "https://$(topo_addr sig):$SIG_PORT/healthz") || fail "$n: healthz failed"
		[[ $out == ok ]] || fail "$n: healthz said '$out'"
	done
	# the certificate is checked: without the test CA it fails
	if topo_exec home curl -sS --noproxy '*' --max-time 10 \
		"https://$(topo_addr sig):$SIG_PORT/healthz" >/dev/null 2>&1; then
		fail "healthz worked without the test CA"
	fi
	if curl_in svc "https://$(topo_addr sig):$SIG_PORT/healthz" --max-time 5 >/dev/null 2>&1; then
		fail "svc reached the signaling server"
	fi
	out=$(signal_metric peerpipe_signal_connections)
	[[ $out =~ ^[0-9]+$ ]] || fail "no metrics from peerpipe-signal ('$out')"
}

# A second topology at the same time (another process, its own prefix).
case_parallel() {
	local out
	out=$(bash -c '
		set -euo pipefail
		. "$1/topo.sh"; . "$1/lib.sh"
		topo_install_trap
		topo_up
		e2e_start_web svc "$(topo_addr svc)" 8080 par
		# from the root namespace the service is not there (whatever answers)
		r=$(curl -s --noproxy "*" --max-time 5 "http://$(topo_addr svc):8080/health" 2>/dev/null || true)
		[[ $r != ok ]] || exit 9
		topo_exec office curl -sS --noproxy "*" --max-time 10 "http://$(topo_addr svc):8080/health"
		echo " $TOPO_PREFIX"
	' _ "$here" 2>&1) || fail "second topology: $out"
	note "second topology: $out"
	[[ $out == "ok ppe"* ]] || fail "second topology said '$out'"
	[[ ${out#ok } != "$TOPO_PREFIX" ]] || fail "second topology used our prefix"
	[[ -z $(ip netns list | awk -v p="${out#ok }-" 'index($1, p) == 1') ]] ||
		fail "second topology left namespaces"
	out=$(curl_in office "http://$(topo_addr svc):$SVC_API/health")
	[[ $out == ok ]] || fail "our topology broke: '$out'"
}

# A run that fails (errexit) or is killed (SIGTERM) leaves nothing behind.
child_script='
	set -euo pipefail
	. "$1/topo.sh"; . "$1/lib.sh"
	topo_install_trap
	topo_up home2 rogue
	start_bg svc "$TOPO_DIR/sleep.out" sleep 1000
	echo "$TOPO_PREFIX $BG_PID $TOPO_DIR" >"$2"
	if [[ $3 == fail ]]; then false; fi
	while :; do sleep 0.2; done
'

check_gone() { # check_gone PREFIX PID DIR
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -z $(ip netns list | awk -v p="$1-" 'index($1, p) == 1') ]] && break
		sleep 0.1
	done
	[[ -z $(ip netns list | awk -v p="$1-" 'index($1, p) == 1') ]] || fail "namespaces $1-* left"
	! topo_alive "$2" || fail "process $2 in the child's svc survived"
	[[ ! -e $3 ]] || fail "work dir $3 left"
}

case_cleanup_on_error() {
	local rc=0 pfx pid dir
	bash -c "$child_script" _ "$here" "$W/child1" fail >"$W/child1.out" 2>&1 || rc=$?
	((rc != 0)) || fail "the failing child exited 0"
	read -r pfx pid dir <"$W/child1" || fail "child wrote nothing"
	check_gone "$pfx" "$pid" "$dir"
}

case_cleanup_on_sigterm() {
	local pfx pid dir cpid rc=0
	bash -c "$child_script" _ "$here" "$W/child2" run >"$W/child2.out" 2>&1 &
	cpid=$!
	wait_file "$W/child2" 30 . || fail "child did not come up"
	read -r pfx pid dir <"$W/child2"
	[[ -n $(ip netns list | awk -v p="$pfx-" 'index($1, p) == 1') ]] || fail "child has no namespaces"
	kill -TERM "$cpid"
	wait "$cpid" || rc=$?
	((rc == 143)) || fail "child exited $rc after SIGTERM, want 143"
	check_gone "$pfx" "$pid" "$dir"
}

case_down_clean() {
	local pid node rest pids=()
	while read -r pid node rest; do pids+=("$pid"); done <"$W/pids"
	((${#pids[@]} >= 6)) || fail "only ${#pids[@]} processes recorded"
	topo_down
	root_state >"$W/root.after"
	diff -u "$W/root.before" "$W/root.after" >&2 || fail "root namespace changed: $(diff "$W/root.before" "$W/root.after" | grep '^>' | tr '\n' ' ')"
	for pid in "${pids[@]}"; do
		! topo_alive "$pid" || fail "process $pid survived topo_down"
	done
	[[ ! -s $W/pids ]] || fail "pid list not emptied"
}

run_case "topology built: 8 namespaces, NAT rules, svc without default route" case_built 60
run_case "services answer inside svc (http, FIN sha, source, sink)" case_services 120
run_case "office reaches svc" case_office_reaches_svc 120
run_case "nobody but office reaches svc (home, home2, rogue, inet, NATs)" case_svc_isolated 120
run_case "svc has no route out" case_svc_no_way_out 60
run_case "home and office are seen through their NATs (HTTP, STUN via coturn)" case_nat 60
run_case "NAT routers drop unsolicited inbound connections" case_nat_drops_unsolicited 60
run_case "peerpipe-signal in inet over TLS from behind the NATs, test CA checked" case_signal_through_nat 60
run_case "a second topology runs in parallel without collision" case_parallel 120
run_case "cleanup after an error removes namespaces and processes" case_cleanup_on_error 120
run_case "cleanup after SIGTERM removes namespaces and processes" case_cleanup_on_sigterm 120
run_case "topo_down leaves the root namespace as it was" case_down_clean 60

((TAP_FAILED == 0))
