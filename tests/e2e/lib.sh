# SPDX-License-Identifier: Apache-2.0
# tests/e2e/lib.sh: what the e2e runners share (sourced after topo.sh):
# TAP bookkeeping with one subshell per case, the binaries, the test PKI,
# and starting peerpipe-signal, coturn and the test services in the
# topology. W (the work dir) is TOPO_DIR. Below those, what the gateway
# runners (e2e-tunnel, e2e-ids, e2e-sentinel) share: their setup, the
# case loop, clients, gw1 and the wait helpers.

[[ -n ${E2E_LIB_LOADED:-} ]] && return 0
E2E_LIB_LOADED=1

E2E_HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd -- "$E2E_HERE/../.." && pwd)
# Debian's interpreter, never a pyenv shim from PATH
PY=${E2E_PYTHON:-/usr/bin/python3}
E2E_CLIENT=("$PY" "$E2E_HERE/tools/e2e_client.py")
E2E_STREAM=("$PY" "$E2E_HERE/services/stream.py")
E2E_CASE_TIMEOUT=${E2E_CASE_TIMEOUT:-600}
E2E_VERBOSE=${E2E_VERBOSE:-0}

SIG_PORT=8443
TURN_PORT=3478
# ports of the services in svc
SVC_API=8080 SVC_ECHO=9001 SVC_SOURCE=9002 SVC_SINK=9003

# No __pycache__ in the source tree from the services and the client.
export PYTHONDONTWRITEBYTECODE=1

# Proxies from the caller's environment would capture curl and libsoup.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# --- preconditions and binaries ------------------------------------------

# e2e_need_tools: prints "1..0 # SKIP ..." and exits 0 when this machine
# cannot run the e2e tests at all.
e2e_need_tools() {
	local t
	if [[ $(id -u) -ne 0 ]]; then
		echo "1..0 # SKIP needs root for network namespaces"
		exit 0
	fi
	for t in ip iptables ss curl openssl jq turnserver "$PY"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "1..0 # SKIP $t not installed"
			exit 0
		fi
	done
}

e2e_find_bins() {
	E2E_BUILD=${PP_BUILD_DIR:-$E2E_REPO/build}
	SIGNAL_BIN=${PP_SIGNAL_BIN:-$E2E_BUILD/src/server/peerpipe-signal}
	CLI_BIN=${PP_CLI_BIN:-$E2E_BUILD/src/cli/peerpipe}
	GATEWAY_BIN=${PP_GATEWAY_BIN:-$E2E_BUILD/src/gateway/peerpipe-gateway}
}

# --- TAP ------------------------------------------------------------------

TAP_N=0
TAP_FAILED=0
TAP_PLAN=0

tap_plan() {
	TAP_PLAN=$1
	echo "1..$1"
}

tap_diag() { sed 's/^/# /'; }

# In a case: the reason for not ok / SKIP, then leave the case (and stop
# what it still runs in the background).
fail() {
	local j
	printf '%s\n' "$*" >"$W/case.reason"
	printf 'FAIL: %s\n' "$*" >&2
	for j in $(jobs -p); do kill_tree "$j"; done
	exit 1
}
skip() {
	printf '%s\n' "$*" >"$W/case.reason"
	exit 77
}
note() { printf '%s\n' "$*" >&2; }

_e2e_descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		_e2e_descendants "$c"
		echo "$c"
	done
}

# kill_tree PID: PID and everything it started that is still its descendant
kill_tree() {
	local pids
	pids="$(_e2e_descendants "$1" | tr '\n' ' ') $1"
	kill -TERM $pids 2>/dev/null || true
	sleep 0.5
	kill -KILL $pids 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

_tap_result() { # _tap_result NAME RC LOG [REASON]
	local name=$1 rc=$2 log=$3 reason=${4:-}
	[[ -n $reason || ! -s $W/case.reason ]] || reason=$(head -c 400 "$W/case.reason" | tr '\n' ' ')
	reason=${reason% }
	if ((rc == 0)); then
		echo "ok $TAP_N - $name"
	elif ((rc == 77)); then
		echo "ok $TAP_N - $name # SKIP ${reason:-skipped}"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $name # ${reason:-exit status $rc (see the log lines below)}"
	fi
	if [[ -s $log ]] && { ((rc != 0 && rc != 77)) || ((E2E_VERBOSE)); }; then
		echo "# --- case $TAP_N log (last 40 lines of $log):"
		tail -n 40 "$log" | tap_diag
	fi
}

# run_case NAME FUNCTION [TIMEOUT_S]: FUNCTION in a subshell with errexit
# (its stdout and stderr go to the case log); fail/skip give the reason.
# A case that outlives TIMEOUT_S is killed with what it started.
run_case() {
	local name=$1 fn=$2 timeout=${3:-$E2E_CASE_TIMEOUT} log pid rc i reason=
	TAP_N=$((TAP_N + 1))
	log=$W/case-$TAP_N.log
	rm -f -- "$W/case.reason"
	set +e
	(
		set -euo pipefail
		trap - EXIT INT TERM HUP
		"$fn"
	) >"$log" 2>&1 </dev/null &
	pid=$!
	set -e
	for ((i = 0; i < timeout * 5; i++)); do
		topo_alive "$pid" || break
		sleep 0.2
	done
	if topo_alive "$pid"; then
		kill_tree "$pid"
		reason="timed out after ${timeout}s"
	fi
	if wait "$pid"; then rc=0; else rc=$?; fi
	[[ -z $reason ]] || rc=1
	_tap_result "$name" "$rc" "$log" "$reason"
}

# run_case_main NAME FUNCTION: in this shell (for what must wait for our
# own children). FUNCTION returns non-zero after writing $W/case.reason;
# it must not exit.
run_case_main() {
	local name=$1 fn=$2 log rc
	TAP_N=$((TAP_N + 1))
	log=$W/case-$TAP_N.log
	rm -f -- "$W/case.reason"
	if "$fn" >"$log" 2>&1 </dev/null; then rc=0; else rc=$?; fi
	_tap_result "$name" "$rc" "$log"
}

tap_skip() { # tap_skip NAME REASON
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

tap_bail() {
	echo "Bail out! $*"
	exit 1
}

# --- small helpers --------------------------------------------------------

# wait_grep FILE TIMEOUT_S ERE: until FILE has a line matching ERE
# (case-insensitive)
wait_grep() {
	local file=$1 timeout=$2 re=$3 i
	for ((i = 0; i < timeout * 10; i++)); do
		grep -Eiq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

file_size() { stat -c %s -- "$1" 2>/dev/null || echo 0; }

# since FILE OFFSET: what FILE got after OFFSET bytes
since() { tail -c +"$(($2 + 1))" -- "$1" 2>/dev/null || true; }

json_get() { jq -r "$2" <<<"$1"; }

# --- test PKI ---------------------------------------------------------------

# e2e_make_pki DIR: a self-signed TLS certificate for the signaling server
# on its public address (like scripts/make-test-cert.sh, plus that address),
# the JWT secret and the TURN secret.
e2e_make_pki() {
	local dir=$1 err
	_e2e_w
	mkdir -p -- "$dir"
	(
		umask 077
		err=$(openssl req -x509 -new -noenc -days 2 \
			-newkey ec -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
			-subj /CN=signal.e2e.test \
			-addext "subjectAltName=IP:$(topo_addr sig),DNS:signal.e2e.test,DNS:localhost,IP:127.0.0.1" \
			-addext basicConstraints=critical,CA:FALSE \
			-addext keyUsage=critical,digitalSignature \
			-addext extendedKeyUsage=serverAuth \
			-keyout "$dir/server.key" -out "$dir/server.crt" 2>&1) || {
			printf '%s\n' "$err" >&2
			exit 1
		}
		head -c 48 /dev/urandom | base64 -w0 >"$dir/jwt.secret"
		head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=' >"$dir/turn.secret"
	) || return 1
	chmod 0644 "$dir/server.crt"
	E2E_CA=$dir/server.crt
	SIG_URL="wss://$(topo_addr sig):$SIG_PORT/v1/ws"
}

# --- servers in the topology ------------------------------------------------

# W: the work dir (TOPO_DIR), for scripts that did not set it
_e2e_w() {
	topo_init
	W=${W:-$TOPO_DIR}
}

# e2e_start_turn: coturn in inet on the turn address (STUN, TURN over UDP
# and over TCP: the signaling server hands out both).
# Not with no-stun-backward-compatibility (libnice's checks need it off).
e2e_start_turn() {
	_e2e_w
	local a
	a=$(topo_addr turn)
	start_bg inet "$W/turn.out" turnserver -n --listening-ip="$a" --relay-ip="$a" \
		--listening-port=$TURN_PORT --min-port=50000 --max-port=50999 \
		--use-auth-secret --static-auth-secret="$(cat "$W/pki/turn.secret")" \
		--realm=peerpipe.test --no-tls --no-dtls --no-cli --no-rfc5780 \
		--allowed-peer-ip=198.18.0.0-198.19.255.255 --db="$W/turndb" \
		--pidfile="$W/turn.pid" --log-file="$W/turn.log" --simple-log
	TURN_PID=$BG_PID
	wait_port inet "$a" $TURN_PORT 15 udp && wait_port inet "$a" $TURN_PORT 15 tcp
}

# e2e_start_signal: peerpipe-signal in inet on sig:8443 (TLS), handing out
# the STUN and TURN servers. Its pid goes to $W/signal.pid (a case may
# restart it).
e2e_start_signal() {
	_e2e_w
	local n
	cat >"$W/signal.ini" <<-EOF
		[server]
		listen = $(topo_addr sig):$SIG_PORT
		tls_cert = $W/pki/server.crt
		tls_key = $W/pki/server.key

		[auth]
		jwt_secret_file = $W/pki/jwt.secret

		[ice]
		stun_urls = stun:$(topo_addr turn):$TURN_PORT
		turn_urls = turn:$(topo_addr turn):$TURN_PORT?transport=udp,turn:$(topo_addr turn):$TURN_PORT?transport=tcp
		turn_secret_file = $W/pki/turn.secret

		[log]
		level = ${E2E_SIGNAL_LOG_LEVEL:-info}
	EOF
	n=$(cat "$W/signal.starts" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" >"$W/signal.starts"
	start_bg -e "$W/signal-$n.err" inet "$W/signal-$n.out" "$SIGNAL_BIN" --config "$W/signal.ini"
	echo "$BG_PID" >"$W/signal.pid"
	if ! wait_file "$W/signal-$n.out" 15 'listening on wss://'; then
		echo "peerpipe-signal did not start:" >&2
		tail -n 20 "$W/signal-$n.err" >&2
		return 1
	fi
}

# signal_metric NAME: the value of metric NAME (with its labels, exactly as
# /metrics prints it: 'peerpipe_signal_peers{role="gateway"}'), asked from
# inside inet; empty when the server does not answer.
signal_metric() {
	topo_exec inet curl -sS --noproxy '*' --max-time 10 --cacert "$E2E_CA" \
		"https://$(topo_addr sig):$SIG_PORT/metrics" 2>/dev/null |
		awk -v n="$1" '$1 == n { print $2; exit }' || true
}

# e2e_start_services NODE ADDR TAG: the four test services on ADDR in NODE,
# logs and ready files in $W/svc-TAG/ (api.log echo.log source.log
# sink.log sink.stats).
e2e_start_services() {
	_e2e_w
	local node=$1 addr=$2 tag=$3 d s
	d=$W/svc-$tag
	mkdir -p -- "$d"
	start_bg "$node" "$d/api.out" "$PY" "$E2E_HERE/services/http_api.py" \
		--listen "$addr:$SVC_API" --ready "$d/api.ready" --log "$d/api.log" --tag "$tag"
	start_bg "$node" "$d/echo.out" "$PY" "$E2E_HERE/services/sha_service.py" \
		--listen "$addr:$SVC_ECHO" --ready "$d/echo.ready" --log "$d/echo.log"
	start_bg "$node" "$d/source.out" "$PY" "$E2E_HERE/services/source.py" \
		--listen "$addr:$SVC_SOURCE" --ready "$d/source.ready" --log "$d/source.log"
	start_bg "$node" "$d/sink.out" "$PY" "$E2E_HERE/services/sink.py" \
		--listen "$addr:$SVC_SINK" --ready "$d/sink.ready" --log "$d/sink.log" \
		--stats "$d/sink.stats"
	for s in api echo source sink; do
		if ! wait_file "$d/$s.ready" 15 '^ready '; then
			echo "service $s in $node did not start:" >&2
			tail -n 20 "$d/$s.out" >&2
			return 1
		fi
	done
}

# e2e_start_web NODE ADDR PORT TAG: just the HTTP API (GET /peer etc.)
e2e_start_web() {
	_e2e_w
	local node=$1 addr=$2 port=$3 tag=$4 d
	d=$W/svc-$tag
	mkdir -p -- "$d"
	start_bg "$node" "$d/api.out" "$PY" "$E2E_HERE/services/http_api.py" \
		--listen "$addr:$port" --ready "$d/api.ready" --log "$d/api.log" --tag "$tag"
	wait_file "$d/api.ready" 15 '^ready ' || {
		tail -n 20 "$d/api.out" >&2
		return 1
	}
}

# curl_in NODE URL [CURL ARGS...]: the body, through no proxy, with the test CA
curl_in() {
	local node=$1 url=$2
	shift 2
	topo_exec "$node" curl -sS --noproxy '*' --max-time "${CURL_MAX_TIME:-30}" \
		--cacert "$E2E_CA" "$@" "$url"
}

# client_in NODE SUBCOMMAND ARGS...: tools/e2e_client.py in NODE
client_in() {
	local node=$1
	shift
	topo_exec "$node" "${E2E_CLIENT[@]}" "$@"
}

# --- what the gateway runners share (e2e-tunnel, e2e-ids, e2e-sentinel) ----
# Their cast: gw1 in office, `peerpipe connect` clients with a config dir
# in $W/clients/NAME, a token in $W/tokens/NAME.token and the fingerprint
# in $W/NAME.fp.

FP_RE='^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$'
check_fp() { [[ $1 =~ $FP_RE ]]; }
count_i() { grep -ci -- "$2" "$1" 2>/dev/null || true; }
setup_fail() { tap_bail "setup: $*"; }

# e2e_missing_bins [HOSTILE_BIN]: prints "binary missing: WHAT" for the
# first binary a runner needs that is not there (nothing when all are)
e2e_missing_bins() {
	if [[ ! -x $SIGNAL_BIN ]]; then
		echo "binary missing: peerpipe-signal ($SIGNAL_BIN)"
	elif [[ ! -x $GATEWAY_BIN ]]; then
		echo "binary missing: peerpipe-gateway ($GATEWAY_BIN)"
	elif [[ ! -x $CLI_BIN ]] || ! "$CLI_BIN" connect --help >/dev/null 2>&1; then
		echo "binary missing: peerpipe connect ($CLI_BIN)"
	elif [[ $# -gt 0 && ! -x $1 ]]; then
		echo "binary missing: hostile_peer ($1)"
	fi
}

# e2e_skip_all REASON: the plan of CASES, every case SKIP with REASON, exit 0
e2e_skip_all() {
	local c
	tap_plan ${#CASES[@]}
	for c in "${CASES[@]}"; do
		tap_skip "${c%%|*}" "$1"
	done
	exit 0
}

# e2e_setup_begin NODE...: the work dir W, the exit hook dump_logs (the
# runner's), the plan of CASES; the topology with the extra NODEs, the
# PKI, coturn, peerpipe-signal and the services in svc. Bails out on
# any failure.
e2e_setup_begin() {
	topo_init
	W=$TOPO_DIR
	TOPO_EXIT_HOOKS+=(dump_logs)
	topo_install_trap
	tap_plan ${#CASES[@]}
	topo_up "$@" || setup_fail "cannot build the topology"
	e2e_make_pki "$W/pki" || setup_fail "cannot make the test PKI"
	e2e_start_turn || setup_fail "coturn did not start"
	e2e_start_signal || setup_fail "peerpipe-signal did not start"
	e2e_start_services svc "$(topo_addr svc)" svc || setup_fail "the services did not start in svc"
}

# e2e_run_cases: every entry "NAME|FUNCTION|TIMEOUT_S" of CASES (TIMEOUT_S
# main: run_case_main); E2E_ONLY=ERE runs only the functions it matches
# (the others SKIP)
e2e_run_cases() {
	local c name fn timeout
	for c in "${CASES[@]}"; do
		IFS='|' read -r name fn timeout <<<"$c"
		if [[ -n ${E2E_ONLY:-} && ! $fn =~ $E2E_ONLY ]]; then
			tap_skip "$name" "not selected (E2E_ONLY)"
		elif [[ $timeout == main ]]; then
			run_case_main "$name" "$fn"
		else
			run_case "$name" "$fn" "$timeout"
		fi
	done
}

# mk_client NAME: a desktop config dir with a fresh identity; $W/NAME.fp
mk_client() {
	local name=$1 d=$W/clients/$1 fp
	mkdir -p -m 700 "$W/clients"
	"$CLI_BIN" --config-dir "$d" keygen >"$d.keygen" 2>&1 || {
		echo "peerpipe --config-dir $d keygen failed:"
		cat "$d.keygen"
		return 1
	}
	"$CLI_BIN" --config-dir "$d" id >"$d.id" 2>"$d.id.err" || {
		echo "peerpipe --config-dir $d id failed:"
		cat "$d.id.err"
		return 1
	}
	fp=$(cat "$d.id")
	if [[ $(wc -l <"$d.id") -ne 1 ]] || ! check_fp "$fp"; then
		echo "peerpipe id printed '$fp', want exactly one line 'sha-256 AB:...'"
		return 1
	fi
	grep -qF -- "${fp#sha-256 }" "$d.keygen" || {
		echo "keygen did not print the fingerprint that id prints ($fp):"
		cat "$d.keygen"
		return 1
	}
	printf '%s\n' "$fp" >"$W/$name.fp"
}

# mk_gateway_identity NAME DIR: keygen in a scratch config dir, its
# identity/ copied to DIR (identity-key.pem, identity-cert.pem); the
# fingerprint from the certificate with openssl, checked against id.
mk_gateway_identity() {
	local name=$1 dir=$2 tmp=$W/keygen-$1 fp id
	mkdir -p -m 700 "$tmp" "$(dirname -- "$dir")"
	"$CLI_BIN" --config-dir "$tmp" keygen >"$tmp.out" 2>&1 || {
		cat "$tmp.out"
		return 1
	}
	[[ -f $tmp/identity/identity-key.pem && -f $tmp/identity/identity-cert.pem ]] || {
		echo "keygen left no $tmp/identity/identity-{key,cert}.pem"
		ls -lR "$tmp"
		return 1
	}
	cp -a -- "$tmp/identity" "$dir"
	fp=$(openssl x509 -in "$dir/identity-cert.pem" -noout -fingerprint -sha256) || return 1
	fp="sha-256 ${fp#*=}"
	id=$("$CLI_BIN" --config-dir "$tmp" id)
	[[ $fp == "$id" ]] || {
		echo "openssl says $fp, peerpipe id says $id"
		return 1
	}
	printf '%s\n' "$fp" >"$W/$name.fp"
}

# e2e_setup_clients WHO...: for each, a desktop identity (mk_client) and
# an office desktop token; bails out on failure
e2e_setup_clients() {
	local who
	for who in "$@"; do
		mk_client "$who" >"$W/setup-$who.log" 2>&1 || setup_fail "client $who: $(tr '\n' ' ' <"$W/setup-$who.log")"
		mk_token "$who" office desktop "$W/tokens/$who.token" || setup_fail "token for $who"
	done
}

# e2e_setup_gw1 WHO...: gw1's identity in $W/gw1/identity, its office
# token, and each client WHO pinning it; bails out on failure
e2e_setup_gw1() {
	local who
	mk_gateway_identity gw1 "$W/gw1/identity" >"$W/setup-gw1.log" 2>&1 ||
		setup_fail "gateway identity: $(tr '\n' ' ' <"$W/setup-gw1.log")"
	mk_token gw1 office gateway "$W/tokens/gw1.token" || setup_fail "token for gw1"
	for who in "$@"; do
		e2e_pin "$who" gw1 gw1
	done
}

# e2e_pin WHO NAME FP: client WHO pins gateway NAME to the fingerprint in
# $W/FP.fp; bails out on failure
e2e_pin() {
	"$CLI_BIN" --config-dir "$W/clients/$1" pin add "$2" "$(cat "$W/$3.fp")" >"$W/setup-pin-$1.log" 2>&1 ||
		setup_fail "pin add for $1: $(tr '\n' ' ' <"$W/setup-pin-$1.log")"
}

# start_client NAME NODE OUT FORWARD...: `peerpipe connect` of client NAME
# to gw1 with its token, one -L per FORWARD; stdout OUT, stderr OUT's
# .err; BG_PID
start_client() {
	local name=$1 node=$2 out=$3 f
	shift 3
	local -a fw=()
	for f in "$@"; do fw+=(-L "$f"); done
	start_bg -e "${out%.out}.err" "$node" "$out" "$CLI_BIN" \
		--config-dir "$W/clients/$name" connect --signal "$SIG_URL" \
		--token-file "$W/tokens/$name.token" --ca-file "$E2E_CA" --gateway gw1 "${fw[@]}"
}

# start_gw LOG: gw1 ($W/gw1.ini) in office; GW_PID, GW_LOG; waits for it
# to join the room, then (90 s) for a line GW_READY (an ERE) when the
# runner set one
start_gw() {
	GW_LOG=$1
	start_bg office "$GW_LOG" "$GATEWAY_BIN" --config "$W/gw1.ini"
	GW_PID=$BG_PID
	wait_grep "$GW_LOG" 30 'signaling: joined' || {
		echo "the gateway did not join: $(tail -n 10 "$GW_LOG" | tr '\n' '|')"
		return 1
	}
	[[ -z ${GW_READY:-} ]] || wait_grep "$GW_LOG" 90 "$GW_READY" || {
		echo "the gateway logged no '$GW_READY': $(tail -n 10 "$GW_LOG" | tr '\n' '|')"
		return 1
	}
}

# e2e_stop_ok PID WHAT: SIGTERM to PID (stop_bg); for run_case_main cases:
# false with $W/case.reason unless WHAT exited 0
e2e_stop_ok() {
	stop_bg "$1" 15
	[[ $BG_STATUS == 0 ]] && return 0
	echo "$2 exited $BG_STATUS after SIGTERM" >"$W/case.reason"
	return 1
}

# health_via NODE PORT TIMEOUT_S: until GET /health through PORT says ok
health_via() {
	local i out=
	for ((i = 0; i < $3 * 2; i++)); do
		out=$(curl_in "$1" "http://127.0.0.1:$2/health" --max-time 10 2>/dev/null || true)
		[[ $out == ok ]] && return 0
		sleep 0.5
	done
	return 1
}

# poll TIMEOUT_S COMMAND...: until COMMAND succeeds, tried every 0.1 s
poll() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

_grep_since() { since "$1" "$2" | grep -Eiq -- "$3"; }
_count_i_at_least() { (($(count_i "$1" "$2") >= $3)); }

# wait_grep_since FILE OFFSET TIMEOUT_S ERE: a matching line after OFFSET
wait_grep_since() { poll "$3" _grep_since "$1" "$2" "$4"; }

# wait_count_i FILE RE N TIMEOUT_S: until FILE has N lines matching RE
wait_count_i() { poll "$4" _count_i_at_least "$1" "$2" "$3"; }

# e2e_gw_ini NAME ROOM: the [gateway] lines of every test gateway's
# config: signaling with the test CA, NAME's token and identity under $W
e2e_gw_ini() {
	cat <<-EOF
		[gateway]
		signal_url = $SIG_URL
		room = $2
		token_file = $W/tokens/$1.token
		ca_file = $E2E_CA
		identity_dir = $W/$1/identity
	EOF
}

# mk_token NAME ROOM ROLE FILE: a JWT from the test PKI's secret (3 h)
mk_token() {
	mkdir -p -m 700 "$W/tokens"
	"$CLI_BIN" token --secret-file "$W/pki/jwt.secret" --room "$2" --role "$3" \
		--name "$1" --ttl 3h >"$4"
	chmod 600 "$4"
}

# e2e_no_sanitizer_reports: false (with $W/case.reason and the report on
# stdout) when any log of the run holds an ASan, LSan or UBSan report.
e2e_no_sanitizer_reports() {
	local f re='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'
	for f in "$W"/*.log "$W"/*.err "$W"/*.out; do
		[[ -f $f ]] || continue
		if grep -Eq "$re" "$f"; then
			echo "sanitizer report in $f" >"$W/case.reason"
			grep -E -A5 "$re" "$f" | head -n 20
			return 1
		fi
	done
}

# e2e_dump_logs RC RUNNER FILE...: the exit hook of a runner; after a
# failure, the last lines of each FILE of $W that is not empty.
e2e_dump_logs() {
	local rc=$1 runner=$2 f
	shift 2
	if ((rc != 0)) && ((TAP_N < TAP_PLAN)); then
		echo "Bail out! $runner stopped early (exit $rc)"
	fi
	((TAP_FAILED > 0 || rc != 0)) || return 0
	for f in "$@"; do
		[[ -s $W/$f ]] || continue
		echo "# --- $f (last 25 lines)"
		tail -n 25 "$W/$f" | tap_diag
	done
}
