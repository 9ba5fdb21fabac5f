#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e-ids.sh: the gateway's built-in Suricata end to end, TAP on stdout.
# The topology of topo.sh (home, home2, office, svc); the services of
# services/ in svc, plus a recorder (services/recorder.py) that keeps every
# byte it receives; peerpipe-gateway in office with Suricata sniffing int0
# (ids = ids, the config of scripts/demo.sh), then restarted inline
# (ids = ips: NFQUEUE, the gateway's own netfilter rules); `peerpipe
# connect` for alice in home and bob in home2. Every case asserts log
# lines, hashes, exit codes and audit records, never timings.
#
# Skips every case when Suricata, peerpipe-gateway or `peerpipe connect`
# is missing.
#
# env: PP_BUILD_DIR (default: build; meson passes its own), PP_SIGNAL_BIN,
#      PP_CLI_BIN, PP_GATEWAY_BIN, PP_SURICATA_BIN (only to find it: the
#      gateway runs /usr/bin/suricata); E2E_ONLY=ERE (only the cases whose
#      function matches; the others SKIP); E2E_IDS_DL_MB (200): the
#      clean download of case 3; E2E_VERBOSE=1 (every case log);
#      TOPO_KEEP=1 (keep the work dir)
set -euo pipefail
umask 077

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=topo.sh
. "$here/topo.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

# alice's forwards (home) and bob's (home2)
P_API=18080 P_SOURCE=18084 P_REC=18085 P_LREC=18086 P_BOB_API=28080
# the recorder in svc, another on office's loopback (service lrec, by the
# name localhost); ips mode's queue (its rules are named after it)
SVC_REC=9004 LREC_PORT=9005 IPS_QUEUE=3500
ALERT_REC_RE='ALERT on rec#[0-9]+: .*\(signature 9100001\), stream closed'
# the SQL injection of scripts/demo.sh (sid 9100001)
SQLI='q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--'
ALERT_RE='ALERT on api#[0-9]+: .*\(signature 9100001\), stream closed'
DL_MB=${E2E_IDS_DL_MB:-200}
DL_N=$((DL_MB * 1024 * 1024))
SURICATA=${PP_SURICATA_BIN:-/usr/bin/suricata}

# shellcheck disable=SC2034 # e2e_skip_all and e2e_run_cases (lib.sh) run them
CASES=(
	"ids up: the gateway logs 'IDS ready' before alice connects; the tunnel works|case_ids_up|180"
	"attack cut: a SQL injection to api gives alice ALERT (9100001), no HTTP response, gateway and audit records|case_attack|120"
	"clean streams unaffected: a $DL_MB MB download on the same session and bob's tunnel keep working through the attack|case_clean|300"
	"operator's own rule file in ids_rules: /canary-7f3a gives ALERT 9900001|case_operator_rule|120"
	"fail-closed: while Suricata is down new streams fail 'inspection unavailable'; after 'IDS ready' they work|case_fail_closed|180"
	"fail-open: the restarted gateway lets a new stream pass while Suricata is down and says so loudly|case_fail_open|main"
	"SIGTERM: client and gateway exit 0, no Suricata left in office, no sanitizer report|case_shutdown|main"
	"ips up: restarted with ids = ips, the gateway installs one copy of its netfilter rules and logs 'IDS ready'; alice's tunnel works|case_ips_up|main"
	"ips attack: the SQL injection gives alice ALERT (9100001) on its stream and never reaches the service: the recorder got no byte of it; gateway and audit records|case_ips_attack|120"
	"ips clean: clean requests on the same tunnel reach the service intact (recorded, 4 MiB sha)|case_ips_clean|120"
	"ips loopback by name: service lrec is localhost in the gateway's namespace (GIO's resolver, lo): the attack is blocked before it, a clean request answered|case_ips_loopback|120"
	"ips fail-closed: Suricata killed under a live stream: that stream is closed 'inspection lost'; new streams work again after 'IDS ready'|case_ips_lost|180"
	"ips SIGTERM: the gateway exits 0, no Suricata and no peerpipe netfilter rules left in office|case_ips_shutdown|main"
	"ips kill -9: the rules stay behind (harmless); a restart replaces them (one copy) and works; SIGTERM leaves nothing, no sanitizer report|case_ips_kill9|main"
	"sidecar: ids_engine = sidecar writes sidecar.args and refuses streams until a Suricata started from it sends its first record; then an attack gives ALERT; killing the sidecar refuses new streams again; SIGTERM exits 0|case_sidecar|main"
)

e2e_need_tools
e2e_find_bins

if [[ ! -x $SURICATA ]] && ! command -v suricata >/dev/null 2>&1; then
	missing="suricata not installed"
else
	missing=$(e2e_missing_bins)
fi
[[ -z $missing ]] || e2e_skip_all "$missing"

# --- the cast (as e2e-tunnel.sh) ------------------------------------------

ALICE_PID=
BOB_PID=
GW_PID=
# the current gateway log and alice's stdout (case 6 restarts both)
GW_LOG=
ALICE_OUT=

# write_gw1_config POLICY [MODE]: demo.sh's IDS config (Suricata on int0,
# the bundled rules plus the operator's file); MODE ips: inline on NFQUEUE
# IPS_QUEUE instead; alice and bob may use api, alice rec
write_gw1_config() {
	local svc tmp mode=${2:-ids} capture
	svc=$(topo_addr svc)
	tmp=$W/gw1.ini.tmp
	if [[ $mode == ips ]]; then
		capture="ips_queue = $IPS_QUEUE"
	else
		capture="ids_interface = int0"
	fi
	{
		echo "# e2e: gateway gw1 in office with the built-in IDS"
		e2e_gw_ini gw1 office
		cat <<-EOF
		audit_log = $W/audit.log
		ice_addresses = $(topo_addr office)
		ids = $mode
		$capture
		ids_rules = $E2E_REPO/deploy/suricata/peerpipe.rules, $W/operator.rules
		ids_work_dir = $W/ids
		ids_policy = $1
		# Sentinel would ban alice for the alerts these cases provoke on
		# purpose; its own tests are elsewhere
		sentinel = false
		bans_file = $W/bans.json

		[service api]
		address = $svc:$SVC_API
		description = e2e HTTP API
		allow = alice, bob

		[service source]
		address = $svc:$SVC_SOURCE
		description = seeded byte stream
		allow = @staff

		[service rec]
		address = $svc:$SVC_REC
		description = records every byte it gets
		allow = alice

		[service lrec]
		address = localhost:$LREC_PORT
		description = a recorder on the gateway's own loopback, by name
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

# every gateway of these cases runs Suricata: start_gw waits for it too
# shellcheck disable=SC2034 # read by start_gw (lib.sh)
GW_READY='IDS ready'

# suricata_pids: the Suricata processes in office's namespace
suricata_pids() {
	local p
	for p in $(ip netns pids "$(topo_ns office)" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'suricata' && echo "$p"
	done
	return 0
}

# the current gateway's running (non -T) Suricata: its child sniffing
# with --af-packet or reading the queue with -q (a Suricata of a gateway
# that has exited may still be stopping)
suricata_main_pid() {
	local p pp
	for p in $(suricata_pids); do
		pp=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		[[ $pp == "$GW_PID" ]] || continue
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -Eq -- '--af-packet|-q [0-9]' && { echo "$p"; return 0; }
	done
	return 0
}

# suricata_gone TIMEOUT_S: until no Suricata runs in office
suricata_gone() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[[ -z $(suricata_pids) ]] && return 0
		sleep 0.1
	done
	return 1
}

# need_running UP_FILE NOT_UP GATEWAY: $W/UP_FILE is there (else fail with
# NOT_UP), and GATEWAY (its name in the reason) and alice's client still run
need_running() {
	[[ -f $W/$1 ]] || fail "$2"
	topo_alive "$GW_PID" || fail "$3 is not running any more: $(tail -n 3 "$GW_LOG" | tr '\n' '|')"
	topo_alive "$ALICE_PID" || fail "alice's client is not running any more"
}

need_tunnel() { need_running tunnel.up "the tunnel did not come up (case 1)" "the gateway"; }

# audit_alert SID PEER SERVICE: the audit log has that alert, stream closed
audit_alert() {
	local hit
	hit=$(jq -c --argjson sid "$1" --arg peer "$2" --arg svc "$3" \
		'select(.event == "alert" and .signature_id == $sid and .action == "stream_closed"
			and .peer == $peer and .service == $svc)' "$W/audit.log" 2>/dev/null || true)
	[[ -n $hit ]]
}

# sqli_held: the SQL injection on a request the API holds (a barrier that
# never fills, 20 s): its answer cannot beat the alert, so "no HTTP
# response" is a fact, not a race. Prints "rc=N bytes=N".
sqli_held() {
	local rc=0 body
	body=$(curl_in home "http://127.0.0.1:$P_API/barrier?group=ids-$RANDOM$RANDOM&n=2&timeout=20&$SQLI" \
		--max-time 40 2>"$W/sqli-held.err") || rc=$?
	echo "rc=$rc bytes=${#body}"
}

# --- cases --------------------------------------------------------------

case_ids_up() {
	local ready conn
	wait_grep "$ALICE_OUT" 60 'connected to gateway' ||
		fail "alice's client never connected: $(tail -n 5 "$ALICE_OUT" | tr '\n' '|')"
	health_via home $P_API 60 || fail "GET /health through alice's tunnel never said ok"
	ready=$(grep -n 'IDS ready' "$GW_LOG" | head -n 1 | cut -d: -f1)
	conn=$(grep -n 'peer connected: identity alice' "$GW_LOG" | head -n 1 | cut -d: -f1)
	[[ -n $ready ]] || fail "no 'IDS ready' in the gateway log"
	[[ -n $conn ]] || fail "no 'peer connected: identity alice' in the gateway log"
	((ready < conn)) || fail "'IDS ready' (line $ready) came after alice connected (line $conn)"
	[[ -n $(suricata_main_pid) ]] || fail "no Suricata process in office"
	note "gateway: $(grep -m1 'IDS ready' "$GW_LOG")"
	touch "$W/tunnel.up"
}

case_attack() {
	local off goff a0 rc body res
	need_tunnel
	off=$(file_size "$ALICE_OUT")
	goff=$(file_size "$GW_LOG")
	a0=$(count_i "$ALICE_OUT" 'ALERT on api')
	# demo.sh's request, answered at once by the API (404): the alert and
	# the answer race; what curl got is only noted
	rc=0
	body=$(curl_in home "http://127.0.0.1:$P_API/search?$SQLI" --max-time 20 2>&1) || rc=$?
	note "plain /search attack: curl exit $rc, '$(head -c 200 <<<"$body" | tr '\n' ' ')'"
	wait_grep_since "$ALICE_OUT" "$off" 10 "$ALERT_RE" ||
		fail "alice's client printed no '$ALERT_RE': $(since "$ALICE_OUT" "$off" | tail -n 5 | tr '\n' '|')"
	note "client: $(since "$ALICE_OUT" "$off" | grep -m1 'ALERT')"
	wait_grep_since "$GW_LOG" "$goff" 10 'IDS alert 9100001' || fail "the gateway logged no 'IDS alert 9100001'"
	note "gateway: $(since "$GW_LOG" "$goff" | grep -m1 'IDS alert')"
	wait_file "$W/audit.log" 10 '"alert"' || fail "no audit log with an alert"
	for ((i = 0; i < 50; i++)); do audit_alert 9100001 alice api && break; sleep 0.1; done
	audit_alert 9100001 alice api ||
		fail "the audit log has no alert 9100001 stream_closed for alice/api: $(grep alert "$W/audit.log" | tail -n 2)"
	# every stream's end is a record of its own too
	wait_file "$W/audit.log" 10 '"event":"stream_closed"' ||
		fail "the audit log has no stream_closed record: $(tail -n 2 "$W/audit.log")"
	# the same on a held request: no HTTP response at all
	res=$(sqli_held)
	note "held attack: curl $res ($(tr '\n' ' ' <"$W/sqli-held.err"))"
	[[ $res =~ ^rc=(52|56)\ bytes=0$ ]] ||
		fail "the held attack got '$res' (want curl 52 empty reply or 56 reset, 0 bytes): $(cat "$W/sqli-held.err")"
	(($(count_i "$ALICE_OUT" 'ALERT on api') >= a0 + 2)) || fail "no second ALERT for the held attack"
	health_via home $P_API 10 || fail "the tunnel does not serve /health after the attack"
}

# The download must keep moving while the attack runs: a local reader that
# stops reading (a paused download) stalls the session's shared connection,
# and the client resets such a stream after 10 s. So the gate only marks
# that the download is under way; it is released before the attack, and
# the download must still be running when the attack has been cut.
case_clean() {
	local dl out res off exp b0 got
	need_tunnel
	start_client bob home2 "$W/bob.out" $P_BOB_API:api
	BOB_PID=$BG_PID
	echo "$BOB_PID" >"$W/bob.pid"
	health_via home2 $P_BOB_API 90 || fail "bob's tunnel never answered /health: $(tail -n 5 "$W/bob.out" | tr '\n' '|')"
	rm -f -- "$W/dl.gate" "$W/dl.progress"
	client_in home download --port $P_SOURCE --n $DL_N --seed 61 --gate "$W/dl.gate" \
		--gate-after 4194304 --progress "$W/dl.progress" --timeout 600 >"$W/dl.json" &
	dl=$!
	wait_file "$W/dl.progress" 120 '^paused' || fail "the download did not get its first 4 MiB"
	# bob fetches 4 MiB while the attack runs
	exp=$("${E2E_STREAM[@]}" sha 4194304 62)
	topo_exec home2 bash -o pipefail -c 'curl -sS --fail --noproxy "*" --max-time 120 "$1" | sha256sum' \
		_ "http://127.0.0.1:$P_BOB_API/bytes?n=4194304&seed=62" >"$W/bob-dl.sha" &
	b0=$!
	off=$(file_size "$ALICE_OUT")
	touch "$W/dl.gate"
	res=$(sqli_held)
	note "attack during the download: curl $res"
	topo_alive "$dl" || fail "the download had ended before the attack was cut (no overlap; raise E2E_IDS_DL_MB)"
	[[ $res =~ ^rc=(52|56)\ bytes=0$ ]] || fail "the attack was not cut: curl $res"
	wait_grep_since "$ALICE_OUT" "$off" 10 "$ALERT_RE" || fail "no ALERT for the attack during the download"
	wait $dl || fail "the download failed: $(cat "$W/dl.json")"
	out=$(cat "$W/dl.json")
	note "download: $out"
	[[ $(json_get "$out" .match) == true && $(json_get "$out" .received) == "$DL_N" ]] || fail "download: $out"
	wait $b0 || fail "bob's download failed"
	got=$(cut -d' ' -f1 "$W/bob-dl.sha")
	[[ $got == "$exp" ]] || fail "bob's 4 MiB: sha $got, want $exp"
	health_via home2 $P_BOB_API 10 || fail "bob's tunnel does not answer after the attack"
	! grep -q 'ALERT' "$W/bob.out" || fail "bob got an ALERT: $(grep ALERT "$W/bob.out")"
	health_via home $P_API 10 || fail "alice's tunnel does not answer after the attack"
}

case_operator_rule() {
	local off goff rc=0
	need_tunnel
	off=$(file_size "$ALICE_OUT")
	goff=$(file_size "$GW_LOG")
	curl_in home "http://127.0.0.1:$P_API/canary-7f3a" --max-time 20 >/dev/null 2>&1 || rc=$?
	note "curl /canary-7f3a: exit $rc"
	wait_grep_since "$ALICE_OUT" "$off" 10 'ALERT on api#[0-9]+: OPERATOR custom canary \(signature 9900001\), stream closed' ||
		fail "no ALERT with signature 9900001: $(since "$ALICE_OUT" "$off" | tail -n 5 | tr '\n' '|')"
	note "client: $(since "$ALICE_OUT" "$off" | grep -m1 ALERT)"
	wait_grep_since "$GW_LOG" "$goff" 10 'IDS alert 9900001' || fail "the gateway logged no 'IDS alert 9900001'"
	for ((i = 0; i < 50; i++)); do audit_alert 9900001 alice api && break; sleep 0.1; done
	audit_alert 9900001 alice api || fail "no audit alert 9900001 for alice/api"
}

# kill Suricata once and probe at once: the supervisor restarts it after
# 1 s (+ about 0.4 s to ready), plenty for a stream through the tunnel.
# A retry (up to 3 kills) when the probe lost the race; the backoff doubles.
case_fail_closed() {
	local try pid r0 off goff out i seen= np
	need_tunnel
	for try in 1 2 3; do
		pid=$(suricata_main_pid)
		[[ -n $pid ]] || fail "no Suricata process to kill"
		r0=$(count_i "$GW_LOG" 'IDS ready')
		off=$(file_size "$ALICE_OUT")
		goff=$(file_size "$GW_LOG")
		kill -KILL "$pid"
		note "try $try: killed Suricata $pid"
		for ((i = 0; i < 20; i++)); do
			out=$(client_in home probe --port $P_API --send 'GET /health HTTP/1.0\r\n\r\n' --timeout 5)
			if since "$ALICE_OUT" "$off" | grep -Eq 'stream api#[0-9]+ failed: inspection unavailable'; then
				# refused while still down (no new 'IDS ready' yet)
				(($(count_i "$GW_LOG" 'IDS ready') == r0)) && seen=1
				break
			fi
			(($(count_i "$GW_LOG" 'IDS ready') == r0)) || break
		done
		[[ -n $seen ]] && break
		note "try $try: no refusal seen before Suricata was back (last probe $out)"
		wait_grep_since "$GW_LOG" "$goff" 60 'IDS ready' || fail "Suricata did not come back"
	done
	[[ -n $seen ]] || fail "no new stream got 'failed: inspection unavailable' while Suricata was down"
	note "probe while down: $out"
	note "client: $(since "$ALICE_OUT" "$off" | grep -m1 'inspection unavailable')"
	[[ $(json_get "$out" .bytes) == 0 ]] || fail "the refused stream returned bytes: $out"
	since "$GW_LOG" "$goff" | grep -q 'fail-closed: new streams are refused' ||
		fail "the gateway did not log 'fail-closed: new streams are refused'"
	wait_grep_since "$GW_LOG" "$goff" 60 'IDS ready' || fail "Suricata did not come back ('IDS ready')"
	np=$(suricata_main_pid)
	[[ -n $np && $np != "$pid" ]] || fail "no new Suricata process (old $pid, now '$np')"
	health_via home $P_API 10 || fail "new streams do not work after 'IDS ready'"
	# and they are inspected again
	off=$(file_size "$ALICE_OUT")
	[[ $(sqli_held) =~ ^rc=(52|56)\ bytes=0$ ]] || fail "after the restart the attack is not cut"
	wait_grep_since "$ALICE_OUT" "$off" 10 "$ALERT_RE" || fail "no ALERT from the restarted Suricata"
}

# run_case_main: the gateway and alice are restarted in this shell (their
# pids must stay our children); the checks run in a subshell, so fail()
# only leaves that.
case_fail_open() {
	local rc
	if [[ ! -f $W/tunnel.up ]]; then
		echo "the tunnel did not come up (case 1)" >"$W/case.reason"
		return 1
	fi
	stop_bg "$ALICE_PID" 15
	note "alice's first client exited $BG_STATUS"
	stop_bg "$GW_PID" 15
	note "the fail-closed gateway exited $BG_STATUS"
	if [[ $BG_STATUS != 0 ]]; then
		echo "the fail-closed gateway exited $BG_STATUS after SIGTERM" >"$W/case.reason"
		return 1
	fi
	# the gateway stops and reaps its Suricata before it exits
	if ! suricata_gone 1; then
		echo "the first gateway's Suricata is still running after the gateway exited" >"$W/case.reason"
		return 1
	fi
	write_gw1_config fail-open
	if ! start_gw "$W/gw1-open.log"; then
		echo "the fail-open gateway did not start: $(tail -n 5 "$W/gw1-open.log" | tr '\n' '|')" >"$W/case.reason"
		return 1
	fi
	ALICE_OUT=$W/alice-2.out
	start_client alice home "$ALICE_OUT" $P_API:api $P_SOURCE:source
	ALICE_PID=$BG_PID
	rc=0
	(
		set -euo pipefail
		local try pid r0 goff out i seen=
		health_via home $P_API 90 || fail "alice's new tunnel never answered /health"
		for try in 1 2 3; do
			pid=$(suricata_main_pid)
			[[ -n $pid ]] || fail "no Suricata process to kill"
			r0=$(count_i "$GW_LOG" 'IDS ready')
			goff=$(file_size "$GW_LOG")
			kill -KILL "$pid"
			out=$(curl_in home "http://127.0.0.1:$P_API/health" --max-time 5 2>&1 || true)
			note "try $try: killed Suricata $pid; /health said '$out'"
			# passed while Suricata was still down (no new 'IDS ready')
			if [[ $out == ok ]] && (($(count_i "$GW_LOG" 'IDS ready') == r0)); then
				seen=1
				break
			fi
			wait_grep_since "$GW_LOG" "$goff" 60 'IDS ready' || fail "Suricata did not come back"
		done
		[[ -n $seen ]] || fail "no stream passed while Suricata was down"
		wait_grep_since "$GW_LOG" "$goff" 5 'fail-open: new streams pass UNINSPECTED' ||
			fail "the gateway did not log 'fail-open: new streams pass UNINSPECTED'"
		note "gateway: $(since "$GW_LOG" "$goff" | grep -m1 'UNINSPECTED')"
		! grep -q 'inspection unavailable' "$ALICE_OUT" || fail "fail-open refused a stream"
		wait_grep_since "$GW_LOG" "$goff" 60 'IDS ready' || fail "Suricata did not come back"
		health_via home $P_API 10 || fail "no /health after Suricata came back"
	) || rc=$?
	return $rc
}

case_shutdown() {
	local left
	if [[ -n $BOB_PID ]] || [[ -s $W/bob.pid ]]; then
		BOB_PID=${BOB_PID:-$(cat "$W/bob.pid")}
		stop_bg "$BOB_PID" 15
		note "bob's client exited $BG_STATUS"
	fi
	e2e_stop_ok "$ALICE_PID" "alice's client" || return 1
	e2e_stop_ok "$GW_PID" "the gateway" || return 1
	# The gateway stops and reaps its Suricata before it exits
	# (gw_ids_stop): nothing of it may be left.
	left=$(suricata_pids | tr '\n' ' ')
	left=${left% }
	if [[ -n $left ]]; then
		ps -o pid,ppid,stat,args -p "${left// /,}" || true
		echo "Suricata still running after the gateway exited: $left" >"$W/case.reason"
		return 1
	fi
	if [[ -e $W/ids/eve.sock ]]; then
		echo "the EVE socket was left behind" >"$W/case.reason"
		return 1
	fi
	e2e_no_sanitizer_reports
}

# --- ips mode (ids = ips) ----------------------------------------------

# ips_backend: how the current gateway installed its rules (nft|iptables)
ips_backend() {
	if grep -q "go to NFQUEUE $IPS_QUEUE: nft table" "$GW_LOG"; then echo nft; else echo iptables; fi
}

# ips_copies BACKEND: how many copies of our rules office holds (nft: the
# table; iptables: the OUTPUT jumps, the same in iptables and ip6tables)
ips_copies() {
	local v4 v6
	if [[ $1 == nft ]]; then
		topo_exec office nft list tables | grep -c "^table inet peerpipe_gw_$IPS_QUEUE\$" || true
		return 0
	fi
	v4=$(topo_exec office iptables-save -t filter | grep -c -- "^-A OUTPUT -j PEERPIPE_GW_${IPS_QUEUE}_OUT\$" || true)
	v6=$(topo_exec office ip6tables-save -t filter | grep -c -- "^-A OUTPUT -j PEERPIPE_GW_${IPS_QUEUE}_OUT\$" || true)
	if [[ $v4 == "$v6" ]]; then echo "$v4"; else echo "v4=$v4,v6=$v6"; fi
}

# ips_leftovers: every netfilter line in office that names us (nothing
# after a clean exit, whatever the backend)
ips_leftovers() {
	{
		topo_exec office nft list ruleset 2>/dev/null
		topo_exec office iptables-save 2>/dev/null
		topo_exec office ip6tables-save 2>/dev/null
	} | grep -i 'peerpipe' || true
}

# ips_start_gw LOG ALICE_OUT: the ips gateway and alice (P_API, P_REC);
# false with $W/case.reason
ips_start_gw() {
	write_gw1_config fail-closed ips
	if ! "$GATEWAY_BIN" --config "$W/gw1.ini" --check-config >"$W/check-config-ips.out" 2>&1; then
		echo "--check-config refused ids = ips: $(tr '\n' ' ' <"$W/check-config-ips.out")" >"$W/case.reason"
		return 1
	fi
	if ! start_gw "$1"; then
		echo "the ips gateway did not start: $(tail -n 5 "$1" | tr '\n' '|')" >"$W/case.reason"
		return 1
	fi
	ALICE_OUT=$2
	start_client alice home "$ALICE_OUT" $P_API:api $P_REC:rec $P_LREC:lrec
	ALICE_PID=$BG_PID
}

# ips_stop_all: alice and the gateway with SIGTERM, then what must be
# gone; false with $W/case.reason
ips_stop_all() {
	local left
	stop_bg "$ALICE_PID" 15
	stop_bg "$GW_PID" 15
	if [[ $BG_STATUS != 0 ]]; then
		echo "the ips gateway exited $BG_STATUS after SIGTERM: $(tail -n 3 "$GW_LOG" | tr '\n' '|')" >"$W/case.reason"
		return 1
	fi
	left=$(suricata_pids | tr '\n' ' ')
	if [[ -n ${left// /} ]]; then
		echo "Suricata still running after the ips gateway exited: $left" >"$W/case.reason"
		return 1
	fi
	left=$(ips_leftovers)
	if [[ -n $left ]]; then
		echo "netfilter rules left after SIGTERM: $(tr '\n' '|' <<<"$left")" >"$W/case.reason"
		return 1
	fi
	if topo_exec office nft list tables | grep -qi peerpipe; then
		echo "nft list tables still shows a peerpipe table" >"$W/case.reason"
		return 1
	fi
	if ! grep -q "IPS: netfilter rules of NFQUEUE $IPS_QUEUE removed" "$GW_LOG"; then
		echo "the gateway did not log the removal of its rules" >"$W/case.reason"
		return 1
	fi
	if [[ -e $W/ids/eve.sock ]]; then
		echo "the EVE socket was left behind" >"$W/case.reason"
		return 1
	fi
}

need_ips() { need_running ips.up "the ips gateway did not come up" "the ips gateway"; }

case_ips_up() {
	local n b
	if topo_alive "${GW_PID:-0}"; then stop_bg "$GW_PID" 15; fi
	if topo_alive "${ALICE_PID:-0}"; then stop_bg "$ALICE_PID" 15; fi
	ips_start_gw "$W/gw1-ips.log" "$W/alice-ips.out" || return 1
	if ! grep -q "IPS: service connections (socket mark 0x50500000) go to NFQUEUE $IPS_QUEUE" "$GW_LOG"; then
		echo "no 'IPS: service connections ... go to NFQUEUE $IPS_QUEUE' in the gateway log" >"$W/case.reason"
		return 1
	fi
	b=$(ips_backend)
	n=$(ips_copies "$b")
	note "netfilter: $b, $n copy; $(grep -m1 'go to NFQUEUE' "$GW_LOG")"
	if [[ $n != 1 ]]; then
		echo "office holds $n copies of the $b rules, want 1" >"$W/case.reason"
		return 1
	fi
	if [[ -z $(suricata_main_pid) ]]; then
		echo "no Suricata reading the queue in office" >"$W/case.reason"
		return 1
	fi
	if ! health_via home $P_API 90; then
		echo "GET /health through alice's tunnel never said ok: $(tail -n 5 "$ALICE_OUT" | tr '\n' '|')" >"$W/case.reason"
		return 1
	fi
	touch "$W/ips.up"
}

case_ips_attack() {
	local off goff roff rc=0 body gs cs rec=$W/svc-svc/rec.bytes
	need_ips
	off=$(file_size "$ALICE_OUT")
	goff=$(file_size "$GW_LOG")
	roff=$(file_size "$W/svc-svc/rec.log")
	body=$(curl_in home "http://127.0.0.1:$P_REC/search?$SQLI" --max-time 20 2>"$W/ips-attack.err") || rc=$?
	note "attack on rec: curl exit $rc, ${#body} bytes ($(tr '\n' ' ' <"$W/ips-attack.err"))"
	[[ $rc =~ ^(52|56)$ && -z $body ]] ||
		fail "the attack got an answer (curl $rc, '$(head -c 100 <<<"$body")'): want curl 52 or 56, no bytes"
	wait_grep_since "$ALICE_OUT" "$off" 10 "$ALERT_REC_RE" ||
		fail "alice's client printed no '$ALERT_REC_RE': $(since "$ALICE_OUT" "$off" | tail -n 5 | tr '\n' '|')"
	wait_grep_since "$GW_LOG" "$goff" 10 'IDS alert 9100001' || fail "the gateway logged no 'IDS alert 9100001'"
	cs=$(since "$ALICE_OUT" "$off" | grep -Eo -m1 'ALERT on rec#[0-9]+' | cut -d' ' -f3)
	gs=$(since "$GW_LOG" "$goff" | grep -Eo -m1 'stream rec#[0-9]+ to rec: IDS alert 9100001' | cut -d' ' -f2)
	note "client: $(since "$ALICE_OUT" "$off" | grep -m1 'ALERT on rec')"
	note "gateway: $(since "$GW_LOG" "$goff" | grep -m1 'IDS alert 9100001')"
	[[ -n $cs && $cs == "$gs" ]] || fail "ALERT named stream '$cs', the gateway's stream was '$gs'"
	for ((i = 0; i < 50; i++)); do audit_alert 9100001 alice rec && break; sleep 0.1; done
	audit_alert 9100001 alice rec || fail "no audit alert 9100001 stream_closed for alice/rec"
	# (the gateway may be writing the next record: a torn last line fails jq, retry)
	for ((i = 0; i < 50; i++)); do
		[[ -n $(jq -c 'select(.event == "alert" and .service == "rec" and .ids_action == "blocked")' \
			"$W/audit.log" 2>/dev/null) ]] && break
		sleep 0.1
	done
	((i < 50)) || fail "the audit record does not say ids_action blocked: $(grep '"alert"' "$W/audit.log" | tail -n 1)"
	# the recorder saw the connection, got none of its bytes, and was reset
	wait_grep_since "$W/svc-svc/rec.log" "$roff" 10 'close .* bytes=0 end=reset' ||
		fail "the recorder did not log a reset connection with 0 bytes: $(since "$W/svc-svc/rec.log" "$roff" | tr '\n' '|')"
	note "recorder: $(since "$W/svc-svc/rec.log" "$roff" | tr '\n' '|')"
	! grep -aq 'UNION' "$rec" || fail "the service received the attack: $(grep -a UNION "$rec" | head -c 200)"
	# and the same tunnel goes on (a new stream)
	health_via home $P_API 10 || fail "no /health after the attack"
	! grep -aq 'UNION' "$rec" || fail "the service received the attack (later)"
}

case_ips_clean() {
	local body exp got rec=$W/svc-svc/rec.bytes
	need_ips
	body=$(curl_in home "http://127.0.0.1:$P_REC/clean-7c1d?q=hello" --max-time 20) ||
		fail "a clean request to rec failed"
	[[ $body =~ ^recorded\ [0-9]+$ ]] || fail "rec answered '$body'"
	grep -aq 'GET /clean-7c1d?q=hello HTTP' "$rec" || fail "the recorder has no clean request"
	note "rec: $body"
	exp=$("${E2E_STREAM[@]}" sha 4194304 63)
	got=$(topo_exec home bash -o pipefail -c 'curl -sS --fail --noproxy "*" --max-time 120 "$1" | sha256sum' \
		_ "http://127.0.0.1:$P_API/bytes?n=4194304&seed=63" | cut -d' ' -f1) || fail "the 4 MiB download failed"
	[[ $got == "$exp" ]] || fail "4 MiB through the inspected stream: sha $got, want $exp"
	! grep -q 'ALERT' <(since "$ALICE_OUT" 0 | grep -v 'ALERT on rec') || fail "a clean stream got an ALERT"
}

# The same on lo: the gateway connects to "localhost" through GIO (the mark
# is set in the socket client's CONNECTING event), and the packets between
# two local sockets are queued once, on output.
case_ips_loopback() {
	local off roff rc=0 body rec=$W/lrec.bytes
	need_ips
	off=$(file_size "$ALICE_OUT")
	roff=$(file_size "$W/lrec.log")
	body=$(curl_in home "http://127.0.0.1:$P_LREC/search?$SQLI" --max-time 20 2>"$W/ips-lo.err") || rc=$?
	note "attack on lrec: curl exit $rc, ${#body} bytes ($(tr '\n' ' ' <"$W/ips-lo.err"))"
	[[ $rc =~ ^(52|56)$ && -z $body ]] || fail "the attack on lrec got an answer (curl $rc)"
	wait_grep_since "$ALICE_OUT" "$off" 10 'ALERT on lrec#[0-9]+: .*\(signature 9100001\), stream closed' ||
		fail "no ALERT on lrec: $(since "$ALICE_OUT" "$off" | tail -n 5 | tr '\n' '|')"
	wait_grep_since "$W/lrec.log" "$roff" 10 'close .* bytes=0 end=reset' ||
		fail "the loopback recorder did not log a reset connection with 0 bytes: $(since "$W/lrec.log" "$roff" | tr '\n' '|')"
	! grep -aq 'UNION' "$rec" || fail "the loopback service received the attack"
	body=$(curl_in home "http://127.0.0.1:$P_LREC/clean-lo" --max-time 20) || fail "a clean request to lrec failed"
	[[ $body =~ ^recorded\ [0-9]+$ ]] || fail "lrec answered '$body'"
	grep -aq 'GET /clean-lo HTTP' "$rec" || fail "the loopback recorder has no clean request"
	! grep -aq 'UNION' "$rec" || fail "the loopback service received the attack (later)"
}

# A request head that never ends keeps a stream to rec open and inspected;
# Suricata dies; fail-closed ends that stream (its packets would wait in a
# queue nobody reads) and refuses new ones until 'IDS ready'.
case_ips_lost() {
	local hold goff off pid marker="GET /held-$RANDOM$RANDOM"
	need_ips
	goff=$(file_size "$GW_LOG")
	off=$(file_size "$ALICE_OUT")
	topo_exec home bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 9; printf "%s HTTP/1.0\r\n" "$2" >&3; cat <&3 >/dev/null' \
		_ "$P_REC" "$marker" 2>"$W/ips-held.err" &
	hold=$!
	wait_file "$W/svc-svc/rec.bytes" 20 "$marker" || fail "the held request never reached the recorder"
	pid=$(suricata_main_pid)
	[[ -n $pid ]] || fail "no Suricata to kill"
	kill -KILL "$pid"
	note "killed Suricata $pid under the held stream"
	wait_grep_since "$GW_LOG" "$goff" 20 'stream rec#[0-9]+ to rec: inspection lost' ||
		fail "the gateway did not close the live stream: $(since "$GW_LOG" "$goff" | tail -n 5 | tr '\n' '|')"
	note "gateway: $(since "$GW_LOG" "$goff" | grep -m1 'inspection lost')"
	since "$GW_LOG" "$goff" | grep -q 'fail-closed: new streams are refused, live ones are closed' ||
		fail "no 'fail-closed: new streams are refused, live ones are closed' in the gateway log"
	wait_grep_since "$GW_LOG" "$goff" 10 'reason=inspection lost' || fail "the stream's close does not say 'inspection lost'"
	wait "$hold" || true
	note "held connection ended: $(tr '\n' ' ' <"$W/ips-held.err")"
	wait_grep_since "$GW_LOG" "$goff" 60 'IDS ready' || fail "Suricata did not come back"
	health_via home $P_API 10 || fail "new streams do not work after 'IDS ready'"
}

case_ips_shutdown() {
	if [[ ! -f $W/ips.up ]]; then
		echo "the ips gateway did not come up" >"$W/case.reason"
		return 1
	fi
	ips_stop_all || return 1
	note "after SIGTERM: $(grep -m1 'netfilter rules of NFQUEUE' "$GW_LOG")"
}

case_ips_kill9() {
	local b n left
	rm -f -- "$W/ips.up"
	ips_start_gw "$W/gw1-ips2.log" "$W/alice-ips2.out" || return 1
	b=$(ips_backend)
	health_via home $P_API 90 || { echo "no tunnel before the kill" >"$W/case.reason"; return 1; }
	kill -KILL "$GW_PID"
	stop_bg "$GW_PID" 5
	stop_bg "$ALICE_PID" 15
	suricata_gone 10 || { echo "Suricata outlived its killed gateway" >"$W/case.reason"; return 1; }
	left=$(ips_leftovers)
	note "after kill -9, left in office: $(tr '\n' '|' <<<"$left")"
	if [[ -z $left ]]; then
		echo "no rules left after kill -9 (the check proves nothing)" >"$W/case.reason"
		return 1
	fi
	ips_start_gw "$W/gw1-ips3.log" "$W/alice-ips3.out" || return 1
	n=$(ips_copies "$b")
	if [[ $n != 1 ]]; then
		echo "after the restart office holds $n copies of the $b rules, want 1" >"$W/case.reason"
		return 1
	fi
	if ! health_via home $P_API 90; then
		echo "the restarted ips gateway does not serve alice" >"$W/case.reason"
		return 1
	fi
	if [[ $(curl_in home "http://127.0.0.1:$P_REC/after-restart" --max-time 20 2>/dev/null) != recorded* ]]; then
		echo "rec does not answer through the restarted gateway" >"$W/case.reason"
		return 1
	fi
	ips_stop_all || return 1
	e2e_no_sanitizer_reports
}

# The sidecar: this test plays the container runtime and starts Suricata
# in office from the command line the gateway wrote.
case_sidecar() {
	local args off
	if topo_alive "${GW_PID:-0}"; then stop_bg "$GW_PID" 15; fi
	if topo_alive "${ALICE_PID:-0}"; then stop_bg "$ALICE_PID" 15; fi
	suricata_gone 10 || { echo "a Suricata of an earlier case is still running" >"$W/case.reason"; return 1; }
	write_gw1_config fail-closed
	sed -i 's/^ids = ids$/ids = ids\nids_engine = sidecar/' "$W/gw1.ini"
	GW_READY='' start_gw "$W/gw1-sidecar.log" >"$W/case.reason" || return 1
	ALICE_OUT=$W/alice-sidecar.out
	start_client alice home "$ALICE_OUT" $P_API:api
	ALICE_PID=$BG_PID
	wait_grep "$GW_LOG" 10 "waiting for the sidecar" ||
		{ echo "the gateway did not say it waits for the sidecar" >"$W/case.reason"; return 1; }
	wait_grep "$ALICE_OUT" 60 'connected to gateway' ||
		{ echo "alice never connected: $(tail -n 3 "$ALICE_OUT" | tr '\n' '|')" >"$W/case.reason"; return 1; }
	curl_in home "http://127.0.0.1:$P_API/health" --max-time 10 >/dev/null 2>&1 || true
	wait_grep "$ALICE_OUT" 10 'failed: inspection unavailable' ||
		{ echo "a stream passed before the sidecar was there (fail-closed)" >"$W/case.reason"; return 1; }
	args=$(cat "$W/ids/sidecar.args" 2>/dev/null)
	[[ $args == *"--af-packet=int0"* ]] ||
		{ echo "sidecar.args is '$args'" >"$W/case.reason"; return 1; }
	# shellcheck disable=SC2086 # the file is a word list, as the sidecar uses it
	start_bg office "$W/sidecar.out" "${SURICATA_RUN:-/usr/bin/suricata}" $args
	SIDECAR_PID=$BG_PID
	wait_grep "$GW_LOG" 90 'IDS ready' ||
		{ echo "no 'IDS ready' after the sidecar started: $(tail -n 3 "$W/sidecar.out" | tr '\n' '|')" >"$W/case.reason"; return 1; }
	health_via home $P_API 30 || { echo "no tunnel service with the sidecar up" >"$W/case.reason"; return 1; }
	off=$(file_size "$ALICE_OUT")
	curl_in home "http://127.0.0.1:$P_API/search?$SQLI" --max-time 20 >/dev/null 2>&1 || true
	wait_grep_since "$ALICE_OUT" "$off" 10 "$ALERT_RE" ||
		{ echo "no ALERT with the sidecar: $(since "$ALICE_OUT" "$off" | tail -n 3 | tr '\n' '|')" >"$W/case.reason"; return 1; }
	kill -KILL "$SIDECAR_PID"
	stop_bg "$SIDECAR_PID" 5
	wait_grep "$GW_LOG" 20 'IDS not inspecting' ||
		{ echo "the gateway did not notice the sidecar die" >"$W/case.reason"; return 1; }
	off=$(file_size "$ALICE_OUT")
	curl_in home "http://127.0.0.1:$P_API/health" --max-time 10 >/dev/null 2>&1 || true
	wait_grep_since "$ALICE_OUT" "$off" 10 'failed: inspection unavailable' ||
		{ echo "a stream passed with the sidecar gone (fail-closed)" >"$W/case.reason"; return 1; }
	stop_bg "$ALICE_PID" 15
	e2e_stop_ok "$GW_PID" "the gateway" || return 1
	[[ ! -e $W/ids/eve.sock ]] || { echo "the EVE socket was left behind" >"$W/case.reason"; return 1; }
	note "gateway: $(grep -m1 'waiting for the sidecar' "$GW_LOG" | cut -c1-160)"
}

# --- setup --------------------------------------------------------------

dump_logs() {
	e2e_dump_logs "$1" e2e-ids.sh gw1.log gw1-open.log gw1-ips.log gw1-ips2.log gw1-ips3.log gw1-sidecar.log sidecar.out alice.out \
		alice.err alice-2.out alice-ips.out alice-ips.err bob.out ids/suricata.log signal-1.err svc-svc/rec.log lrec.log
}

e2e_setup_begin home2
start_bg svc "$W/svc-svc/rec.out" "$PY" "$here/services/recorder.py" --listen "$(topo_addr svc):$SVC_REC" \
	--ready "$W/svc-svc/rec.ready" --log "$W/svc-svc/rec.log" --record "$W/svc-svc/rec.bytes"
wait_file "$W/svc-svc/rec.ready" 15 '^ready ' || setup_fail "the recorder did not start: $(tail -n 5 "$W/svc-svc/rec.out")"
start_bg office "$W/lrec.out" "$PY" "$here/services/recorder.py" --listen "127.0.0.1:$LREC_PORT" \
	--ready "$W/lrec.ready" --log "$W/lrec.log" --record "$W/lrec.bytes"
wait_file "$W/lrec.ready" 15 '^ready ' || setup_fail "the loopback recorder did not start: $(tail -n 5 "$W/lrec.out")"

e2e_setup_clients alice bob
e2e_setup_gw1 alice bob

# the operator's own rule file (case 4), next to the bundled one
cat >"$W/operator.rules" <<-'EOF'
	# e2e: an operator's canary rule
	alert http any any -> any any (msg:"OPERATOR custom canary"; flow:established,to_server; http.uri; content:"/canary-7f3a"; sid:9900001; rev:1;)
EOF
chmod 0644 "$W/operator.rules"
write_gw1_config fail-closed
"$GATEWAY_BIN" --config "$W/gw1.ini" --check-config >"$W/check-config.out" 2>&1 ||
	setup_fail "--check-config: $(tr '\n' ' ' <"$W/check-config.out")"

start_gw "$W/gw1.log" >"$W/setup-gw.log" 2>&1 || setup_fail "$(cat "$W/setup-gw.log")"
ALICE_OUT=$W/alice.out
start_client alice home "$ALICE_OUT" $P_API:api $P_SOURCE:source
ALICE_PID=$BG_PID

e2e_run_cases

((TAP_FAILED == 0))
