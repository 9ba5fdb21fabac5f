# shellcheck shell=bash
# Reading apt's source lists (sourced by install-deps.sh and build-usrsctp.sh).
# Both formats: deb822 *.sources and one-line sources.list / *.list.

# Enabled apt source files under ROOT, one a line. Files with other endings
# (*.disabled, *.save, *.dpkg-old, ...) are ignored, as apt ignores them.
pp_apt_source_files() {
	local root=$1 f
	for f in "$root/etc/apt/sources.list" \
		"$root"/etc/apt/sources.list.d/*.list \
		"$root"/etc/apt/sources.list.d/*.sources; do
		if [[ -f $f ]]; then printf '%s\n' "$f"; fi
	done
}

# Enabled entries of one source file: "TYPE<tab>URI<tab>SUITE<tab>SIGNED_BY"
# for every type, URI and suite (SIGNED_BY is a keyring path or "-").
pp_apt_file_entries() {
	local file=$1
	case $file in
	*.sources)
		awk '
		function reset() { types = ""; uris = ""; suites = ""; key = ""; signed = "-"; enabled = 1 }
		function flush(    nt, nu, ns, a, b, c, T, U, S) {
			if (enabled) {
				nt = split(types, T); nu = split(uris, U); ns = split(suites, S)
				for (a = 1; a <= nt; a++)
					for (b = 1; b <= nu; b++)
						for (c = 1; c <= ns; c++)
							printf "%s\t%s\t%s\t%s\n", T[a], U[b], S[c], signed
			}
			reset()
		}
		BEGIN { reset() }
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ {
			if (key == "types") types = types " " $0
			else if (key == "uris") uris = uris " " $0
			else if (key == "suites") suites = suites " " $0
			else if (key == "signed-by") signed = "-"   # inline key block
			next
		}
		{
			i = index($0, ":")
			if (i == 0) { key = ""; next }
			key = tolower(substr($0, 1, i - 1))
			val = substr($0, i + 1)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "signed-by") {
				n = split(val, w)
				signed = (n == 1 && w[1] ~ /^\//) ? w[1] : "-"
			} else if (key == "enabled") {
				v = tolower(val); gsub(/[ \t]/, "", v)
				if (v == "no" || v == "false" || v == "0") enabled = 0
			}
		}
		END { flush() }
		' "$file"
		;;
	*)
		awk '
		{ sub(/#.*/, "") }
		$1 != "deb" && $1 != "deb-src" { next }
		{
			type = $1; line = $0; signed = "-"
			sub(/^[ \t]*deb(-src)?[ \t]+/, "", line)
			if (substr(line, 1, 1) == "[") {
				j = index(line, "]")
				if (j == 0) next
				n = split(substr(line, 2, j - 2), opt)
				for (k = 1; k <= n; k++)
					if (opt[k] ~ /^signed-by=\//) signed = substr(opt[k], 11)
				line = substr(line, j + 1)
			}
			if (split(line, w) >= 2) printf "%s\t%s\t%s\t%s\n", type, w[1], w[2], signed
		}
		' "$file"
		;;
	esac
}

# All enabled entries under ROOT.
pp_apt_entries() {
	local f
	while IFS= read -r f; do
		pp_apt_file_entries "$f"
	done < <(pp_apt_source_files "$1")
}
