#!/bin/sh
# build.sh OUTDIR builds the gokeepalived Debian package with
# dpkg-buildpackage and debhelper, and prints the path of the .deb.
#
# The packaging is debian/ beside this script. It is copied into
# OUTDIR/gokeepalived-VERSION with a changelog for VERSION (version.sh),
# and dpkg-buildpackage runs there, building the daemon from this source
# tree with the go command ($GO, or go): the source tree itself is left as
# it is, and everything the build makes is under OUTDIR.
#
# Environment: GO, DEB_VERSION (see version.sh), DEB_MAINTAINER (the
# changelog's "Name <address>"; default: the Maintainer of debian/control).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
go=${GO:-go}
go=$(command -v "$go") || { echo "build.sh: no go command (GO=${GO:-go})" >&2; exit 1; }

version=$("$here/version.sh")
maint=${DEB_MAINTAINER:-$(sed -n 's/^Maintainer: //p' "$here/debian/control")}
# The changelog's date is the commit's, so that the same commit gives the
# same package (dpkg takes SOURCE_DATE_EPOCH from it).
when=$(LC_ALL=C date -R -u -d "@$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)")

src=$out/gokeepalived-$version
rm -rf "$src"
mkdir -p "$src"
cp -R "$here/debian" "$src/debian"
cat >"$src/debian/changelog" <<CHANGES
gokeepalived ($version) unstable; urgency=medium

  * Built from $(git -C "$top" rev-parse HEAD 2>/dev/null || echo "a source tree without git").

 -- $maint  $when
CHANGES
rm -f "$out"/gokeepalived_"$version"_*

# -b: the binary package only; the source tree is not a Debian source
# package. Rules-Requires-Root is no: no fakeroot needed.
(cd "$src" && GOKEEPALIVED_SRC=$top GO=$go dpkg-buildpackage -b -us -uc) >&2
deb=$(ls "$out"/gokeepalived_"$version"_*.deb)
echo "$deb"
