#!/usr/bin/env bash
# The main job, narrated: the whole PeerPipe flow on one machine, in network
# namespaces so that it is what users see across machines (the topology of
# seeds/schemes.md, built by tests/e2e/topo.sh):
#
#   home (alice, behind a NAT) --- internet (signaling, TURN) --- office (gateway, behind a NAT)
#                                                                    |
#                                                      svc (internal services, no route out)
#
# A signaling server introduces alice's desktop client and the office
# gateway; they build a direct encrypted tunnel; alice reaches the HTTP API
# through it and is refused a service she is not allowed; Suricata cuts an
# attack (ids), then drops one before the service sees it (ips); a scanning
# peer is banned (Sentinel). Needs root (network namespaces). Run through
# ./scripts/run.sh demo.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PP_BUILD_DIR=${BUILD:-$REPO/build}
# shellcheck source=../tests/e2e/topo.sh
source tests/e2e/topo.sh
# shellcheck source=../tests/e2e/lib.sh
source tests/e2e/lib.sh
e2e_find_bins

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: needs root (it builds network namespaces); run: sudo $0" >&2
	exit 1
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '  %s\n' "$*"; }
show() { sed 's/^/    | /'; }
# wait_count FILE ERE N SECONDS: until FILE has N lines matching ERE
wait_count() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		[[ $(grep -cE -- "$2" "$1" 2>/dev/null || true) -ge $3 ]] && return 0
		sleep 0.1
	done
	return 1
}

topo_install_trap
topo_init
W=$TOPO_DIR

step "1. The network: home and office behind NAT routers, an internal service network"
topo_up >/dev/null 2>&1 || { echo "demo: cannot build the namespaces" >&2; exit 1; }
say "home $(topo_addr home) --NAT--> internet <--NAT-- office $(topo_addr office) --- svc $(topo_addr svc) (internal)"
if topo_exec home curl -s --max-time 2 "http://$(topo_addr svc):$SVC_API/health" >/dev/null 2>&1; then
	echo "demo: home can reach the internal network: the topology is wrong" >&2
	exit 1
fi
say "home cannot reach svc directly (checked)."

step "2. Internal services in svc: an HTTP API and an orders service (allowed to alice), an admin API (not)"
e2e_start_web svc "$(topo_addr svc)" $SVC_API api
e2e_start_web svc "$(topo_addr svc)" 9100 admin
# orders keeps every byte it receives: the proof of what reached it
start_bg svc "$W/orders.out" "$PY" tests/e2e/services/recorder.py --listen "$(topo_addr svc):9200" \
	--ready "$W/orders.ready" --log "$W/orders.log" --record "$W/orders.bytes"
wait_file "$W/orders.ready" 15 '^ready ' || { tail "$W/orders.out"; exit 1; }
say "api   http://$(topo_addr svc):$SVC_API   orders http://$(topo_addr svc):9200   admin http://$(topo_addr svc):9100"

step "3. The signaling server (wss, JWT) and a TURN server on the internet"
e2e_make_pki "$W/pki"
e2e_start_turn
e2e_start_signal
say "peerpipe-signal at $SIG_URL, coturn at $(topo_addr turn):$TURN_PORT"

step "4. Identities: the gateway and alice each get a key pair; each pins the other"
"$CLI_BIN" --config-dir "$W/gw" keygen >/dev/null
"$CLI_BIN" --config-dir "$W/alice" keygen >/dev/null
"$CLI_BIN" --config-dir "$W/mallory" keygen >/dev/null
GW_FP=$("$CLI_BIN" --config-dir "$W/gw" id)
ALICE_FP=$("$CLI_BIN" --config-dir "$W/alice" id)
MALLORY_FP=$("$CLI_BIN" --config-dir "$W/mallory" id)
say "gateway gw-office: $GW_FP"
say "alice:             $ALICE_FP"
say "mallory:           $MALLORY_FP   (a contractor, later)"
"$CLI_BIN" --config-dir "$W/alice" pin add gw-office "$GW_FP" | show
"$CLI_BIN" --config-dir "$W/mallory" pin add gw-office "$GW_FP" >/dev/null
for who in gw-office:gateway alice:desktop mallory:desktop; do
	"$CLI_BIN" token --secret-file "$W/pki/jwt.secret" --room office --role "${who#*:}" \
		--name "${who%%:*}" --ttl 10m >"$W/${who%%:*}.jwt"
done
chmod 600 "$W"/*.jwt

step "5. The gateway's configuration: deny by default, alice may use 'api' only"
cat >"$W/gateway.ini" <<EOF
[gateway]
signal_url = $SIG_URL
ca_file = $E2E_CA
token_file = $W/gw-office.jwt
identity_dir = $W/gw/identity
audit_log = $W/audit.log
# offer only the outside address: the internal network's never leaves
ice_addresses = $(topo_addr office)
# Suricata inspects the decrypted traffic on the way to the services
ids = ids
ids_interface = int0
ids_rules = $REPO/deploy/suricata/peerpipe.rules
ids_work_dir = $W/ids
# Sentinel bans a peer that scans (10 refused names within 60 s by default)
bans_file = $W/bans.json

[identity alice]
fingerprint = $ALICE_FP
groups = developers

[identity mallory]
fingerprint = $MALLORY_FP
groups = contractors

[service api]
address = $(topo_addr svc):$SVC_API
description = Orders API
allow = @developers, @contractors

[service orders]
address = $(topo_addr svc):9200
description = Order intake
allow = @developers

[service admin]
address = $(topo_addr svc):9100
description = Admin console
EOF
grep -E '^\[|allow|address' "$W/gateway.ini" | show
"$GATEWAY_BIN" --config "$W/gateway.ini" --check-config | show

step "6. Start the gateway in office"
start_bg office "$W/gateway.log" "$GATEWAY_BIN" --config "$W/gateway.ini"
GW_PID=$BG_PID
wait_file "$W/gateway.log" 15 'signaling: joined' || { tail "$W/gateway.log"; exit 1; }
say "joined room 'office' as gw-office"
wait_file "$W/gateway.log" 60 'IDS ready' || { tail "$W/gateway.log"; exit 1; }
say "Suricata $(suricata -V | grep -o '[0-9][0-9.]*' | head -1) inspects the traffic to the services (IDS on int0)"

step "7. alice connects from home: local port 18080 -> api, 18081 -> admin, 18082 -> orders"
start_bg home "$W/alice.out" "$CLI_BIN" --config-dir "$W/alice" connect --signal "$SIG_URL" \
	--ca-file "$E2E_CA" --token-file "$W/alice.jwt" --gateway gw-office \
	-L 18080:api -L 18081:admin -L 18082:orders
wait_file "$W/alice.out" 20 'connected to gateway' || { cat "$W/alice.out"; tail "$W/gateway.log"; exit 1; }
show <"$W/alice.out"
grep -E 'ice: selected pair|dtls: connected' "$W/gateway.log" | sed 's/^[^ ]* //' | show

step "8. alice's tool talks to localhost; the request is answered through the tunnel"
say "\$ curl http://127.0.0.1:18080/health"
{ topo_exec home curl -sS --max-time 10 http://127.0.0.1:18080/health; echo; } | show
say "\$ curl http://127.0.0.1:18080/peer   (what the API sees: the gateway's inside address)"
{ topo_exec home curl -sS --max-time 10 http://127.0.0.1:18080/peer; echo; } | show

step "9. A service alice is not allowed: refused, and it looks just like an unknown one"
say "\$ curl http://127.0.0.1:18081/"
if topo_exec home curl -sS --max-time 10 http://127.0.0.1:18081/ 2>&1 | show; then :; fi
wait_file "$W/alice.out" 5 'denied' || true
grep -i 'denied' "$W/alice.out" | show
grep 'denied' "$W/gateway.log" | sed 's/^[^ ]* //' | show

step "10. An attack through the same tunnel: Suricata sees it in the clear, the stream is cut"
say "\$ curl 'http://127.0.0.1:18080/search?q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--'"
if topo_exec home curl -sS --max-time 10 "http://127.0.0.1:18080/search?q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--" 2>&1 | show; then :; fi
wait_file "$W/alice.out" 5 'ALERT' || true
grep 'ALERT' "$W/alice.out" | show
grep 'IDS alert' "$W/gateway.log" | sed 's/^[^ ]* //' | show
say "\$ curl http://127.0.0.1:18080/health   (the same tunnel still serves clean requests)"
{ topo_exec home curl -sS --max-time 10 http://127.0.0.1:18080/health; echo; } | show

step "11. Inline IPS: the gateway restarts with ids = ips; the attack is dropped before the service sees it"
sed -i 's/^ids = ids$/ids = ips/' "$W/gateway.ini"
grep -E '^ids' "$W/gateway.ini" | show
stop_bg "$GW_PID"
mv "$W/gateway.log" "$W/gateway-ids.log"
start_bg office "$W/gateway.log" "$GATEWAY_BIN" --config "$W/gateway.ini"
GW_PID=$BG_PID
wait_file "$W/gateway.log" 60 'IDS ready' || { tail "$W/gateway.log"; exit 1; }
grep -E 'IPS: service connections' "$W/gateway.log" | sed 's/^[^ ]* //' | show
say "(alice's client reconnects by itself)"
wait_count "$W/alice.out" 'connected to gateway' 2 30 || { cat "$W/alice.out"; exit 1; }
say "\$ curl 'http://127.0.0.1:18082/search?q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--'"
if topo_exec home curl -sS --max-time 10 "http://127.0.0.1:18082/search?q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--" 2>&1 | show; then :; fi
wait_count "$W/alice.out" 'ALERT' 2 5 || true
grep 'ALERT' "$W/alice.out" | tail -1 | show
say "what the orders service received of it: $(grep -ac 'UNION' "$W/orders.bytes" 2>/dev/null || true) lines with UNION; its log:"
show <"$W/orders.log"
say "\$ curl http://127.0.0.1:18082/new-order   (clean requests pass, inspected inline)"
{ topo_exec home curl -sS --max-time 10 http://127.0.0.1:18082/new-order; echo; } | show

step "12. Sentinel: mallory, allowed only 'api', probes twelve service names and gets banned"
names=(db ssh redis ldap git vault jenkins grafana kibana smtp ftp backup)
fwd=()
for i in "${!names[@]}"; do fwd+=(-L "$((19001 + i)):${names[i]}"); done
start_bg home "$W/mallory.out" "$CLI_BIN" --config-dir "$W/mallory" connect --signal "$SIG_URL" \
	--ca-file "$E2E_CA" --token-file "$W/mallory.jwt" --gateway gw-office "${fwd[@]}"
wait_file "$W/mallory.out" 20 'connected to gateway' || { cat "$W/mallory.out"; exit 1; }
for i in "${!names[@]}"; do
	topo_exec home curl -s --max-time 3 "http://127.0.0.1:$((19001 + i))/" >/dev/null 2>&1 || true
done
wait_file "$W/mallory.out" 10 'is banned' || true
grep -E 'denied|ALERT|BYE' "$W/mallory.out" | tail -4 | show
grep -E 'peer banned' "$W/gateway.log" | sed 's/^[^ ]* //' | show
say "mallory tries again: refused before any tunnel is built"
start_bg home "$W/mallory2.out" "$CLI_BIN" --config-dir "$W/mallory" connect --signal "$SIG_URL" \
	--ca-file "$E2E_CA" --token-file "$W/mallory.jwt" --gateway gw-office -L 19100:api
wait_file "$W/gateway.log" 20 'peer refused: banned' || true
grep 'peer refused: banned' "$W/gateway.log" | tail -1 | sed 's/^[^ ]* //' | show
stop_bg "$BG_PID"
say "\$ peerpipe-gateway --config gateway.ini bans list"
"$GATEWAY_BIN" --config "$W/gateway.ini" bans list | show
say "\$ peerpipe-gateway --config gateway.ini bans lift mallory"
"$GATEWAY_BIN" --config "$W/gateway.ini" bans lift mallory | show
say "alice was never affected:"
{ topo_exec home curl -sS --max-time 10 http://127.0.0.1:18080/health; echo; } | show

step "13. The gateway's audit log (JSON lines, for the security team)"
sleep 0.3
jq -c '{event, peer, address, service, reason, signature_id, action} | with_entries(select(.value != null))' "$W/audit.log" | show

step "Done: the P2P tunnel carried the allowed requests, refused the forbidden service, cut one attack (ids), dropped another before the service saw it (ips) and banned a scanner."
