#!/usr/bin/env bash
# Load benchmark of the signaling server: builds (release, in ./build), then
# runs bench/signal-load, which starts build/src/server/peerpipe-signal on
# 127.0.0.1 and holds N WebSocket peers against it. Arguments are passed to
# signal-load, e.g.:
#   scripts/bench-signal.sh -n 2000
#   scripts/bench-signal.sh --rate 5000 --duration 5
#   scripts/bench-signal.sh --tls
# Without --tls the server runs with --insecure (plain ws). --tls measures the
# production configuration, wss: signal-load makes a throwaway self-signed
# ECDSA P-256 certificate (removed once the server has loaded it), starts the
# server with --tls-cert/--tls-key, and every peer does a full TLS handshake,
# verifying the server against that certificate, before its upgrade; --batch
# bounds the handshakes in progress. The "transport:" line of the output says
# which was measured and, for wss, the negotiated version, cipher and group.
# The server's per-peer rate limit is raised for the closed-loop phase; the
# open-loop phase keeps every peer under 50 msg/s by itself.
# BENCH_BUILDDIR overrides the build directory (default: build).
set -euo pipefail

cd "$(dirname "$0")/.."
builddir=${BENCH_BUILDDIR:-build}

if [ ! -f "$builddir/build.ninja" ]; then
	scripts/setup-build.sh "$builddir" --buildtype=release
fi
# Only what the benchmark runs: an unrelated target that does not build
# must not stop it.
meson compile -C "$builddir" signal-load peerpipe-signal

# Connections requested (signal-load's -n / --connections, default 20000).
n=
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
case "${n:-20000}" in
''|*[!0-9]*) echo "bench-signal: bad connection count '$n'" >&2; exit 2 ;;
esac

# The limit is per process: the server and signal-load each hold one socket
# per connection plus a few of their own.
need=$(( ${n:-20000} + 100 ))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
	if [ -n "$n" ]; then
		echo "bench-signal: the open-file hard limit is $hard; $n connections need $need" \
		     "(raise it with limits.conf or systemd LimitNOFILE, which needs CAP_SYS_RESOURCE)" >&2
		exit 1
	fi
	n=$(( hard - 100 ))
	echo "bench-signal: this machine's open-file hard limit is $hard per process and cannot be" \
	     "raised here: running $n connections instead of 20000." >&2
	set -- -n "$n" "$@"
fi
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$need" ]; then
	ulimit -Sn "$( [ "$hard" = unlimited ] && echo "$need" || echo "$hard" )"
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
