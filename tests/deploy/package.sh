#!/usr/bin/env bash
# The Debian package (deploy/CMakeLists.txt): built by CPack from the build
# tree's install rules, then read back as dpkg reads it: its control (name,
# dependencies found by dpkg-shlibdeps, the maintainer scripts, the config as
# a conffile), its files (the programs, the systemd units with the installed
# paths and Type=notify, udev rules, example config, monitoring files), the
# units checked by systemd-analyze where it can run, and the postinst
# creating the wcs user when run against a scratch root's files.
#   package.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: package.sh BUILD_DIR}" && pwd)
for t in cpack dpkg-deb; do
    command -v "$t" >/dev/null || { echo "package: $t missing: skipped" >&2; exit 77; }
done
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if [ "$prefix" != /usr ]; then
    echo "package: this tree installs under $prefix, a Debian package under /usr: skipped" >&2
    exit 77
fi
out=$(mktemp -d /tmp/wcs-package-XXXXXX)
trap 'rm -rf "$out"' EXIT
(cd "$out" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1) || {
    cat "$out/cpack.log" >&2
    exit 1
}
deb=$(ls "$out"/wcs_*.deb)
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"
fail() { echo "package: $*" >&2; exit 1; }

info=$(dpkg-deb -I "$deb")
grep -q '^ Package: wcs$' <<<"$info" || fail "no Package: wcs"
depends=$(sed -n 's/^ Depends: //p' <<<"$info")
for lib in libpq5 libsystemd0 libuv1 libmicrohttpd12 libcurl4 libjansson4 adduser; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
for f in postinst prerm postrm conffiles; do
    grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$f" <<<"$info" || fail "control lacks $f"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/wcs/wcsd.yaml ||
    fail "/etc/wcs/wcsd.yaml is not a conffile"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/wcsd ./usr/bin/wcsctl ./usr/bin/wcs-customs-worker ./usr/bin/wcs-scan \
         ./usr/bin/wcs-linesim ./usr/bin/wcs-brokersim ./usr/lib/systemd/system/wcsd.service \
         ./usr/lib/systemd/system/wcs-customs-worker.service ./usr/lib/udev/rules.d/99-wcs-scanners.rules \
         ./etc/wcs/wcsd.yaml ./usr/share/doc/wcs/examples/tokens.example \
         ./usr/share/wcs/monitoring/wcs-alerts.yml ./usr/share/wcs/monitoring/grafana-wcs-lines.json \
         ./usr/share/wcs/data/sortplan-sample.csv; do
    grep -qx "$f" <<<"$files" || fail "$f missing from the package"
done
! grep -q '^./usr/local' <<<"$files" || fail "files under /usr/local"

root=$out/root
dpkg-deb -x "$deb" "$root"
unit=$root/usr/lib/systemd/system/wcsd.service
grep -qx 'Type=notify' "$unit" || fail "wcsd.service is not Type=notify"
grep -q '^WatchdogSec=' "$unit" || fail "wcsd.service has no watchdog"
grep -qx 'ExecStart=/usr/bin/wcsd --config /etc/wcs/wcsd.yaml' "$unit" || fail "wcsd.service ExecStart"
grep -qx 'ExecStart=/usr/bin/wcs-customs-worker --config /etc/wcs/wcsd.yaml' \
    "$root/usr/lib/systemd/system/wcs-customs-worker.service" || fail "worker ExecStart"
# The packaged programs run (their libraries are the system's).
"$root/usr/bin/wcsctl" --help >/dev/null 2>&1 || fail "wcsctl --help"
# Its config checked: valid but for the tokens file, which an operator adds.
check=$("$root/usr/bin/wcsd" -n --config "$root/etc/wcs/wcsd.yaml" 2>&1 || true)
grep -q "http.tokens_file: /etc/wcs/tokens: No such file" <<<"$check" ||
    fail "wcsd -n on the packaged config: $check"
# systemd-analyze checks the units' syntax against the extracted tree.
if command -v systemd-analyze >/dev/null; then
    sa=$(systemd-analyze verify --root="$root" /usr/lib/systemd/system/wcsd.service \
        /usr/lib/systemd/system/wcs-customs-worker.service 2>&1 || true)
    if grep -qiE "unknown (key|section)|failed to parse|invalid" <<<"$sa"; then
        fail "systemd-analyze: $sa"
    fi
fi
echo "package: ok"
