#!/usr/bin/env bash
# Tests of scripts/install-deps.sh's and build-usrsctp.sh's apt source handling, run against fake
# apt trees (PP_APT_ROOT): deb822 and one-line formats, options, disabled
# entries, an existing bookworm-backports. Needs no root and no network.
set -uo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
script="$here/../../scripts/install-deps.sh"
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	printf 'ok   %s\n' "$1"
}
not_ok() {
	failed=$((failed + 1))
	printf 'FAIL %s\n' "$1"
	if [[ $# -gt 1 ]]; then printf '     %s\n' "${@:2}"; fi
}

# new_tree NAME: an empty apt tree; prints its root.
new_tree() {
	local root="$tmp/$1"
	mkdir -p "$root/etc/apt/sources.list.d"
	printf '%s\n' "$root"
}

# expect_added NAME ROOT LINE: --sources-only writes exactly LINE (plus the
# comment), and a second run leaves the file as it is.
expect_added() {
	local name=$1 root=$2 want=$3 out got list before
	list="$root/etc/apt/sources.list.d/peerpipe-backports.list"
	if ! out=$(PP_APT_ROOT=$root "$script" --sources-only 2>&1); then
		not_ok "$name: adds backports" "exit non-zero: $out"
		return
	fi
	got=$(grep -v '^#' "$list" 2>/dev/null)
	if [[ $got == "$want" ]]; then
		ok "$name: adds backports"
	else
		not_ok "$name: adds backports" "want: $want" "got:  $got"
	fi
	before=$(cksum <"$list" 2>/dev/null)
	if out=$(PP_APT_ROOT=$root "$script" --sources-only 2>&1) &&
		[[ $(cksum <"$list" 2>/dev/null) == "$before" && $out == *"already list"* ]]; then
		ok "$name: second run changes nothing"
	else
		not_ok "$name: second run changes nothing" "$out"
	fi
}

# expect_present NAME ROOT: sources already list backports; nothing written.
expect_present() {
	local name=$1 root=$2 out
	if out=$(PP_APT_ROOT=$root "$script" --sources-only 2>&1) &&
		[[ ! -e $root/etc/apt/sources.list.d/peerpipe-backports.list ]]; then
		ok "$name: keeps the existing backports"
	else
		not_ok "$name: keeps the existing backports" "$out"
	fi
}

# expect_fail NAME ROOT: no usable mirror: exit non-zero, say why, write nothing.
expect_fail() {
	local name=$1 root=$2 out
	if out=$(PP_APT_ROOT=$root "$script" --sources-only 2>&1); then
		not_ok "$name: fails" "exit 0: $out"
	elif [[ $out != *"no enabled 'bookworm' entry"* ]]; then
		not_ok "$name: fails" "unclear message: $out"
	elif [[ -e $root/etc/apt/sources.list.d/peerpipe-backports.list ]]; then
		not_ok "$name: fails" "wrote a list file anyway"
	else
		ok "$name: fails with a clear message"
	fi
}

# --- deb822, security stanza first, comment and Signed-By in the stanza
r=$(new_tree deb822)
cat >"$r/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://security.mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
# a comment inside the stanza
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
if [[ $(PP_APT_ROOT=$r "$script" --print-mirror 2>&1) == http://mirror.example/debian ]]; then
	ok "deb822: --print-mirror"
else
	not_ok "deb822: --print-mirror"
fi
expect_added deb822 "$r" \
	'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian bookworm-backports main'

# --- deb822: continuation lines, lower-case keys, no Signed-By, disabled stanza first
r=$(new_tree deb822-folded)
cat >"$r/etc/apt/sources.list.d/main.sources" <<'EOF'
Types: deb
URIs: http://old.mirror.example/debian
Suites: bookworm
Components: main
Enabled: no

types: deb
uris:
 https://folded.mirror.example/debian
suites: bookworm
components: main
EOF
expect_added deb822-folded "$r" 'deb https://folded.mirror.example/debian bookworm-backports main'

# --- one-line sources.list: comments, cdrom, deb-src, security, then the mirror
r=$(new_tree one-line)
cat >"$r/etc/apt/sources.list" <<'EOF'
# deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD Binary-1]/ bookworm contrib main
deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD Binary-1]/ bookworm contrib main
#deb http://commented.mirror.example/debian bookworm main

deb-src http://src.mirror.example/debian bookworm main
deb http://security.mirror.example/debian-security bookworm-security main
deb http://one.mirror.example/debian/ bookworm main contrib non-free-firmware   # trailing comment
deb http://one.mirror.example/debian/ bookworm-updates main
EOF
expect_added one-line "$r" 'deb http://one.mirror.example/debian/ bookworm-backports main'

# --- one-line *.list with [options], including spaces inside the brackets
r=$(new_tree one-line-opts)
cat >"$r/etc/apt/sources.list.d/debian.list" <<'EOF'
deb [ arch=amd64 ] file:/srv/local-mirror bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://opts.mirror.example/debian bookworm main
EOF
expect_added one-line-opts "$r" \
	'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://opts.mirror.example/debian bookworm-backports main'

# --- a local mirror only: used when nothing else is there
r=$(new_tree local-only)
echo 'deb [trusted=yes] file:/srv/local-mirror bookworm main' >"$r/etc/apt/sources.list"
expect_added local-only "$r" 'deb file:/srv/local-mirror bookworm-backports main'

# --- sources.list holds only comments, the mirror is in a deb822 file
r=$(new_tree mixed)
printf '# See /etc/apt/sources.list.d/debian.sources\n' >"$r/etc/apt/sources.list"
printf 'Types: deb\nURIs: http://mixed.mirror.example/debian\nSuites: bookworm\nComponents: main\n' \
	>"$r/etc/apt/sources.list.d/debian.sources"
expect_added mixed "$r" 'deb http://mixed.mirror.example/debian bookworm-backports main'

# --- backports named only by disabled files and stanzas: still added
r=$(new_tree disabled-backports)
echo 'deb http://x.mirror.example/debian bookworm-backports main' \
	>"$r/etc/apt/sources.list.d/backports.list.disabled"
echo '#deb http://x.mirror.example/debian bookworm-backports main' \
	>"$r/etc/apt/sources.list.d/commented.list"
cat >"$r/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://x.mirror.example/debian
Suites: bookworm-backports
Components: main
Enabled: no

Types: deb
URIs: http://x.mirror.example/debian
Suites: bookworm
Components: main
EOF
expect_added disabled-backports "$r" 'deb http://x.mirror.example/debian bookworm-backports main'

# --- already has backports: one-line and deb822
r=$(new_tree has-backports-list)
cat >"$r/etc/apt/sources.list" <<'EOF'
deb http://y.mirror.example/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://y.mirror.example/debian bookworm-backports main
EOF
expect_present has-backports-list "$r"

r=$(new_tree has-backports-deb822)
printf 'Types: deb\nURIs: http://z.mirror.example/debian\nSuites: bookworm bookworm-updates bookworm-backports\nComponents: main\n' \
	>"$r/etc/apt/sources.list.d/debian.sources"
expect_present has-backports-deb822 "$r"

# --- no usable bookworm entry
r=$(new_tree empty)
expect_fail empty "$r"

r=$(new_tree security-only)
printf 'Types: deb\nURIs: http://security.mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n' \
	>"$r/etc/apt/sources.list.d/debian.sources"
expect_fail security-only "$r"

r=$(new_tree all-disabled)
printf 'Types: deb\nURIs: http://d.mirror.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n' \
	>"$r/etc/apt/sources.list.d/debian.sources"
echo 'deb http://d.mirror.example/debian bookworm main' >"$r/etc/apt/sources.list.d/debian.list.save"
echo '# deb http://d.mirror.example/debian bookworm main' >"$r/etc/apt/sources.list"
expect_fail all-disabled "$r"

r=$(new_tree other-release)
echo 'deb http://t.mirror.example/debian trixie main' >"$r/etc/apt/sources.list"
expect_fail other-release "$r"

# --- a test root must not reach apt itself
r=$(new_tree guard)
if out=$(PP_APT_ROOT=$r "$script" 2>&1); then
	not_ok "PP_APT_ROOT refuses a full install" "exit 0: $out"
else
	ok "PP_APT_ROOT refuses a full install"
fi

# --- build-usrsctp.sh: deb-src entries for the bookworm suites of the same
# mirrors (the trees above, with the backports list they got by now)
usrsctp="$here/../../scripts/build-usrsctp.sh"

# expect_src NAME ROOT WANT: --print-sources prints exactly WANT.
expect_src() {
	local name=$1 root=$2 want=$3 got
	got=$(PP_APT_ROOT=$root "$usrsctp" --print-sources 2>&1)
	if [[ $got == "$want" ]]; then
		ok "build-usrsctp: $name"
	else
		not_ok "build-usrsctp: $name" "want: $want" "got:  $got"
	fi
}

k=/usr/share/keyrings/debian-archive-keyring.gpg
expect_src "deb822: release, -updates and -security, keys kept, backports skipped" "$tmp/deb822" \
	"deb-src [signed-by=$k] http://security.mirror.example/debian-security bookworm-security main
deb-src [signed-by=$k] http://mirror.example/debian bookworm main
deb-src [signed-by=$k] http://mirror.example/debian bookworm-updates main"
expect_src "one-line: cdrom and deb-src skipped" "$tmp/one-line" \
	"deb-src http://security.mirror.example/debian-security bookworm-security main
deb-src http://one.mirror.example/debian/ bookworm main
deb-src http://one.mirror.example/debian/ bookworm-updates main"
expect_src "another release: nothing" "$tmp/other-release" ""
r=$(new_tree usrsctp-dup)
echo 'deb http://mirror.example/debian bookworm main' >"$r/etc/apt/sources.list"
echo 'deb http://mirror.example/debian bookworm main contrib' >"$r/etc/apt/sources.list.d/more.list"
expect_src "an entry named twice: once" "$r" "deb-src http://mirror.example/debian bookworm main"
if out=$(PP_APT_ROOT=$r "$usrsctp" 2>&1); then
	not_ok "build-usrsctp: PP_APT_ROOT refuses a build" "exit 0: $out"
else
	ok "build-usrsctp: PP_APT_ROOT refuses a build"
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
