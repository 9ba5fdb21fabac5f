#!/bin/sh
# Smoke test of `peerpipe keygen | id | pin` against a temporary config dir,
# and of `connect`/`services` refusing bad option values and token files
# (saying why) and warning about a token file others may read.
# usage: cli_keys_smoke.sh PATH/TO/peerpipe
set -u
pp=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
fails=0
check() { # description, then a command that must succeed
	n=$((n + 1)); d=$1; shift
	if "$@" >"$dir/out" 2>"$dir/err"; then echo "ok $n $d"
	else echo "not ok $n $d"; sed 's/^/# /' "$dir/out" "$dir/err"; fails=$((fails + 1)); fi
}
refuse() { # description, expected exit status, command that must fail
	n=$((n + 1)); d=$1; want=$2; shift 2
	"$@" >"$dir/out" 2>"$dir/err"; got=$?
	if [ "$got" = "$want" ]; then echo "ok $n $d"
	else echo "not ok $n $d (exit $got, want $want)"; sed 's/^/# /' "$dir/err"; fails=$((fails + 1)); fi
}
cfg="$dir/cfg"
fp_a="sha-256 $(printf 'AA:%.0s' $(seq 31))AA"
fp_b="sha-256 $(printf 'BB:%.0s' $(seq 31))BB"
echo "1..32"
refuse "id without identity" 1 "$pp" --config-dir "$cfg" id
check "keygen creates" sh -c "'$pp' --config-dir '$cfg' keygen >'$dir/k1' 2>'$dir/k1e' && grep -q 'created a new identity' '$dir/k1e'"
check "config dir is 0700" sh -c "[ \$(stat -c %a '$cfg') = 700 ]"
check "id prints one sha-256 line equal to keygen's" sh -c "'$pp' --config-dir='$cfg' id >'$dir/id' && cmp -s '$dir/id' '$dir/k1' && grep -Eq '^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\$' '$dir/id' && [ \$(wc -l <'$dir/id') = 1 ]"
check "keygen again keeps the identity" sh -c "'$pp' --config-dir '$cfg' keygen 2>'$dir/k2e' | cmp -s - '$dir/k1' && grep -q 'already exists' '$dir/k2e'"
check "pin add (two words)" "$pp" --config-dir "$cfg" pin add office $fp_a
check "pin add (one argument)" "$pp" --config-dir "$cfg" pin add lab "$fp_b"
check "pins file is 0600" sh -c "[ \$(stat -c %a '$cfg/pins') = 600 ]"
refuse "pin add with a changed key" 1 "$pp" --config-dir "$cfg" pin add office "$fp_b"
check "pin add --replace" "$pp" --config-dir "$cfg" pin add office "$fp_b" --replace
refuse "malformed fingerprint" 1 "$pp" --config-dir "$cfg" pin add x "sha-256 AB:CD"
check "pin remove, list" sh -c "'$pp' --config-dir '$cfg' pin remove lab && [ \"\$('$pp' --config-dir '$cfg' pin list)\" = 'office $fp_b' ]"
refuse "pin remove unknown" 1 "$pp" --config-dir "$cfg" pin remove lab
for v in 1199 16385 12x; do
	check "connect --max-datagram $v refused, and says why" sh -c "! '$pp' --config-dir '$cfg' \
		connect --signal wss://127.0.0.1:1/v1/ws --token t --gateway office --max-datagram $v \
		2>'$dir/md' && grep -q -- '--max-datagram: a number of bytes, 1200..16384' '$dir/md'"
done
# --timeout (services): digits only, 1..3600, else a usage error (2)
for v in 0 x 5x -1 3601 ''; do
	n=$((n + 1)); d="services --timeout '$v' refused (exit 2), and says why"
	"$pp" --config-dir "$cfg" services --signal ws://127.0.0.1:1/v1/ws --insecure-ws --token t \
		--gateway office --timeout "$v" >"$dir/out" 2>"$dir/err"; got=$?
	if [ $got = 2 ] && grep -q -- '--timeout: a whole number of seconds, 1..3600' "$dir/err"; then
		echo "ok $n $d"
	else echo "not ok $n $d (exit $got)"; sed 's/^/# /' "$dir/err"; fails=$((fails + 1)); fi
done
# connect has no --timeout (it waits for its tunnel as long as it runs)
n=$((n + 1)); d="connect --timeout refused (exit 2), and says why"
"$pp" --config-dir "$cfg" connect --signal ws://127.0.0.1:1/v1/ws --insecure-ws --token t \
	--gateway office --timeout 5 >"$dir/out" 2>"$dir/err"; got=$?
if [ $got = 2 ] && grep -q -- '--timeout is an option of `peerpipe services`' "$dir/err"; then
	echo "ok $n $d"
else echo "not ok $n $d (exit $got)"; sed 's/^/# /' "$dir/err"; fails=$((fails + 1)); fi
# the token file: each refusal names its reason (exit 1)
tok() { # description, token file, the reason expected on stderr
	n=$((n + 1))
	"$pp" --config-dir "$cfg" connect --signal ws://127.0.0.1:1/v1/ws --insecure-ws \
		--token-file "$2" --gateway office >"$dir/out" 2>"$dir/err"; got=$?
	if [ $got = 1 ] && grep -q -- "cannot read the token from $2: $3" "$dir/err"; then
		echo "ok $n $1"
	else echo "not ok $n $1 (exit $got)"; sed 's/^/# /' "$dir/err"; fails=$((fails + 1)); fi
}
tok "token file missing" "$dir/no-such.jwt" "no such file"
printf 'eyJhbGciOi\n' >"$dir/short.jwt"
tok "token file too short" "$dir/short.jwt" "empty or shorter than 16 bytes"
: >"$dir/empty.jwt"
tok "token file empty" "$dir/empty.jwt" "empty or shorter than 16 bytes"
head -c 5000 /dev/zero | tr '\0' a >"$dir/big.jwt"
tok "token file too large" "$dir/big.jwt" "over 4096 bytes"
mkdir "$dir/dir.jwt"
tok "token file a directory" "$dir/dir.jwt" "not a regular file"
ln -s "$dir/short.jwt" "$dir/link.jwt"
tok "token file a symbolic link" "$dir/link.jwt" "it is a symbolic link"
# readable by others or the group: a warning, then on (it fails later: no room)
printf 'aaaaaaaaaaaaaaaaaaaaaaaa\n' >"$dir/tok.jwt"
for mode in 644 640 600; do
	chmod $mode "$dir/tok.jwt"
	n=$((n + 1)); d="token file mode $mode: warned only if others or the group may read it"
	"$pp" --config-dir "$cfg" connect --signal ws://127.0.0.1:1/v1/ws --insecure-ws \
		--token-file "$dir/tok.jwt" --gateway office >"$dir/out" 2>"$dir/err"
	case $mode in
	644) want='the token file is readable by other users' ;;
	640) want='the token file is readable by its group' ;;
	*) want='' ;;
	esac
	if grep -q 'the token names no room' "$dir/err" &&
		{ if [ -n "$want" ]; then grep -q "$want" "$dir/err"; else ! grep -q 'readable by' "$dir/err"; fi; }; then
		echo "ok $n $d"
	else echo "not ok $n $d"; sed 's/^/# /' "$dir/err"; fails=$((fails + 1)); fi
done
[ $fails = 0 ]
