#!/bin/sh
# compat-man.sh TOP prints the gokeepalived-keepalived.conf(5) manual page:
# the page written beside this script, with the keywords that have no
# effect or nothing to do, and the counts, read from
# TOP/docs/compatibility.md, which the config package's tests keep equal
# to the keyword tables.
set -eu

top=$1
md=$top/docs/compatibility.md
page=$top/docs/man/gokeepalived-keepalived.conf.5.in

# list STATE prints the roff list of the keywords in STATE, by block.
list() {
	awk -v want="$1" '
	function roff(s) {
		gsub(/\\/, "\\e", s)
		# `code` in bold
		while (match(s, /`[^`]*`/)) {
			s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
		}
		gsub(/-/, "\\-", s)
		if (s ~ /^[.\047]/) s = "\\&" s
		return s
	}
	# The file lists a block again after each nested one: gather each
	# block'"'"'s keywords under one heading, in the order blocks come.
	/^## / { block = $2; gsub(/`/, "", block); next }
	/^\| `/ {
		n = split($0, f, "|")
		kw = f[2]; state = f[3]; why = f[4]
		for (i = 5; i < n; i++) why = why "|" f[i]
		gsub(/^ +| +$/, "", kw); gsub(/`/, "", kw)
		gsub(/^ +| +$/, "", state); gsub(/^ +| +$/, "", why)
		if (state != want) next
		if (!(block in text)) order[++blocks] = block
		text[block] = text[block] ".TP\n.B " roff(kw) "\n" roff(why) "\n"
	}
	END { for (i = 1; i <= blocks; i++) printf ".SS %s\n%s", roff(order[i]), text[order[i]] }' "$md"
}

# count STATE prints the number of keywords in STATE; of keepalived's
# keywords, the extensions left out, if STATE is empty.
count() {
	awk -v want="$1" -F'|' '/^\| `/ { s = $3; gsub(/^ +| +$/, "", s); if ((want == "" && s != "extension") || s == want) n++ } END { print n + 0 }' "$md"
}

warned=$(mktemp)
na=$(mktemp)
trap 'rm -f "$warned" "$na"' EXIT
list warned >"$warned"
list "not applicable" >"$na"

awk -v total="$(count "")" -v impl="$(count implemented)" -v warn="$(count warned)" -v nas="$(count "not applicable")" \
	-v warnedf="$warned" -v naf="$na" '
	$0 == "@WARNED_LIST@" { while ((getline l < warnedf) > 0) print l; next }
	$0 == "@NA_LIST@" { while ((getline l < naf) > 0) print l; next }
	{
		gsub(/@TOTAL@/, total); gsub(/@IMPLEMENTED@/, impl)
		gsub(/@WARNED@/, warn); gsub(/@NA@/, nas)
		print
	}' "$page"
