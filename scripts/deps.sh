#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs to build, test and run.
# The one list of system dependencies; run as root. Quiet and idempotent:
# apt is only asked when a package is missing.
# libsodium hashes operators' passwords (argon2id, wcs/core/password.c).
# cairo, pango and libzint draw the documents (bag labels, wcs/render/);
# DejaVu has the Cyrillic; poppler-utils (pdftoppm, pdftotext) lets the tests
# read them back, python3-jsonschema checks the pre-advice export against its
# schema (docs/schemas/). libv4l2 turns any V4L2 camera's pixel format into
# grey frames (scanners/cam_v4l2.c).
# libsystemd: wcsd and the customs worker tell systemd when they are ready
# and feed its watchdog (common/service.c); prometheus brings promtool, which
# checks the alert rules in deploy/ (its server is not started here).
# libzxing-dev: zxing-cpp, the camera pipeline's second decoder beside ZBar
# (scanners/zxing.cpp, the project's only C++: g++ comes with build-essential).
# clang (clang-14) builds the libFuzzer harnesses; libclang-rt-14-dev holds
# the libFuzzer, ASan and UBSan runtimes it links (clang only recommends it,
# and recommends are not installed here).
set -euo pipefail
packages=(
    build-essential cmake pkg-config git
    libusb-1.0-0-dev libzbar-dev libv4l-dev libpq-dev libcurl4-openssl-dev
    libjansson-dev libuv1-dev libmicrohttpd-dev libyaml-dev libcsv-dev
    libcmocka-dev umockdev libumockdev-dev
    libpng-dev libjpeg62-turbo-dev zint libzxing-dev
    imagemagick zbar-tools openssl
    postgresql-15 postgresql-client-15 curl
    clang libclang-rt-14-dev
    libsodium-dev
    libcairo2-dev libpango1.0-dev libzint-dev fonts-dejavu-core poppler-utils python3-jsonschema
    libsystemd-dev prometheus
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a cluster of its own on port 5432; the project
# never uses it (tests and the demo run private clusters on unix sockets).
