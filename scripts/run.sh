#!/usr/bin/env bash
# Build, test or demo PeerPipe on Debian 12. Installs what it needs first
# (scripts/install-deps.sh, as root or through sudo).
#
# usage: scripts/run.sh test|demo|build [ARGS...]
#   test   ASan+UBSan build in build-test, every meson test, the script tests;
#          ends with one line 'tests: N passed, N failed[, N skipped]'
#   demo   release build in build, then scripts/demo.sh ARGS
#   build  release build in build
# env:
#   MESON_TEST_ARGS  extra arguments for `meson test` (test), split on spaces
set -euo pipefail

self=$(readlink -f -- "${BASH_SOURCE[0]}")
cd -- "${self%/*}/.."

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$self" >&2
	exit 2
}

# The signaling server and the tests hold many sockets: raise the soft limit
# of open files to the kernel's per-process maximum (at most 2^20, past which
# programs that walk every descriptor slow down), or else to the hard limit.
raise_nofile() {
	local want
	want=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)
	((want <= 1048576)) || want=1048576
	ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

release_build() {
	scripts/setup-build.sh build --buildtype=release
	meson compile -C build
}

# Counts of the meson test log: "PASSED FAILED SKIPPED".
meson_counts() {
	jq -rs 'reduce .[].result as $r ({p: 0, f: 0, s: 0};
		if $r == "OK" or $r == "EXPECTEDFAIL" then .p += 1
		elif $r == "SKIP" then .s += 1
		else .f += 1 end)   # FAIL TIMEOUT ERROR UNEXPECTEDPASS and anything new
		| "\(.p) \(.f) \(.s)"' "$1"
}

# What the failed tests of the meson test log said on stdout: for a TAP
# test, its failed cases and their diagnostics (meson's --print-errorlogs
# shows only stderr for those), so a red CI run can be read from its log.
print_failed_stdout() {
	jq -r 'select(.result != "OK" and .result != "EXPECTEDFAIL" and .result != "SKIP")
		| "run.sh: --- stdout of the failed test \(.name) (its failures and diagnostics)",
		  ((.stdout // "") | split("\n") | map(select(test("^(not ok|#|Bail out)")))
		  | .[-300:][])' "$1"
}

run_tests() {
	local testlog=build-test/meson-logs/testlog.json
	local scriptlog=build-test/meson-logs/test-install-deps.log
	local -a extra=()
	local rc=0 passed=0 failed=0 skipped=0 p f s counts line

	read -r -a extra <<<"${MESON_TEST_ARGS:-}"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:print_summary=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}

	scripts/setup-build.sh build-test -Db_sanitize=address,undefined -Db_lundef=false
	meson compile -C build-test

	rm -f -- "$testlog"
	meson test -C build-test --print-errorlogs --num-processes 2 "${extra[@]}" || rc=$?
	if [[ -s $testlog ]]; then
		counts=$(meson_counts "$testlog") || die "cannot read $testlog"
		read -r p f s <<<"$counts"
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		((f == 0)) || print_failed_stdout "$testlog" || log "cannot read $testlog"
	fi
	if ((rc != 0 && failed == 0)); then
		log "meson test exited $rc without a failed test in $testlog"
		failed=$((failed + 1))
	fi

	rc=0
	tests/scripts/test-install-deps.sh | tee -- "$scriptlog" || rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$scriptlog" | tail -n 1 || true)
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		passed=$((passed + BASH_REMATCH[1])) f=${BASH_REMATCH[2]}
	else
		f=0
	fi
	((rc == 0 || f > 0)) || f=1
	failed=$((failed + f))

	line="tests: $passed passed, $failed failed"
	((skipped == 0)) || line+=", $skipped skipped"
	printf '%s\n' "$line"
	((failed == 0))
}

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
raise_nofile

case $cmd in
test)
	scripts/install-deps.sh
	run_tests
	;;
build)
	scripts/install-deps.sh
	release_build
	;;
demo)
	scripts/install-deps.sh
	release_build
	[[ -x scripts/demo.sh ]] || die "scripts/demo.sh is missing or not executable"
	exec scripts/demo.sh "$@"
	;;
-h | --help | help) usage ;;
*)
	log "unknown command '$cmd'"
	usage
	;;
esac
