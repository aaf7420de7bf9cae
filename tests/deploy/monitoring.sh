#!/usr/bin/env bash
# The monitoring files in deploy/monitoring: the alert rules pass `promtool
# check rules` and their unit tests (`promtool test rules`: each alert fires
# on the series wcsd exposes, and only then); the Grafana dashboard is JSON
# whose panels all query; and every wcs_ metric the rules and the dashboard
# name is one wcsd exports (its /metrics is written in
# wcs/daemon/http_server.c and console.c).
#   monitoring.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: monitoring.sh SOURCE_DIR}
dir=$src/deploy/monitoring
if ! command -v promtool >/dev/null; then
    echo "monitoring: promtool missing (Debian package prometheus): skipped" >&2
    exit 77
fi
promtool check rules "$dir/wcs-alerts.yml"
(cd "$dir" && promtool test rules wcs-alerts.test.yml)
/usr/bin/python3 - "$dir/grafana-wcs-lines.json" "$dir/wcs-alerts.yml" \
    "$src/wcs/daemon/http_server.c" "$src/wcs/daemon/console.c" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
assert dash["panels"] and all(exprs), "a panel without a query"
for p in dash["panels"]:
    assert p.get("targets"), "panel %r has no query" % p.get("title")
text = "\n".join(exprs) + open(sys.argv[2]).read()
used = set(re.findall(r"\bwcs_[a-z_]+", text))
exported = set()
for f in sys.argv[3:]:
    exported |= set(re.findall(r"\b(wcs_[a-z_]+)(?:\" L|\{|\\\"|\" )", open(f).read()))
    exported |= set(re.findall(r"# TYPE (wcs_[a-z_]+)", open(f).read()))
    exported |= set(re.findall(r'"(wcs_alarm_active(?:_seconds)?)"', open(f).read()))
missing = sorted(used - exported)
if missing:
    sys.exit("monitoring: used but not exported by wcsd: " + ", ".join(missing))
print("monitoring: %d queries, %d wcs_ metrics used, all exported" % (len(exprs), len(used)))
PY
