#!/usr/bin/env bash
# Checks the include rules of docs/architecture.md on the source tree (a ctest
# entry, check-layers). The CMake targets already keep a layer from linking
# what it may not use; this catches a header included across a line, which a
# link would not notice. Prints every breach as FILE: includes HEADER (rule)
# and exits 1 when there is one.
#   check-layers.sh [SOURCE_DIR]
set -euo pipefail
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
bad=0

# includes FILE -> the project headers it includes, one a line
includes() { sed -n 's/^#include "\([a-z_]*\/[^"]*\)".*/\1/p' "$1"; }
breach() { echo "$1: includes $2 ($3)"; bad=1; }

sources() { find "$@" -name '*.[ch]' | sort; }

# Drivers never include the application; a sibling edge only where written down.
for f in $(sources scanners conveyor customs); do
    mod=${f%%/*}
    for h in $(includes "$f"); do
        case "$h" in
        common/* | "$mod"/*) ;;
        scanners/scanners.h)
            # The one sibling edge: the broker emulator checks S10 and INN check
            # digits with the project's one implementation.
            [[ "$f" == customs/brokersim/* ]] || breach "$f" "$h" "drivers do not include each other" ;;
        wcs/*) breach "$f" "$h" "drivers never include wcs/" ;;
        *) breach "$f" "$h" "drivers do not include each other" ;;
        esac
    done
done

# wcs/ layers: core < store < config < daemon, ctl, worker, tools.
rank() {
    case "$1" in
    wcs/core/*) echo 1 ;;
    wcs/store/*) echo 2 ;;
    wcs/config/* | wcs/render/*) echo 3 ;;
    wcs/daemon/* | wcs/ctl/* | wcs/worker/* | wcs/tools/*) echo 4 ;;
    *) echo 0 ;;
    esac
}
for f in $(sources wcs); do
    r=$(rank "$f")
    for h in $(includes "$f"); do
        [[ "$h" == wcs/* ]] || continue
        hr=$(rank "$h")
        if [ "$hr" -gt "$r" ] || { [ "$hr" -eq 4 ] && [ "${h%/*}" != "${f%/*}" ]; }; then
            breach "$f" "$h" "a layer includes only the layers below it"
        fi
    done
    # The pure core: no database, loop, HTTP or device library.
    if [ "$r" -eq 1 ]; then
        for lib in libpq-fe.h uv.h microhttpd.h curl/curl.h libusb.h yaml.h; do
            grep -q "^#include <$lib>" "$f" && breach "$f" "<$lib>" "the core is pure"
        done
        for h in $(includes "$f"); do
            case "$h" in
            conveyor/link.h | conveyor/station.h | scanners/usb.h | scanners/camera.h | customs/outbox.h)
                breach "$f" "$h" "the core uses only the pure parts of the drivers" ;;
            esac
        done
    fi
done

# No include cycle among the project's files (a .c and its .h count as one).
pairs=$(for f in $(sources common scanners conveyor customs wcs); do
    from=${f%.[ch]}
    for h in $(includes "$f"); do
        to=${h%.h}
        [ "$from" != "$to" ] && echo "$from $to"
    done
done)
if ! out=$(printf '%s\n' "$pairs" | tsort 2>&1 >/dev/null) || [ -n "$out" ]; then
    echo "include cycle:"
    printf '%s\n' "$out" | sed 's/^tsort: /  /'
    bad=1
fi

[ $bad -eq 0 ] && echo "check-layers: every include follows docs/architecture.md"
exit $bad
