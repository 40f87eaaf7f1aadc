#!/usr/bin/env bash
# The SPEC §8 log benchmark (issue 20): dossier vs DuckDB on the same NDJSON extract, same machine.
#
#   bench/run.sh [N]        N records, default 10,000,000 (about 1.6 GB); 100000000 is 16 GB
#   bench/run.sh table      1 M, 10 M, 30 M and 100 M records, one row each
#
# Builds dossier (release), makes a Python venv with DuckDB under bench/.venv if needed, writes
# the extract to bench/data/ (kept between runs; delete it to regenerate), runs each side once
# unmeasured (page cache warm for both), then RUNS times (default 3) alternating, each under
# /usr/bin/time -v. Prints the median wall time and peak RSS of each, the ratio, whether the two
# agree on every per-model figure (1e-9 relative) and on the reject counts, and the median of a
# regulator-request `build` for one system (`fraud-detector`, 30 % of the records) over the same
# extract (BUILD=0 leaves it out). RUNS=1 for a quick look.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
data="$here/data"
RUNS=${RUNS:-3}
BUILD=${BUILD:-1}
mkdir -p "$data"

if [ "${1:-}" = table ]; then
    for n in 1000000 10000000 30000000 100000000; do
        "$0" "$n"
        echo
    done
    exit 0
fi
N=${1:-10000000}

. "$here/lib.sh"
py=$(duckdb_python "$here")

(cd "$repo" && cargo build --release --locked -q)
target=${CARGO_TARGET_DIR:-$repo/target}
dossier="$target/release/dossier"

extract="$data/requests-$N.ndjson"
if [ ! -s "$extract" ]; then
    echo "writing $N records to $extract" >&2
    python3 "$here/gen.py" "$N" "$extract.tmp" && mv "$extract.tmp" "$extract"
fi
config="$data/dossier-$N.yaml"
{ config_head "$repo"; cat <<YAML
  logs:
    - path: $extract
      format: ndjson
YAML
} > "$config"

kpis=("$dossier" kpis -c "$config" --format json)
duck=("$py" "$here/duckdb_kpis.py" "$extract")
build=("$dossier" build -c "$config" --system fraud-detector --request-id BENCH --unsigned --force
       --quiet -o "$data/dist-$N")
rm -f "$data"/{dossier,duckdb,build}.runs
"${kpis[@]}" > /dev/null 2>&1
"${duck[@]}" > /dev/null
for _ in $(seq "$RUNS"); do
    measure "$data" dossier "${kpis[@]}"
    measure "$data" duckdb "${duck[@]}"
    [ "$BUILD" = 0 ] || measure "$data" build "${build[@]}"
done
[ "$BUILD" != 0 ] || echo "0 0" > "$data/build.runs"

"$py" - "$data/dossier.out" "$data/duckdb.out" "$N" "$(stat -c %s "$extract")" "$RUNS" \
    "$(median "$data/dossier.runs" 1)" "$(median "$data/dossier.runs" 2)" \
    "$(median "$data/duckdb.runs" 1)" "$(median "$data/duckdb.runs" 2)" \
    "$(median "$data/build.runs" 1)" "$(median "$data/build.runs" 2)" <<'PY'
import json, sys
d_path, q_path, n, size, runs, d_wall, d_rss, q_wall, q_rss, b_wall, b_rss = sys.argv[1:]
d, q = json.load(open(d_path)), json.load(open(q_path))
models = {m["name"]: m for m in d["models"]}
unknown = {u["model"]: u["records"] for u in d["unknown_models_in_logs"]}
bad = []
for name, want in q["models"].items():
    got = models.get(name)
    if got is None:
        if unknown.get(name) != want["requests"]:
            bad.append(f"{name}: requests {unknown.get(name)} vs {want['requests']}")
        continue
    for k, v in want.items():
        g = got.get(k)
        if (g is None) != (v is None) or (v is not None and abs(g - v) > 1e-9 * max(1.0, abs(v))):
            bad.append(f"{name}.{k}: dossier {g} vs duckdb {v}")
rejected = d["portfolio"]["rejected_log_records_count"]["value"]
if rejected != q["rejected"]:
    bad.append(f"rejected: {rejected} vs {q['rejected']}")
by_reason = {}
for r in d["rejected"]:
    by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + r["count"]
if by_reason != q["rejected_by_reason"]:
    bad.append(f"rejected by reason: {by_reason} vs {q['rejected_by_reason']}")
gib = lambda kib: int(kib) / 1048576
d_wall, q_wall, b_wall = float(d_wall), float(q_wall), float(b_wall)
print(f"records          {int(n):,} ({int(size) / 1e9:.2f} GB NDJSON), medians of {runs} runs")
print(f"dossier kpis     {d_wall:.2f} s wall, peak RSS {gib(d_rss):.2f} GiB")
print(f"duckdb           {q_wall:.2f} s wall, peak RSS {gib(q_rss):.2f} GiB")
print(f"ratio            {d_wall / q_wall:.2f}x DuckDB (targets: 0.5x and 1 GiB at 10 M; 60 s and 4 GiB at 100 M)")
if b_wall:
    print(f"dossier build    {b_wall:.2f} s wall, peak RSS {gib(b_rss):.2f} GiB (--system fraud-detector, unsigned)")
print("figures agree    " + ("yes, and the reject counts by reason" if not bad else "NO\n  " + "\n  ".join(bad)))
PY
