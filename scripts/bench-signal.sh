#!/usr/bin/env bash
# Load benchmark of the signaling server: builds (release, in ./build), then
# runs bench/signal-load, which starts build/src/server/peerpipe-signal on
# 127.0.0.1 and holds N WebSocket peers against it. Arguments are passed to
# signal-load, e.g.:
#   scripts/bench-signal.sh -n 2000
#   scripts/bench-signal.sh --rate 5000 --duration 5
# The server's per-peer rate limit is raised for the closed-loop phase; the
# open-loop phase keeps every peer under 50 msg/s by itself.
# BENCH_BUILDDIR overrides the build directory (default: build).
set -euo pipefail

cd "$(dirname "$0")/.."
builddir=${BENCH_BUILDDIR:-build}

if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" --buildtype=release
fi
# Only what the benchmark runs: an unrelated target that does not build
# must not stop it.
meson compile -C "$builddir" signal-load peerpipe-signal

# Connections requested (signal-load's -n / --connections, default 20000).
n=20000
prev=
for a in "$@"; do
	case "$prev" in
	-n|--connections) n=$a ;;
	esac
	case "$a" in
	--connections=*) n=${a#--connections=} ;;
	-n?*) n=${a#-n} ;;
	esac
	prev=$a
done
case "$n" in
''|*[!0-9]*) echo "bench-signal: bad connection count '$n'" >&2; exit 2 ;;
esac

# Every connection is a socket in signal-load and another in the server.
need=$((2 * n + 1000))
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$need" ]; then
	if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$need" ]; then
		ulimit -Sn "$need"
	elif ! ulimit -n "$need" 2>/dev/null; then
		echo "bench-signal: cannot raise the open-file limit to $need for" \
		     "$n connections (soft $(ulimit -Sn), hard $(ulimit -Hn))." >&2
		echo "bench-signal: raise the hard limit (needs CAP_SYS_RESOURCE," \
		     "e.g. limits.conf or systemd LimitNOFILE) or use fewer" \
		     "connections: -n $(( ($(ulimit -Hn) - 1000) / 2 / 2 * 2 ))" >&2
		exit 1
	fi
fi

secret=$(mktemp /tmp/bench-signal-secret.XXXXXX)
trap 'rm -f "$secret"' EXIT
chmod 600 "$secret"
head -c 48 /dev/urandom | base64 -w0 >"$secret"

"$builddir/bench/signal-load" \
	--server "$builddir/src/server/peerpipe-signal" \
	--secret-file "$secret" \
	--server-set limits.rate=100000 \
	--server-set limits.burst=100000 \
	"$@"
