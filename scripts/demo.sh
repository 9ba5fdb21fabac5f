#!/usr/bin/env bash
# The main job, narrated: PeerPipe's signaling server introduces a gateway
# and a desktop over TLS. Later issues grow this into the full flow
# (tunnel, service, IDS). Run through ./scripts/run.sh demo.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/peerpipe-demo.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A TLS certificate for the signaling server (self-signed, for this demo)"
scripts/make-test-cert.sh "$WORK" >/dev/null
echo "  $WORK/server.crt (ECDSA P-256, valid for 127.0.0.1 and localhost)"

step "2. A JWT secret shared by the server and whoever mints tokens"
head -c 48 /dev/urandom | base64 -w0 > "$WORK/jwt.secret"
chmod 600 "$WORK/jwt.secret"
echo "  $WORK/jwt.secret (mode 600; never logged)"

step "3. Start peerpipe-signal (wss, TLS on by default)"
"$BUILD/src/server/peerpipe-signal" --listen 127.0.0.1:0 --tls-cert "$WORK/server.crt" \
	--tls-key "$WORK/server.key" --jwt-secret-file "$WORK/jwt.secret" \
	>"$WORK/signal.out" 2>"$WORK/signal.log" &
SERVER_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/signal.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'wss://[^ ]*' "$WORK/signal.out") || { cat "$WORK/signal.log"; exit 1; }
echo "  $(cat "$WORK/signal.out")"
PORT=${URL##*:}; PORT=${PORT%%/*}
echo "  health: $(curl -s --cacert "$WORK/server.crt" "https://127.0.0.1:$PORT/healthz")"

step "4. Tokens: a gateway 'gw-office' and a desktop 'alice', both for room 'office'"
"$BUILD/src/cli/peerpipe" token --secret-file "$WORK/jwt.secret" --room office --role gateway --name gw-office --ttl 10m > "$WORK/gw.token"
"$BUILD/src/cli/peerpipe" token --secret-file "$WORK/jwt.secret" --room office --role desktop --name alice --ttl 10m > "$WORK/alice.token"
"$BUILD/src/cli/peerpipe" token --secret-file "$WORK/jwt.secret" --room office --role desktop --name bob --ttl 10m > "$WORK/bob.token"
echo "  peerpipe token --room office --role gateway --name gw-office --ttl 10m  ->  $(cut -c1-24 "$WORK/gw.token")…"

step "5. The gateway joins first; then alice and bob (desktops) join"
PEER=(scripts/demo/sigpeer.py --url "$URL" --ca "$WORK/server.crt" --room office)
"${PEER[@]}" --name gw-office --token-file "$WORK/gw.token" --offer --seconds 4 &
GW=$!
sleep 0.7
"${PEER[@]}" --name alice --token-file "$WORK/alice.token" --seconds 2.5 &
A=$!
sleep 0.4
"${PEER[@]}" --name bob --token-file "$WORK/bob.token" --seconds 2 &
B=$!
wait $A $B $GW
echo "  alice and bob never see each other: desktops are introduced only to gateways."

step "6. A forged token is refused"
printf 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJldmUiLCJyb29tIjoib2ZmaWNlIiwicm9sZSI6ImdhdGV3YXkiLCJleHAiOjk5OTk5OTk5OTl9.' > "$WORK/eve.token"
"${PEER[@]}" --name eve --token-file "$WORK/eve.token" --seconds 1 || true

step "7. What the server counted (GET /metrics)"
curl -s --cacert "$WORK/server.crt" "https://127.0.0.1:$PORT/metrics" | grep -E '^peerpipe_signal_(joins_total|messages_relayed_total|messages_refused_total\{reason="unauthorized"\})'

step "8. Server log"
sed 's/^/  /' "$WORK/signal.log"
echo
echo "Done. Next issues add the tunnel, the gateway with Suricata, and the client."
