#!/bin/sh
# copyright.sh BINARY... prints the package's copyright file:
# gokeepalived's own notice, then the license of the Go standard library
# and of every Go module a BINARY is linked with, read from the module
# cache of the go command that built them ($GO, or go). The Apache License 2.0, which Debian
# ships, is referred to rather than repeated.
set -eu

go=${GO:-go}
modcache=$("$go" env GOMODCACHE)
goroot=$("$go" env GOROOT)
rule=----------------------------------------------------------------------

license_of() { # print the license found in directory $1, or say there is none
	for f in LICENSE LICENSE.txt LICENSE.md LICENCE COPYING; do
		if [ -f "$1/$f" ]; then
			if head -n 5 "$1/$f" | grep -q 'Apache License' && grep -q 'Version 2.0' "$1/$f"; then
				echo "Apache License 2.0: see /usr/share/common-licenses/Apache-2.0."
				if [ -f "$1/NOTICE" ]; then
					echo
					cat "$1/NOTICE"
				fi
			else
				cat "$1/$f"
			fi
			return
		fi
	done
	echo "(no license file in the module)"
}

cat <<HEAD
gokeepalived
============

Source: https://github.com/gokeepalived/gokeepalived
Copyright: the gokeepalived authors
License: the gokeepalived source tree states no license.

/usr/sbin/gokeepalived and /usr/sbin/gokeepalived-bgp are linked with the
Go standard library and with the Go modules below. Their copyright notices
and licenses follow.

$rule
The Go standard library, $("$go" env GOVERSION)

HEAD
license_of "$goroot"

# "go version -m" lists each module as: dep PATH VERSION SUM, and a
# replaced one with a following line: => PATH VERSION SUM.
for bin in "$@"; do
	"$go" version -m "$bin" | awk '$1 == "dep" || $1 == "=>" { print $1, $2, $3 }' |
		awk '$1 == "dep" { if (p != "") print p; p = $2 " " $3; next } { p = $2 " " $3 } END { if (p != "") print p }'
done | sort -u |
	while read -r path version; do
		# The module cache spells capitals as '!' and the lower case letter.
		dir=$modcache/$(printf '%s' "$path" | sed 's/[A-Z]/!\L&/g')@$version
		printf '\n%s\n%s %s\n\n' "$rule" "$path" "$version"
		license_of "$dir"
	done
