#!/usr/bin/env bash
# IDS/IPS benchmark (issue 5; design.md §4: figures printed next to
# references measured in the same run, nothing asserted on time).
#
# Topology (scripts/bench-lib.sh), removed on exit:
#
#   icli (client) ==c0/g0== igw (gateway + Suricata + signaling) ==g1/s0== isvc
#
# isvc runs iperf3 -s (5201) and `ids-attack --sink` (5500), a small HTTP
# server that records whether the attack's bytes ever reached it.
#
# For each inspection mode (off, ids, ips) the gateway is restarted with
# that mode, the bundled rules (deploy/suricata/peerpipe.rules) and
# Sentinel off (50 attacks in a row must not ban the benchmark's identity),
# then, through `peerpipe connect` in icli:
#   1. iperf3 single stream through the tunnel, with the CPU time of the
#      client, the gateway and Suricata;
#   2. (ids, ips) N attacks: each connection does a clean GET (answered),
#      then a SQL injection (sid 9100001); the time from writing the attack
#      to the application's connection ending (the client ends it after
#      the gateway's ALERT and stream reset) is one sample: p50/p99;
#      and what reached the service: attack requests the sink saw
#      (marker), and attacks that got an HTTP answer before the teardown.
# A direct iperf3 (icli -> isvc routed by igw) is the reference.
#
# usage: scripts/bench-ids.sh        (as root; about 5 minutes)
#
# Environment:
#   BENCH_BUILDDIR     build directory (default: build; set up as release if absent)
#   BENCH_NO_BUILD=1   use the binaries as they are
#   BENCH_MODES        subset of "off ids ips" (default: all)
#   BENCH_IPERF_TIME   seconds per iperf3 run (10)
#   BENCH_ROUNDS       rounds of the three modes, in turn (3): the table
#                      gives each mode's median, so that a burst of other
#                      work on this shared machine does not decide it
#   BENCH_ATTACKS      attacks per mode, in the first round (50)
#   BENCH_GAP_MS       pause between attacks (100)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
builddir=${BENCH_BUILDDIR:-build}
case $builddir in /*) ;; *) builddir=$root/$builddir ;; esac
modes=${BENCH_MODES:-off ids ips}
iperf_time=${BENCH_IPERF_TIME:-10}
rounds=${BENCH_ROUNDS:-3}
attacks=${BENCH_ATTACKS:-50}
gap_ms=${BENCH_GAP_MS:-100}
rules=$root/deploy/suricata/peerpipe.rules
# The SQL injection of scripts/demo.sh (sid 9100001); MARKER is what the
# sink looks for among the bytes it receives.
ATTACK_PATH="/search?q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--"
MARKER="UNION%20SELECT"

BENCH_NAME=bench-ids
NS_C=icli NS_G=igw NS_S=isvc
# shellcheck source=bench-lib.sh
. "$root/scripts/bench-lib.sh"

for t in ip iperf3 jq openssl awk timeout suricata nft; do
	command -v "$t" >/dev/null || die "missing $t"
done

if [ -z "${BENCH_NO_BUILD:-}" ]; then
	if [ ! -f "$builddir/build.ninja" ]; then
		"$root/scripts/setup-build.sh" "$builddir" --buildtype=release >/dev/null
	fi
	meson compile -C "$builddir" ids-attack peerpipe-signal src/cli/peerpipe:executable \
		src/gateway/peerpipe-gateway:executable >/dev/null || die "the build failed"
fi
iabin=$builddir/bench/ids-attack
sigbin=$builddir/src/server/peerpipe-signal
clibin=$builddir/src/cli/peerpipe
gwbin=$builddir/src/gateway/peerpipe-gateway
for b in "$iabin" "$sigbin" "$clibin" "$gwbin"; do
	[ -x "$b" ] || die "$b missing"
done

bench_init
load_start=$(cut -d' ' -f1 /proc/loadavg)
ticks_start=$(machine_ticks)
bench_topology || die "cannot build the topology"

start iperf3-server "$NS_S" iperf3 -s -p 5201 --forceflush
start sink "$NS_S" "$iabin" --sink 5500 "$MARKER"
wait_line iperf3-server "listening" 1 5 || die "iperf3 -s did not start"
wait_line sink "listening" 1 5 || die "the sink did not start"
bench_signal_setup || die "signaling setup failed (logs kept)"

say "bench-ids: nproc=$(nproc) kernel=$(uname -r); $(suricata -V 2>/dev/null | head -1)"

# gateway_start MODE: peerpipe-gateway in igw with inspection MODE (log
# gateway-MODE-ROUND.log); waits for "IDS ready" unless MODE is off.
gateway_start() {
	local mode=$1 d=$work/tunnel i
	{ bench_gateway_ini; cat <<-EOF; } >"$d/gateway-$mode.ini"
	audit_log = $work/audit-$mode.log
	ids = $mode
	ids_interface = g1
	ids_rules = $rules
	ids_work_dir = $work/ids-$mode
	sentinel = false

	[service iperf]
	address = $IP_S:5201
	allow = bench

	[service web]
	address = $IP_S:5500
	allow = bench

	[identity bench]
	fingerprint = $cli_fp
	EOF
	[ "$mode" = off ] && sed -i '/^ids_/d' "$d/gateway-$mode.ini"
	start "gateway-$mode-$round" "$NS_G" "$gwbin" --config "$d/gateway-$mode.ini"
	if [ "$mode" = off ]; then
		sleep 0.5
		kill -0 "${PID[gateway-$mode-$round]}" 2>/dev/null && return 0
	elif wait_line "gateway-$mode-$round" "IDS ready" 1 120; then
		return 0
	fi
	say "  peerpipe-gateway ($mode) did not start: $(tail -3 "$logs/gateway-$mode-$round.log" | tr '\n' ' ')"
	keep_logs=1
	return 1
}
suricata_pid() { pgrep -P "$1" -x Suricata-Main || pgrep -P "$1" suricata || true; }

say "direct (icli -> isvc routed by igw):"
iperf_run direct $IP_S 5201 || true

for round in $(seq "$rounds"); do
for mode in $modes; do
	say "inspection $mode, round $round:"
	gateway_start "$mode" || continue
	if ! client_launch "client-$mode-$round" 2 -L 15201:iperf -L 15500:web; then
		keep_logs=1
		stop "gateway-$mode-$round"
		continue
	fi
	spid=$(suricata_pid "${PID[gateway-$mode-$round]}" | head -1)
	iperf_run "${mode}_r$round" 127.0.0.1 15201 "${PID[client-$mode-$round]}" "${PID[gateway-$mode-$round]}" ${spid:+"$spid"} || true
	if [ "$mode" != off ] && [ "$round" = 1 ]; then
		sink_before=$(grep -c 'marker=1' "$logs/sink.log" || true)
		if line=$(in_c "$iabin" -t $(( attacks * 6 + 60 )) --gap-ms "$gap_ms" \
		          --attack "$attacks" 127.0.0.1:15500 "$ATTACK_PATH" 2>>"$logs/attack-$mode.err"); then
			say "  $line"
			for k in n ended timeouts clean_failed answered p50_ms p99_ms max_ms; do
				R[${mode}_$k]=$(kv "$k" <<<"$line")
			done
		else
			say "  attacks failed: $(tail -1 "$logs/attack-$mode.err") $line"
			keep_logs=1
		fi
		sleep 1 # the sink prints each connection when it ends
		R[${mode}_delivered]=$(( $(grep -c 'marker=1' "$logs/sink.log" || true) - sink_before ))
		R[${mode}_alerts]=$(grep -c 'ALERT on web#' "$logs/client-$mode-$round.log" || true)
		R[${mode}_audit]=$(grep -c '"event":"alert"' "$work/audit-$mode.log" 2>/dev/null || true)
	fi
	stop "client-$mode-$round"
	stop "gateway-$mode-$round"
done
done
stop signal

# Each mode's median round (by Mbit/s) gives its row: R[MODE_*].
for mode in $modes; do
	best=$(for r in $(seq "$rounds"); do
		if [ -n "${R[${mode}_r${r}_mbps]:-}" ]; then printf '%s %s\n' "${R[${mode}_r${r}_mbps]}" "$r"; fi
	done | sort -n | awk '{ v[NR] = $2 } END { if (NR) print v[int((NR + 1) / 2)] }')
	[ -n "$best" ] || continue
	for k in mbps wall cpu_0 cpu_1 cpu_2; do
		if [ -n "${R[${mode}_r${best}_$k]:-}" ]; then R[${mode}_$k]=${R[${mode}_r${best}_$k]}; fi
	done
	R[${mode}_all]=$(for r in $(seq "$rounds"); do printf '%s ' "${R[${mode}_r${r}_mbps]:--}"; done)
done

# ---- summary ----
v() { printf '%s' "${R[$1]:--}"; }
pct() {
	if [ -n "${R[${1}_mbps]:-}" ] && [ -n "${R[off_mbps]:-}" ] && [ "${R[off_mbps]}" != 0 ]; then
		calc %.0f "100 * (1 - ${R[${1}_mbps]} / ${R[off_mbps]})"
	else
		printf -- -
	fi
}
verdict() {
	[ "$1" = - ] || [ -z "$1" ] && { printf ''; return; }
	awk -v x="$1" -v l="$2" 'BEGIN { print (x <= l) ? "(within)" : "(over)" }'
}
# cpu_pct MODE I: the CPU of process I over the iperf3 run, % of a core.
cpu_pct() {
	if [ -n "${R[${1}_cpu_$2]:-}" ]; then calc %.0f "100 * ${R[${1}_cpu_$2]} / ${R[${1}_wall]}"; else printf -- -; fi
}
zero_verdict() {
	case $1 in -) ;; 0) printf '(met)' ;; *) printf '(missed)' ;; esac
}

say ""
say "==================== bench-ids summary ===================="
say "machine: nproc=$(nproc), kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
machine_load_line "$load_start" "$ticks_start"
say "rules: $(grep -c '^alert' "$rules") bundled; Suricata $(suricata -V 2>/dev/null | awk '{print $5}')"
say ""
say "1. iperf3 single stream through the tunnel, ${iperf_time} s, median of $rounds   Mbit/s   cost | CPU % of a core: client gateway suricata | target"
printf '   %-44s %7s       |\n' "direct TCP, routed (reference)" "$(v direct_mbps)"
for mode in off ids ips; do
	case $mode in off) tgt= ;; ids) tgt="<= 25% $(verdict "$(pct ids)" 25)" ;; ips) tgt="<= 50% $(verdict "$(pct ips)" 50)" ;; esac
	printf '   %-44s %7s %5s | %6s %7s %8s | %s\n' "inspection $mode" "$(v "${mode}_mbps")" \
		"$( [ $mode = off ] || printf '%s%%' "$(pct $mode)")" "$(cpu_pct $mode 0)" "$(cpu_pct $mode 1)" \
		"$(cpu_pct $mode 2)" "$tgt"
done
say "   every round, Mbit/s: off $(v off_all)| ids $(v ids_all)| ips $(v ips_all)"
say ""
say "2. $attacks attacks (clean GET, then SQLi sid 9100001), attack written -> application connection ended"
say "                       ended  p50 ms  p99 ms  max ms | ALERT lines  audit | answered  reached service | target"
for mode in ids ips; do
	printf '   %-18s %5s %7s %7s %7s | %11s %6s | %8s %16s | p99 <= 20 ms %s%s\n' "$mode" \
		"$(v "${mode}_ended")/$(v "${mode}_n")" "$(v "${mode}_p50_ms")" "$(v "${mode}_p99_ms")" \
		"$(v "${mode}_max_ms")" "$(v "${mode}_alerts")" "$(v "${mode}_audit")" "$(v "${mode}_answered")" \
		"$(v "${mode}_delivered")" "$(verdict "$(v "${mode}_p99_ms")" 20)" \
		"$( [ $mode = ips ] && printf '; 0 reached %s' "$(zero_verdict "$(v ips_delivered)")")"
done
say "   answered: attacks the service saw and answered before the teardown (passive ids lets a fast"
say "   service reply); reached service: attack requests the service received at all."
say "==========================================================="
