#!/usr/bin/env bash
# Make a self-signed TLS certificate for tests and local trials of
# peerpipe-signal: ECDSA P-256 key, valid 30 days, for localhost and
# 127.0.0.1. Writes DIR/server.key (mode 0600) and DIR/server.crt,
# replacing any that are there.
#
# usage: make-test-cert.sh DIR
set -euo pipefail

if [[ $# -ne 1 || $1 == -* ]]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p -- "$dir"
tmp=$(mktemp -d "$dir/.make-test-cert.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

umask 077
if ! err=$(openssl req -x509 -new -noenc -days 30 \
	-newkey ec -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
	-subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-addext basicConstraints=critical,CA:FALSE \
	-addext keyUsage=critical,digitalSignature \
	-addext extendedKeyUsage=serverAuth \
	-keyout "$tmp/server.key" -out "$tmp/server.crt" 2>&1); then
	printf '%s\n' "$err" >&2
	exit 1
fi
chmod 0600 "$tmp/server.key"
chmod 0644 "$tmp/server.crt"
mv -f -- "$tmp/server.key" "$dir/server.key"
mv -f -- "$tmp/server.crt" "$dir/server.crt"
echo "wrote $dir/server.key and $dir/server.crt"
