#!/usr/bin/env bash
# Regenerates the committed sample pre-advice files from a build directory:
#   scripts/gen-sample-data.sh BUILD_DIR
#   data/preadvice-sample.csv    2000 parcels, seed 1
#   data/preadvice-sample.jsonl   300 parcels, seed 2
# The generator is deterministic, so an unchanged generator reproduces the
# committed files byte for byte (git diff shows nothing).
set -euo pipefail
build=${1:?usage: gen-sample-data.sh BUILD_DIR}
gen=$build/bin/wcs-gen-preadvice
data=$(cd "$(dirname "$0")/.." && pwd)/data
if [ ! -x "$gen" ]; then
    echo "gen-sample-data.sh: $gen not found; build the wcs-gen-preadvice target first" >&2
    exit 1
fi
mkdir -p "$data"
"$gen" --count 2000 --seed 1 --format csv --out "$data/preadvice-sample.csv"
"$gen" --count 300 --seed 2 --format jsonl --out "$data/preadvice-sample.jsonl"
echo "wrote $data/preadvice-sample.csv and $data/preadvice-sample.jsonl"
