# SPDX-License-Identifier: Apache-2.0
# tests/e2e/topo.sh: the end-to-end topology of seeds/schemes.md out of
# network namespaces. A library: source it from bash (set -euo pipefail is
# fine), then topo_install_trap; topo_up [home2] [rogue].
#
#                            198.18.0.10 sig  (peerpipe-signal)
#                            198.18.0.20 turn (coturn)      on inet's lo
#                            198.18.0.30 www  (a plain web server, for tests)
#   home 192.168.1.10 --.                 .------------------.
#   home2 192.168.2.10 -+- [home-nat] 198.18.1.2 ---- 198.18.1.1     |
#                         MASQUERADE      |  inet (routes only |
#   office 10.20.0.10 --- [office-nat] 198.18.2.2 --- 198.18.2.1 the |
#     |                   MASQUERADE      |  public nets)      |
#     | int0 172.31.0.1                   |  198.18.4.1 -------+--- 198.18.4.2 rogue
#     |                                   '------------------'      (public, no NAT)
#   svc 172.31.0.10 (internal: no default route, reachable only from office)
#
# inet's default route goes to a sink (`void`): packets for any other
# address, private ones included, are lost silently, as on the Internet,
# instead of failing with ENETUNREACH (which makes coturn close a relay).
#
# The NAT routers are Linux port-preserving MASQUERADE with the usual
# stateful firewall that drops unsolicited packets from the WAN
# (--ctstate NEW,INVALID -j DROP on INPUT and FORWARD): without the DROP, an
# early connectivity check pins a conntrack entry on the router's own port and
# MASQUERADE moves the mapping (an accidental symmetric NAT). IPv6 is off in
# every namespace. office does not forward (svc stays internal).
#
# Everything lives inside namespaces named TOPO_PREFIX-NODE (default
# TOPO_PREFIX=ppe<pid>): veths, addresses, routes and iptables rules go away
# with the namespaces; nothing is created in the root namespace. Parallel
# runs do not collide.
#
# Functions:
#   topo_init                  make TOPO_DIR (work dir, removed at exit) unless set
#   topo_install_trap          EXIT/INT/TERM/HUP trap: run TOPO_EXIT_HOOKS
#                              (functions, get the exit status), topo_down,
#                              remove TOPO_DIR unless TOPO_KEEP=1
#   topo_up [home2] [rogue]    build it (returns non-zero on failure)
#   topo_down                  kill every process started here and every
#                              process left in our namespaces, delete them
#   topo_exec NODE CMD...      run CMD in NODE's namespace
#   topo_ns NODE               the namespace's name
#   topo_addr NAME             an address: sig turn www home home2 office
#                              office-int svc rogue home-nat office-nat
#                              inet-home inet-office inet-rogue
#   start_bg [-e ERRLOG] NODE LOG CMD...
#                              CMD in the background in NODE, stdout (and
#                              stderr unless -e) to LOG; BG_PID is its pid,
#                              recorded for topo_down
#   stop_bg PID [TIMEOUT_S]    SIGTERM, SIGKILL after TIMEOUT_S (10);
#                              BG_STATUS: exit status (our own child), 137
#                              after SIGKILL, 255 when it is not our child
#   topo_alive PID             true while PID runs (zombies count as gone)
#   wait_port NODE ADDR PORT TIMEOUT_S [tcp|udp]
#                              until something in NODE listens on ADDR:PORT
#                              (or on the wildcard address)
#   wait_file FILE TIMEOUT_S [ERE]
#                              until FILE exists (and has a line matching ERE)
#   topo_sweep_stale           delete namespaces of earlier runs whose
#                              process is gone (ppe<pid>...-NODE)

[[ -n ${TOPO_SH_LOADED:-} ]] && return 0
TOPO_SH_LOADED=1

TOPO_PREFIX=${TOPO_PREFIX:-ppe$$}
TOPO_DIR=${TOPO_DIR:-}
TOPO_KEEP=${TOPO_KEEP:-0}
TOPO_DIR_OWNED=0
TOPO_EXIT_HOOKS=()
BG_PID=
BG_STATUS=

declare -gA TOPO_ADDRS=(
	[sig]=198.18.0.10 [turn]=198.18.0.20 [www]=198.18.0.30
	[inet-home]=198.18.1.1 [home-nat]=198.18.1.2
	[inet-office]=198.18.2.1 [office-nat]=198.18.2.2
	[inet-rogue]=198.18.4.1 [rogue]=198.18.4.2
	[home-nat-lan]=192.168.1.1 [home]=192.168.1.10
	[home-nat-lan2]=192.168.2.1 [home2]=192.168.2.10
	[office-nat-lan]=10.20.0.1 [office]=10.20.0.10
	[office-int]=172.31.0.1 [svc]=172.31.0.10
)

topo_log() { printf 'topo: %s\n' "$*" >&2; }

topo_ns() { printf '%s-%s' "$TOPO_PREFIX" "$1"; }

topo_exec() {
	local node=$1
	shift
	ip netns exec "$TOPO_PREFIX-$node" "$@"
}

topo_addr() {
	if [[ -z ${TOPO_ADDRS[$1]:-} ]]; then
		topo_log "topo_addr: no address named '$1'"
		return 1
	fi
	printf '%s\n' "${TOPO_ADDRS[$1]}"
}

# topo_init: make TOPO_DIR (the work dir) if the caller gave none
topo_init() { _topo_need_dir; }

_topo_need_dir() {
	if [[ -z $TOPO_DIR ]]; then
		TOPO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pp-e2e.$TOPO_PREFIX.XXXXXX")
		TOPO_DIR_OWNED=1
	fi
	mkdir -p -- "$TOPO_DIR"
	touch -- "$TOPO_DIR/pids"
}

# Our namespaces, from the kernel's list (also catches half-built ones).
_topo_our_namespaces() {
	ip netns list 2>/dev/null | awk -v p="$TOPO_PREFIX-" 'index($1, p) == 1 { print $1 }'
}

_topo_add_ns() {
	local ns="$TOPO_PREFIX-$1"
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	# A new namespace inherits the root's IPv4 settings (ip_forward!):
	# say what we want, and keep IPv6 (and its DAD noise) out.
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0 || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
}

# _topo_link NODE1 IF1 ADDR1/LEN NODE2 IF2 ADDR2/LEN: a veth pair
_topo_link() {
	local a="$TOPO_PREFIX-$1" b="$TOPO_PREFIX-$4"
	ip -n "$a" link add "$2" type veth peer name "$5" netns "$b" || return 1
	ip -n "$a" addr add "$3" dev "$2" && ip -n "$a" link set "$2" up &&
		ip -n "$b" addr add "$6" dev "$5" && ip -n "$b" link set "$5" up
}

# _topo_nat NODE WANIF: MASQUERADE plus the stateful WAN firewall
_topo_nat() {
	local n=$1 wan=$2
	topo_exec "$n" sysctl -qw net.ipv4.ip_forward=1 &&
		topo_exec "$n" iptables -t nat -A POSTROUTING -o "$wan" -j MASQUERADE &&
		topo_exec "$n" iptables -A INPUT -i "$wan" -m conntrack --ctstate NEW,INVALID -j DROP &&
		topo_exec "$n" iptables -A FORWARD -i "$wan" -m conntrack --ctstate NEW,INVALID -j DROP
}

topo_up() {
	local extra n want_home2=0 want_rogue=0
	for extra in "$@"; do
		case $extra in
		home2) want_home2=1 ;;
		rogue) want_rogue=1 ;;
		*)
			topo_log "topo_up: unknown node '$extra' (home2, rogue)"
			return 1
			;;
		esac
	done
	_topo_need_dir
	# a namespace of ours that exists already is left over from a dead
	# run that had our pid
	if [[ -n $(_topo_our_namespaces) ]]; then
		topo_log "removing stale namespaces $TOPO_PREFIX-*"
		_topo_delete_namespaces
	fi
	local -a nodes=(inet home-nat home office-nat office svc)
	((want_home2)) && nodes+=(home2)
	((want_rogue)) && nodes+=(rogue)
	for n in "${nodes[@]}"; do
		_topo_add_ns "$n" || return 1
	done

	# inet: the public addresses of the servers, and the links
	ip -n "$TOPO_PREFIX-inet" addr add "${TOPO_ADDRS[sig]}/32" dev lo &&
		ip -n "$TOPO_PREFIX-inet" addr add "${TOPO_ADDRS[turn]}/32" dev lo &&
		ip -n "$TOPO_PREFIX-inet" addr add "${TOPO_ADDRS[www]}/32" dev lo &&
		topo_exec inet sysctl -qw net.ipv4.ip_forward=1 || return 1
	# and the rest of the Internet: a sink that swallows what is sent to
	# any other address (private ones included), as the real one drops it
	# somewhere, instead of an error here. coturn closes a relay whose
	# send fails (ENETUNREACH), so a TURN client's first check to a
	# peer's private address would kill its relay for good.
	# (a veth whose peer stays down: this kernel has no dummy device)
	ip -n "$TOPO_PREFIX-inet" link add void type veth peer name void-peer &&
		ip -n "$TOPO_PREFIX-inet" link set void up &&
		ip -n "$TOPO_PREFIX-inet" route add default dev void || return 1
	_topo_link inet home0 "${TOPO_ADDRS[inet-home]}/24" home-nat wan "${TOPO_ADDRS[home-nat]}/24" &&
		_topo_link inet office0 "${TOPO_ADDRS[inet-office]}/24" office-nat wan "${TOPO_ADDRS[office-nat]}/24" &&
		_topo_link home-nat lan "${TOPO_ADDRS[home-nat-lan]}/24" home eth0 "${TOPO_ADDRS[home]}/24" &&
		_topo_link office-nat lan "${TOPO_ADDRS[office-nat-lan]}/24" office eth0 "${TOPO_ADDRS[office]}/24" &&
		_topo_link office int0 "${TOPO_ADDRS[office-int]}/24" svc eth0 "${TOPO_ADDRS[svc]}/24" ||
		return 1
	ip -n "$TOPO_PREFIX-home-nat" route add default via "${TOPO_ADDRS[inet-home]}" &&
		ip -n "$TOPO_PREFIX-office-nat" route add default via "${TOPO_ADDRS[inet-office]}" &&
		ip -n "$TOPO_PREFIX-home" route add default via "${TOPO_ADDRS[home-nat-lan]}" &&
		ip -n "$TOPO_PREFIX-office" route add default via "${TOPO_ADDRS[office-nat-lan]}" ||
		return 1
	# svc: only its own /24 (no default route: the air gap of scheme 2)
	if ((want_home2)); then
		_topo_link home-nat lan2 "${TOPO_ADDRS[home-nat-lan2]}/24" home2 eth0 "${TOPO_ADDRS[home2]}/24" &&
			ip -n "$TOPO_PREFIX-home2" route add default via "${TOPO_ADDRS[home-nat-lan2]}" ||
			return 1
	fi
	if ((want_rogue)); then
		_topo_link inet rogue0 "${TOPO_ADDRS[inet-rogue]}/24" rogue eth0 "${TOPO_ADDRS[rogue]}/24" &&
			ip -n "$TOPO_PREFIX-rogue" route add default via "${TOPO_ADDRS[inet-rogue]}" ||
			return 1
	fi
	_topo_nat home-nat wan && _topo_nat office-nat wan || return 1
}

# topo_alive PID: running (a zombie is not)
topo_alive() {
	local pid=$1 stat
	kill -0 "$pid" 2>/dev/null || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

start_bg() {
	local err=
	if [[ ${1:-} == -e ]]; then
		err=$2
		shift 2
	fi
	local node=$1 log=$2
	shift 2
	_topo_need_dir
	if [[ -n $err ]]; then
		ip netns exec "$TOPO_PREFIX-$node" "$@" >"$log" 2>"$err" </dev/null &
	else
		ip netns exec "$TOPO_PREFIX-$node" "$@" >"$log" 2>&1 </dev/null &
	fi
	BG_PID=$!
	printf '%s %s %s\n' "$BG_PID" "$node" "${1##*/}" >>"$TOPO_DIR/pids"
}

stop_bg() {
	local pid=$1 timeout=${2:-10} i
	BG_STATUS=255
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		topo_alive "$pid" || break
		sleep 0.1
	done
	if topo_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			topo_alive "$pid" || break
			sleep 0.1
		done
	fi
	# only our own children can be waited for
	if wait "$pid" 2>/dev/null; then
		BG_STATUS=0
	else
		BG_STATUS=$?
		((BG_STATUS != 127)) || BG_STATUS=255
	fi
	return 0
}

wait_port() {
	local node=$1 addr=$2 port=$3 timeout=$4 proto=${5:-tcp} i flag=-Hltn
	[[ $proto == udp ]] && flag=-Hlun
	for ((i = 0; i < timeout * 10; i++)); do
		if topo_exec "$node" ss "$flag" "sport = :$port" 2>/dev/null |
			awk -v a="$addr:$port" -v p=":$port" '
				$4 == a || $4 == "0.0.0.0" p || $4 == "*" p || $4 == "[::]" p { f = 1 }
				END { exit !f }'; then
			return 0
		fi
		sleep 0.1
	done
	topo_log "nothing listens on $addr:$port/$proto in $node after ${timeout}s"
	return 1
}

wait_file() {
	local file=$1 timeout=$2 re=${3:-} i
	for ((i = 0; i < timeout * 10; i++)); do
		if [[ -e $file ]] && { [[ -z $re ]] || grep -Eq -- "$re" "$file" 2>/dev/null; }; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

_topo_delete_namespaces() {
	local ns pids i left
	for ns in $(_topo_our_namespaces); do
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[[ -z ${pids// /} ]] || kill -KILL $pids 2>/dev/null || true
	done
	for ((i = 0; i < 50; i++)); do
		left=
		for ns in $(_topo_our_namespaces); do
			[[ -z $(ip netns pids "$ns" 2>/dev/null) ]] || left=1
		done
		[[ -z $left ]] && break
		sleep 0.1
	done
	for ns in $(_topo_our_namespaces); do
		ip netns del "$ns" 2>/dev/null || topo_log "cannot delete namespace $ns"
	done
}

topo_down() {
	local pid node rest i any
	if [[ -n $TOPO_DIR && -s $TOPO_DIR/pids ]]; then
		# politely first: the programs may want to leave their room
		while read -r pid node rest; do
			kill -TERM "$pid" 2>/dev/null || true
		done <"$TOPO_DIR/pids"
		for ((i = 0; i < 30; i++)); do
			any=
			while read -r pid node rest; do
				topo_alive "$pid" && any=1
			done <"$TOPO_DIR/pids"
			[[ -z $any ]] && break
			sleep 0.1
		done
		while read -r pid node rest; do
			kill -KILL "$pid" 2>/dev/null || true
		done <"$TOPO_DIR/pids"
	fi
	_topo_delete_namespaces
	if [[ -n $TOPO_DIR && -s $TOPO_DIR/pids ]]; then
		while read -r pid node rest; do
			wait "$pid" 2>/dev/null || true
		done <"$TOPO_DIR/pids"
		: >"$TOPO_DIR/pids"
	fi
	return 0
}

_topo_on_exit() {
	local rc=$? h
	set +e
	trap - EXIT INT TERM HUP
	for h in "${TOPO_EXIT_HOOKS[@]}"; do
		"$h" "$rc"
	done
	topo_down
	if [[ $TOPO_DIR_OWNED == 1 && $TOPO_KEEP != 1 && -n $TOPO_DIR ]]; then
		rm -rf -- "$TOPO_DIR"
	elif [[ -n $TOPO_DIR && -d $TOPO_DIR ]]; then
		topo_log "kept $TOPO_DIR"
	fi
	exit "$rc"
}

topo_install_trap() {
	trap _topo_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

topo_sweep_stale() {
	local ns owner pids
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		[[ $ns =~ ^ppe([0-9]+)[a-z0-9]*- ]] || continue
		owner=${BASH_REMATCH[1]}
		[[ $owner == "$$" ]] && continue
		kill -0 "$owner" 2>/dev/null && continue
		topo_log "removing stale namespace $ns (run $owner is gone)"
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[[ -z ${pids// /} ]] || kill -KILL $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}
