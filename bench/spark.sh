#!/usr/bin/env bash
# Issue 22's benchmark: the log summary of N records (default 10,000,000) computed by Spark
# (`engine: spark`, local[2] on this machine, loopback only) beside the embedded engine, both
# reading the same hive-partitioned Parquet folder, which DuckDB makes once from bench/gen.py's
# NDJSON (timestamps as TIMESTAMPTZ, latency and score as DOUBLE; bench/data/parquet-N/, kept).
#
#   bench/spark.sh [N]      RUNS=3 by default; medians of alternating runs
#
# Prints the median wall time and peak RSS of each (Spark's: its JVM, the largest process of the
# run), and whether every figure of the two KPI documents agrees (1e-9 relative) and the records
# by code are equal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
data="$here/data"
RUNS=${RUNS:-3}
N=${1:-10000000}
mkdir -p "$data"
. "$here/lib.sh"

py=$(duckdb_python "$here")
SPARK_VENV=${DOSSIER_SPARK_VENV:-$HOME/.cache/dossier-spark}
if ! "$SPARK_VENV/bin/python" -c 'import pyspark' 2>/dev/null; then
    python3 -m venv "$SPARK_VENV"
    "$SPARK_VENV/bin/pip" install -q "pyspark==4.3.0" "pyarrow==26.0.1" "numpy==2.4.6"
fi

(cd "$repo" && cargo build --release --locked -q)
dossier="${CARGO_TARGET_DIR:-$repo/target}/release/dossier"

extract="$data/requests-$N.ndjson"
if [ ! -s "$extract" ]; then
    python3 "$here/gen.py" "$N" "$extract.tmp" && mv "$extract.tmp" "$extract"
fi
parquet="$data/parquet-$N"
if [ ! -d "$parquet" ]; then
    echo "writing $parquet (DuckDB)" >&2
    "$py" - "$extract" "$parquet.tmp" <<'PY'
import sys
import duckdb

src, out = sys.argv[1:]
con = duckdb.connect()
con.sql("SET TimeZone = 'UTC'")
con.sql(f"""
COPY (
  SELECT CAST(timestamp AS TIMESTAMPTZ) AS timestamp, model, version, latency_ms, status, score,
         strftime(CAST(timestamp AS TIMESTAMPTZ), '%Y-%m-%d') AS day
  FROM read_json('{src}', format = 'newline_delimited',
                 columns = {{timestamp: 'VARCHAR', model: 'VARCHAR', version: 'VARCHAR',
                             latency_ms: 'DOUBLE', status: 'VARCHAR', score: 'DOUBLE'}})
) TO '{out}' (FORMAT PARQUET, PARTITION_BY (day))
""")
PY
    mv "$parquet.tmp" "$parquet"
fi

config() { # name, logs yaml: a config in bench/data
    { config_head "$repo"; printf '  logs:\n%s\n' "$2"; } > "$data/spark-$1-$N.yaml"
    echo "$data/spark-$1-$N.yaml"
}
embedded=$(config embedded "    - path: $parquet/*/*.parquet
      format: parquet")
spark=$(config spark "    - path: $parquet
      engine: spark
      spark:
        master: \"local[2]\"
        conf: { spark.sql.catalogImplementation: in-memory, spark.driver.memory: 6g }")

export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$SPARK_VENV/bin/python3" PATH="$SPARK_VENV/bin:$PATH"
rm -f "$data"/{embedded,spark}.runs
for _ in $(seq "$RUNS"); do
    measure "$data" embedded "$dossier" kpis -c "$embedded" --format json
    measure "$data" spark "$dossier" kpis -c "$spark" --format json
done

"$py" - "$data/embedded.out" "$data/spark.out" "$N" "$(du -sb "$parquet" | cut -f1)" \
    "$(median "$data/embedded.runs" 1)" "$(median "$data/embedded.runs" 2)" \
    "$(median "$data/spark.runs" 1)" "$(median "$data/spark.runs" 2)" <<'PY'
import json, math, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
n, size, ew, er, sw, sr = sys.argv[3:]
diffs = []
def cmp(x, y, at):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in set(x) | set(y):
            if k in x and k in y:
                cmp(x[k], y[k], f"{at}/{k}")
            else:
                diffs.append(f"{at}/{k}: only in one")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            cmp(p, q, f"{at}[{i}]")
    elif isinstance(x, float) or isinstance(y, float):
        if x is None or y is None or not math.isclose(x, y, rel_tol=1e-9):
            diffs.append(f"{at}: {x} vs {y}")
    elif x != y:
        diffs.append(f"{at}: {x} vs {y}")
for k in a:
    if k not in ("log_files", "rejected"):
        cmp(a[k], b.get(k), k)
def codes(d):
    files = d["log_files"]
    return ({k: sum(f[k] for f in files) for k in ("records", "accepted", "outside_period", "rejected")},
            sorted((r["reason"], sum(x["count"] for x in d["rejected"] if x["reason"] == r["reason"]))
                   for r in d["rejected"]))
same_codes = codes(a) == codes(b)
gib = lambda kib: int(kib) / 2**20
print(f"records          {int(n):,} ({int(size) / 1e9:.2f} GB Parquet, {len(a['log_files'])} files)")
print(f"embedded kpis    {float(ew):.2f} s wall, peak RSS {gib(er):.2f} GiB")
print(f"spark kpis       {float(sw):.2f} s wall, peak RSS {gib(sr):.2f} GiB (local[2], start included)")
print(f"figures agree    {'yes' if not diffs else 'NO'}, records by code {'equal' if same_codes else 'DIFFER'}")
for d in diffs[:20]:
    print("  ", d)
PY
