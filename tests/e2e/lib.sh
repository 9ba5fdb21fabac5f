# SPDX-License-Identifier: Apache-2.0
# tests/e2e/lib.sh: what the e2e runners share (sourced after topo.sh):
# TAP bookkeeping with one subshell per case, the binaries, the test PKI,
# and starting peerpipe-signal, coturn and the test services in the
# topology. W (the work dir) is TOPO_DIR.

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

# e2e_start_turn: coturn in inet on the turn address (STUN + TURN/UDP).
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
		turn_urls = turn:$(topo_addr turn):$TURN_PORT?transport=udp
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

# --- what both tunnel runners use -----------------------------------------

FP_RE='^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$'
check_fp() { [[ $1 =~ $FP_RE ]]; }
count_i() { grep -ci -- "$2" "$1" 2>/dev/null || true; }
setup_fail() { tap_bail "setup: $*"; }

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
