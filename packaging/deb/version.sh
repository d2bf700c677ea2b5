#!/bin/sh
# version.sh prints the Debian version of the tree it is in: a release tag
# vX.Y.Z gives X.Y.Z, and N commits after it X.Y.Z+N.gHASH; without a tag,
# 0.0~gitDATE.HASH (the commit's date, UTC). A tree with uncommitted
# changes gets +dirty. DEB_VERSION, when set, is printed instead.
set -eu

if [ -n "${DEB_VERSION:-}" ]; then
	echo "$DEB_VERSION"
	exit 0
fi
cd "$(dirname "$0")"
dirty=
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	dirty=+dirty
fi
if v=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
	# v1.2.3 or v1.2.3-4-gabcdef0
	echo "$v$dirty" | sed 's/^v//; s/-\([0-9]*\)-g\([0-9a-f]*\)/+\1.g\2/; s/-/~/g'
	exit 0
fi
hash=$(git rev-parse --short=7 HEAD)
date=$(TZ=UTC git log -1 --date=format-local:%Y%m%d --format=%cd HEAD)
echo "0.0~git$date.$hash$dirty"
