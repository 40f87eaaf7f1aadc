#!/usr/bin/env bash
# The SPEC §8 log benchmark: dossier vs DuckDB on the same NDJSON extract, same machine.
#
#   bench/run.sh [N]        N records, default 10,000,000 (about 1.6 GB)
#
# Builds dossier (release), makes a Python venv with DuckDB under bench/.venv if needed, writes
# the extract to bench/data/ (kept between runs; delete it to regenerate), then runs each side
# once to warm the page cache and once measured under /usr/bin/time -v. Prints both wall times,
# the ratio, dossier's peak RSS, and whether the two agree on every per-model figure.
set -euo pipefail
N=${1:-10000000}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
data="$here/data"
mkdir -p "$data"

if [ ! -x "$here/.venv/bin/python" ] || ! "$here/.venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q duckdb
fi
py="$here/.venv/bin/python"

(cd "$repo" && cargo build --release --locked -q)
target=${CARGO_TARGET_DIR:-$repo/target}
dossier="$target/release/dossier"

extract="$data/requests-$N.ndjson"
if [ ! -s "$extract" ]; then
    echo "writing $N records to $extract" >&2
    "$py" "$here/gen.py" "$N" "$extract.tmp" && mv "$extract.tmp" "$extract"
fi
config="$data/dossier.yaml"
cat > "$config" <<YAML
organization: Benchmark
report:
  period: { start: 2026-07-01, end: 2026-09-30 }
sources:
  mlflow:
    - path: $repo/sample-evidence/mlflow/mlflow.db
  logs:
    - path: $extract
      format: ndjson
YAML

measure() { # name, command...: prints "wall_seconds max_rss_kib"
    local name=$1; shift
    "$@" > "$data/$name.out" 2> /dev/null
    /usr/bin/time -v "$@" > "$data/$name.out" 2> "$data/$name.time"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1;i<=n;i++) s=s*60+p[i]; print s}' "$data/$name.time")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$data/$name.time")
    echo "$wall $rss"
}

read -r d_wall d_rss < <(measure dossier "$dossier" kpis -c "$config" --format json)
read -r q_wall q_rss < <(measure duckdb "$py" "$here/duckdb_kpis.py" "$extract")

"$py" - "$data/dossier.out" "$data/duckdb.out" "$N" "$(stat -c %s "$extract")" \
    "$d_wall" "$d_rss" "$q_wall" "$q_rss" <<'PY'
import json, sys
d_path, q_path, n, size, d_wall, d_rss, q_wall, q_rss = sys.argv[1:]
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
d_wall, q_wall = float(d_wall), float(q_wall)
print(f"records          {int(n):,} ({int(size) / 1e9:.2f} GB NDJSON)")
print(f"dossier kpis     {d_wall:.2f} s wall, peak RSS {int(d_rss) / 1048576:.2f} GiB")
print(f"duckdb           {q_wall:.2f} s wall, peak RSS {int(q_rss) / 1048576:.2f} GiB")
print(f"ratio            {d_wall / q_wall:.2f}x DuckDB (target 0.5x and 1 GiB at 10 M)")
print("figures agree    " + ("yes" if not bad else "NO\n  " + "\n  ".join(bad)))
PY
