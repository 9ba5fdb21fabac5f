# shellcheck shell=bash
# Shared by the namespace benchmarks (bench-tunnel.sh, bench-ids.sh):
# process control, the three-namespace topology, the signaling server with
# a throwaway CA, tokens, keys and pins, and the client. Sourced after the
# script has set BENCH_NAME, NS_C/NS_G/NS_S and the binaries (sigbin,
# clibin); bench_init sets up the work dir and the cleanup.
#
#   NS_C (client) IP_C ==c0/g0== IP_G NS_G (gateway) IP_GS ==g1/s0== IP_S NS_S (service)
#
# NS_C reaches NS_S only through NS_G (routed, for direct references).

IP_C=10.77.1.1 IP_G=10.77.1.2 IP_GS=10.77.2.1 IP_S=10.77.2.2
SIG_PORT=8443
sig_url=wss://$IP_G:$SIG_PORT/v1/ws

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; keep_logs=1; exit 1; }
# kv KEY < line: the value of KEY=VALUE.
kv() { sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" | head -1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
now() { date +%s.%N; }
in_c() { ip netns exec "$NS_C" "$@"; }
clk_tck=$(getconf CLK_TCK)
# utime+stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $(( ${12} + ${13} ))
}

# The machine's CPU time so far, "total steal" in clock ticks (first line
# of /proc/stat). steal is what the hypervisor gave other guests while
# this one wanted to run: load average does not show it.
machine_ticks() {
	awk 'NR == 1 { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9; exit }' /proc/stat
}
# machine_load_line START_LOAD START_TICKS: the summary's line on what
# else ran, from the numbers taken at the start (load, machine_ticks).
machine_load_line() {
	local t0 s0 t1 s1
	read -r t0 s0 <<<"$2"
	read -r t1 s1 <<<"$(machine_ticks)"
	say "load average (1 min) at start $1, at end $(cut -d' ' -f1 /proc/loadavg); CPU time stolen by the hypervisor during the run: $(calc %.1f "100 * ($s1 - $s0) / ($t1 - $t0 + 1)")%: other work on the machine skews the figures"
}

declare -A PID=()
declare -A R=()

stop_pid() {
	local p=$1 i
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 60); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}
# start NAME NS CMD...: a background process in NS, output in logs/NAME.log.
# `ip netns exec` execs the command, so $! is the program itself.
start() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$logs/$name.log" 2>&1 &
	PID[$name]=$!
}
stop() {
	stop_pid "${PID[$1]:-}"
	unset "PID[$1]"
}
# wait_line NAME PATTERN COUNT SECONDS: until NAME's log has COUNT lines
# matching PATTERN; fails when the process ends or time runs out.
wait_line() {
	local name=$1 pat=$2 count=$3 i
	for i in $(seq $(( $4 * 20 ))); do
		if [ "$(grep -c -- "$pat" "$logs/$name.log" 2>/dev/null || true)" -ge "$count" ]; then
			return 0
		fi
		kill -0 "${PID[$name]}" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# iperf_run LABEL HOST PORT [PID...]: iperf3 from NS_C for iperf_time
# seconds; R[LABEL_mbps], _MBps, _retr, _bytes, _wall, and the CPU seconds
# of the given PIDs over the run in R[LABEL_cpu_<i>].
iperf_run() {
	local label=$1 host=$2 port=$3
	shift 3
	local -a p0=() pids=("$@")
	local i t0 t1 out=$logs/iperf-$label.json
	for i in "${!pids[@]}"; do p0[i]=$(cpu_ticks "${pids[i]}"); done
	t0=$(now)
	timeout $(( iperf_time + 30 )) ip netns exec "$NS_C" \
		iperf3 -c "$host" -p "$port" -t "$iperf_time" -J >"$out" 2>&1 || true
	t1=$(now)
	R[${label}_wall]=$(calc %.2f "$t1 - $t0")
	for i in "${!pids[@]}"; do
		R[${label}_cpu_$i]=$(calc %.2f "($(cpu_ticks "${pids[i]}") - ${p0[i]}) / $clk_tck")
	done
	local bps
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' "$out" 2>/dev/null || true)
	if [ -z "$bps" ]; then
		R[${label}_err]=$(jq -r '.error // "no result"' "$out" 2>/dev/null || echo "iperf3 failed")
		say "  iperf3 $label: failed: ${R[${label}_err]}"
		keep_logs=1
		return 1
	fi
	R[${label}_mbps]=$(calc %.0f "$bps / 1e6")
	R[${label}_MBps]=$(calc %.1f "$bps / 8e6")
	R[${label}_retr]=$(jq -r '.end.sum_sent.retransmits // 0' "$out")
	R[${label}_bytes]=$(jq -r '.end.sum_received.bytes // 0' "$out")
	say "  iperf3 $label: ${R[${label}_mbps]} Mbit/s (${R[${label}_MBps]} MB/s), retransmits ${R[${label}_retr]}"
}
# bench_cleanup_hook: scripts may define it (runs first, in namespaces
# still present).
bench_cleanup() {
	local rc=$? name p ns
	trap - EXIT INT TERM
	declare -F bench_cleanup_hook >/dev/null && bench_cleanup_hook
	for name in "${!PID[@]}"; do
		stop_pid "${PID[$name]}"
	done
	# Anything still running in our namespaces was started by this run
	# (e.g. a client that a tool did not get to stop).
	for ns in "$NS_C" "$NS_G" "$NS_S"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null || true
		done
	done
	for ns in "$NS_C" "$NS_G" "$NS_S"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -n "$keep_logs" ]; then
		local dst
		dst=$(mktemp -d "/tmp/$BENCH_NAME-logs.XXXXXX")
		cp -r "$logs/." "$dst/" 2>/dev/null || true
		printf '%s: logs kept in %s\n' "$BENCH_NAME" "$dst" >&2
	fi
	rm -rf "$work"
	exit "$rc"
}

# bench_init: root and free namespace names checked, work dir, traps.
bench_init() {
	local ns
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	for ns in "$NS_C" "$NS_G" "$NS_S"; do
		if ip netns list | grep -qw "^$ns"; then
			die "namespace $ns exists (another run, or a crashed one: ip netns del $ns)"
		fi
	done
	work=$(mktemp -d "/tmp/$BENCH_NAME.XXXXXX")
	logs=$work/logs
	mkdir -p "$logs"
	keep_logs=${BENCH_KEEP_LOGS:-${keep_logs:-}}
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_topology() {
	local l
	ip netns add "$NS_C" && ip netns add "$NS_G" && ip netns add "$NS_S" || return 1
	for ns in "$NS_C" "$NS_G" "$NS_S"; do ip -n "$ns" link set lo up; done
	ip link add c0 netns "$NS_C" type veth peer name g0 netns "$NS_G"
	ip link add g1 netns "$NS_G" type veth peer name s0 netns "$NS_S"
	ip -n "$NS_C" addr add $IP_C/24 dev c0
	ip -n "$NS_G" addr add $IP_G/24 dev g0
	ip -n "$NS_G" addr add $IP_GS/24 dev g1
	ip -n "$NS_S" addr add $IP_S/24 dev s0
	for l in "$NS_C c0" "$NS_G g0" "$NS_G g1" "$NS_S s0"; do
		# shellcheck disable=SC2086
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip -n "$NS_C" route add 10.77.2.0/24 via $IP_G
	ip -n "$NS_S" route add default via $IP_GS
	ip netns exec "$NS_G" sysctl -qw net.ipv4.ip_forward=1
}

# bench_signal_setup: a throwaway CA, peerpipe-signal in NS_G over wss,
# tokens for gw1 and the desktop "bench", both keys, the gateway pinned by
# the client; sets cli_fp. Files in $work/tunnel.
bench_signal_setup() {
	local d=$work/tunnel gw_fp
	mkdir -p "$d"
	openssl req -x509 -new -noenc -days 1 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>>"$logs/openssl.log" &&
	openssl req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj /CN=$IP_G \
		-keyout "$d/sig.key" -out "$d/sig.csr" 2>>"$logs/openssl.log" || return 1
	printf 'subjectAltName=IP:%s,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
		"$IP_G" >"$d/sig.ext"
	openssl x509 -req -in "$d/sig.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 1 -extfile "$d/sig.ext" -out "$d/sig.crt" 2>>"$logs/openssl.log" || return 1
	chmod 600 "$d/sig.key" "$d/ca.key"
	head -c 48 /dev/urandom | base64 -w0 >"$d/secret"
	chmod 600 "$d/secret"

	start signal "$NS_G" "$sigbin" --listen $IP_G:$SIG_PORT --tls-cert "$d/sig.crt" \
		--tls-key "$d/sig.key" --jwt-secret-file "$d/secret"
	wait_line signal "listening on" 1 10 || { say "  peerpipe-signal did not start"; return 1; }

	"$clibin" token --secret-file "$d/secret" --room bench --role gateway --name gw1 --ttl 1h \
		>"$d/gw.token" 2>>"$logs/setup.log" &&
	"$clibin" token --secret-file "$d/secret" --room bench --role desktop --name bench --ttl 1h \
		>"$d/cli.token" 2>>"$logs/setup.log" &&
	"$clibin" --config-dir "$d/gw" keygen >>"$logs/setup.log" 2>&1 &&
	"$clibin" --config-dir "$d/cli" keygen >>"$logs/setup.log" 2>&1 &&
	gw_fp=$("$clibin" --config-dir "$d/gw" id 2>>"$logs/setup.log") &&
	cli_fp=$("$clibin" --config-dir "$d/cli" id 2>>"$logs/setup.log") &&
	"$clibin" --config-dir "$d/cli" pin add gw1 "$gw_fp" >>"$logs/setup.log" 2>&1 ||
		{ say "  token/keygen/id/pin failed: $(tail -2 "$logs/setup.log" | tr '\n' ' ')"; return 1; }
	case $gw_fp$cli_fp in
	"sha-256 "*"sha-256 "*) ;;
	*) say "  'peerpipe id' did not print 'sha-256 ...': '$gw_fp' '$cli_fp'"; return 1 ;;
	esac
}

# bench_gateway_ini: the [gateway] lines every benchmark gateway shares.
bench_gateway_ini() {
	local d=$work/tunnel
	cat <<-EOF
	[gateway]
	signal_url = $sig_url
	ca_file = $d/ca.crt
	token_file = $d/gw.token
	identity_dir = $d/gw/identity
	bans_file = $d/gw/bans.json
	EOF
}

client_cmd() {
	local d=$work/tunnel
	printf '%s\0' "$clibin" --config-dir "$d/cli" connect --signal "$sig_url" \
		--token-file "$d/cli.token" --ca-file "$d/ca.crt" --gateway gw1 "$@"
}
# client_launch NAME NFORWARDS ARGS...: start the client in NS_C and wait
# for its "listening" lines.
client_launch() {
	local name=$1 nfwd=$2
	shift 2
	local -a cmd
	mapfile -d '' cmd < <(client_cmd "$@")
	start "$name" "$NS_C" "${cmd[@]}"
	if ! wait_line "$name" listening "$nfwd" 15; then
		say "  client: no 'listening' lines: $(tail -2 "$logs/$name.log" | tr '\n' ' ')"
		return 1
	fi
}
