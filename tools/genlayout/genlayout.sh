#!/bin/sh
# genlayout.sh OUTDIR: builds tools/genlayout/genlayout.c against every installed CPython's
# own headers (pyenv versions 3.9-3.13 and the system's /usr/include/python3.X) and writes
# OUTDIR/py3_X.h. Two installs of one minor version must give the same layout (apart from
# the comment naming the patch release), else the script fails: ferret has one table per
# minor version. Run by `make layouts`; `make layouts-check` diffs against the committed ones.
set -eu
out=${1:?usage: genlayout.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=${PYENV_ROOT:-$HOME/.pyenv}
dirs=""
for d in "$root"/versions/3.*/include/python3.* /usr/include/python3.*; do
    [ -f "$d/Python.h" ] && [ -d "$d/internal" ] && dirs="$dirs $d"
done
[ -n "$dirs" ] || { echo "genlayout: no CPython headers with internal/ found" >&2; exit 1; }
for inc in $dirs; do
    minor=$(sed -n 's/^#define PY_MINOR_VERSION[[:space:]]*\([0-9]*\).*/\1/p' "$inc/patchlevel.h")
    case "$minor" in 9|10|11|12|13) ;; *) continue ;; esac
    tag=$(echo "$inc" | tr '/.' '__')
    "$cc" -std=c11 -w -I"$inc" -I"$inc/internal" -o "$tmp/gen$tag" "$here/genlayout.c"
    "$tmp/gen$tag" > "$tmp/out$tag"
    target="$tmp/py3_$minor.h"
    if [ -f "$target" ]; then
        if [ "$(tail -n +3 "$target" | md5sum)" != "$(tail -n +3 "$tmp/out$tag" | md5sum)" ]; then
            echo "genlayout: $inc gives a different 3.$minor layout than another install" >&2
            exit 1
        fi
        continue  # keep the first (pyenv) install's header comment
    fi
    cp "$tmp/out$tag" "$target"
    echo "genlayout: 3.$minor from $inc"
done
cp "$tmp"/py3_*.h "$out"/
