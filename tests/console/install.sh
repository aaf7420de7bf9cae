#!/usr/bin/env bash
# Installs what the console's browser tests need on Debian 12, as root:
# Debian's Chromium (playwright-core drives it; it downloads no browser),
# Node.js and npm, a CJK font so the Chinese screenshots are legible, then
# playwright-core from package-lock.json. Quiet and idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=(chromium nodejs npm fonts-wqy-zenhei)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A Node.js from elsewhere (with its own npm) will do as well.
if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs/}")
    missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
    echo "console tests: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cd "$here"
if ! npm ls playwright-core >/dev/null 2>&1; then
    npm ci --no-audit --no-fund
fi
