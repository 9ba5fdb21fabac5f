#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# peerpipe-gateway as a supervisor starts it, TAP on stdout: what
# --check-config passes, a start accepts (a unit's ExecStartPre); a signal
# that comes while it starts acts once it has started.
# A signal blocked in the parent and sent before exec is pending when the
# gateway's main() begins: it stands for one that arrives at any moment of
# the start, without a race. The signaling server named in the config does
# not exist (the gateway retries it, which is all these cases need).
# usage: gw_signals.sh PATH/TO/peerpipe-gateway
set -u
gw=$1
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() {
	n=$((n + 1)); echo "not ok $n $1"; fails=$((fails + 1))
	[ -f "$dir/log" ] && sed 's/^/# /' "$dir/log" | tail -n 15
}

mkdir -m 700 "$dir/id"
printf 'aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbb.cccccccccccccccc' >"$dir/token"
chmod 600 "$dir/token"
# ini [ROOM_LINE [EXTRA_LINE...]] > FILE: a gateway config
ini() {
	printf '[gateway]\nsignal_url = wss://127.0.0.1:9/signal\n'
	printf '%s\n' "${1-room = r1}"
	[ $# -gt 0 ] && shift
	printf 'token_file = %s\nidentity_dir = %s\nbans_file = %s\nlog_level = warn\n' \
		"$dir/token" "$dir/id" "$dir/bans.json"
	for l in "$@"; do printf '%s\n' "$l"; done
	printf '\n[service api]\naddress = 127.0.0.1:9\n'
}
ini >"$dir/gw.ini"

# start SIGNAL ARGS...: the gateway with SIGNAL pending and blocked at exec
start() {
	sig=$1
	shift
	python3 -c '
import os, signal, sys
s = getattr(signal, sys.argv[1])
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGTERM, signal.SIGINT})
os.kill(os.getpid(), s)
os.execv(sys.argv[2], sys.argv[2:])' "$sig" "$gw" --config "$dir/gw.ini" "$@" >"$dir/log" 2>&1 &
	pid=$!
}

# wait_for RE SECONDS: until the log has a line matching RE
wait_for() {
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		grep -Eq -- "$1" "$dir/log" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stop: TERM, then the exit status (KILL after 10 s: 137)
stop() {
	kill -TERM "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	pid=
	return $st
}

echo "1..9"

# check CONFIG WANT_EXIT ERE: --check-config exits WANT_EXIT saying ERE,
# and the daemon on the same file agrees (refuses at once, or starts)
check() {
	"$gw" --config "$1" --check-config >"$dir/check.out" 2>&1
	cst=$?
	# a fresh file: the last case's output (ca_file's "sigclient: ..."
	# error) must not pass for this start's, read before its redirect
	rm -f "$dir/start.out"
	"$gw" --config "$1" --log-level info >"$dir/start.out" 2>&1 &
	spid=$!
	# a start that refuses exits before signaling; one that does not
	# reaches it (no fixed wait: a busy machine starts slowly)
	sst=running
	i=0
	while [ $i -lt 200 ]; do
		if ! kill -0 "$spid" 2>/dev/null; then sst=exited; break; fi
		grep -qs 'sigclient: ' "$dir/start.out" && break
		sleep 0.1
		i=$((i + 1))
	done
	[ "$sst" = running ] && kill -TERM "$spid"
	wait "$spid"
	[ "$cst" = "$2" ] || return 1
	grep -Eq -- "$3" "$dir/check.out" || return 1
	if [ "$2" = 0 ]; then [ "$sst" = running ]; else [ "$sst" = exited ]; fi
}
# check_case DESCRIPTION CONFIG WANT_EXIT ERE
check_case() {
	if check "$2" "$3" "$4"; then
		ok "$1"
	else
		not_ok "$1 (check exit $cst, start $sst: $(tr '\n' '|' <"$dir/check.out"))"
	fi
}
# the token has no room claim (its middle part is no JSON)
ini "# no room" >"$dir/noroom.ini"
check_case "--check-config: no room and none in the token, as the start refuses" \
	"$dir/noroom.ini" 1 'no room configured and the token in .* names none'
ini "room = r1" "ca_file = $dir/missing-ca.pem" >"$dir/noca.ini"
check_case "--check-config: a ca_file that does not load, as the start refuses" \
	"$dir/noca.ini" 1 "ca_file $dir/missing-ca.pem: "
ini "room = r1" "audit_log = $dir/no-such-dir/audit.log" >"$dir/noaudit.ini"
check_case "--check-config: an audit_log that cannot be opened, as the start refuses" \
	"$dir/noaudit.ini" 1 "audit_log $dir/no-such-dir/audit.log: cannot be opened for writing"
ini "room = r1" "audit_log = $dir/audit.log" >"$dir/ok.ini"
check_case "--check-config: a good file passes and the gateway starts" \
	"$dir/ok.ini" 0 ': ok \(1 services, 0 identities\)'
# the most data the limits let peers hold, from the check and at the start
# (the zstd contexts' share depends on the zstd library: 5034 MiB with 1.5.4)
mem_re="peers' data is bounded at [0-9]* MiB: max_peers 64 x [0-9]* MiB per peer (SCTP: 2 x peer_buffer 4096 KiB; its streams together: 21734 KiB, .*; zstd stream decoders: [0-9]* KiB), and zstd stream encoders: [0-9]* KiB"
if grep -q "$mem_re" "$dir/check.out" && grep -q "memory: $mem_re" "$dir/start.out"; then
	ok "--check-config and the start give the memory bound of the limits"
else
	not_ok "no memory bound: check '$(tr '\n' '|' <"$dir/check.out")', start '$(grep memory "$dir/start.out")'"
fi
# limits that let peers' data outgrow any machine this runs on (about 2.4
# TiB): a warning from the check and at the start, which still starts
ini "room = r1" "max_peers = 4096" "max_streams_per_peer = 1024" "peer_buffer = 64MiB" \
	"stream_buffer = 16MiB" >"$dir/huge.ini"
over_re="the limits let peers' data take [0-9]+ MiB, more than the [0-9]+ MiB this gateway may use"
if check "$dir/huge.ini" 0 "warning: $over_re" && grep -Eq "memory: $over_re" "$dir/start.out"; then
	ok "limits beyond the machine's memory: --check-config and the start warn"
else
	not_ok "no memory warning: check '$(tr '\n' '|' <"$dir/check.out")', start '$(grep memory "$dir/start.out")'"
fi

# 1. HUP during the start: a reload once started, not a dead gateway. The
# file says warn, --log-level debug: the reload keeps the command line's
# level, so its own info line is printed.
start SIGHUP --log-level debug
if wait_for 'configuration reloaded' 20 && kill -0 "$pid" 2>/dev/null; then
	ok "SIGHUP while starting: reloaded once started, still running"
else
	not_ok "SIGHUP while starting: reloaded once started, still running"
fi
if grep -q 'log_level changed in the file; --log-level given at start stays in force' "$dir/log" &&
	wait_for 'signaling: connecting .*attempt' 10; then
	ok "a reload keeps --log-level (info lines go on after it)"
else
	not_ok "a reload keeps --log-level (info lines go on after it)"
fi
stop

# 2. TERM during the start: an orderly stop once started
start SIGTERM --log-level info
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
if ! kill -0 "$pid" 2>/dev/null; then
	wait "$pid"
	st=$?
	pid=
else
	st=timeout
fi
if [ "$st" = 0 ] && grep -q 'shutting down' "$dir/log" && grep -q 'stopped' "$dir/log"; then
	ok "SIGTERM while starting: an orderly stop once started, exit 0"
else
	not_ok "SIGTERM while starting: an orderly stop once started, exit 0 (got $st)"
fi

[ $fails = 0 ]
