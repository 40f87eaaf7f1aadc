"""Inference logs for the Spark equality test (issue 22): a hive-partitioned Parquet folder
(`day=YYYY-MM-DD/part-0.parquet`) of N records over 2026-06-25..2026-10-04 (records outside the
2026-07-01..2026-09-30 period at both ends), several models (two of the sample's registered ones,
one unknown), and rejects of every reason a typed Parquet file can hold: no timestamp, no model
(missing or empty), non-numeric latency (NaN, inf) and non-numeric score (NaN, -inf); an epoch-ms column `ts_ms`
with unreadable times too. Seeded, so
every run writes the same records.

    python spark_logs.py N FOLDER
"""
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

n, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(22)
start = np.datetime64("2026-06-25T00:00:00", "us")
ts = start + rng.integers(0, 101 * 86400 * 10**6, n).astype("timedelta64[us]")
models = np.array(["fraud-detector", "triage-assistant", "credit-risk-scorer", "shadow-model"], dtype=object)
model = models[rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])]
latency = rng.gamma(2.0, 40.0, n)
score = rng.beta(2, 5, n)
status = np.array(["200", "500", "404", "ok", None], dtype=object)[rng.choice(5, n, p=[0.85, 0.05, 0.03, 0.02, 0.05])]
version = np.array(["1", "2", "3", None], dtype=object)[rng.choice(4, n, p=[0.3, 0.3, 0.3, 0.1])]
pick = rng.random(n)
ts_valid = pick >= 0.002                      # no timestamp
model[(pick >= 0.002) & (pick < 0.004)] = None  # no model
model[(pick >= 0.004) & (pick < 0.005)] = ""    # no model (empty)
latency[(pick >= 0.005) & (pick < 0.006)] = np.nan
latency[(pick >= 0.006) & (pick < 0.007)] = np.inf
latency_mask = (pick >= 0.007) & (pick < 0.02)  # latency absent: accepted, no quantile
score[(pick >= 0.02) & (pick < 0.021)] = np.nan
score[(pick >= 0.021) & (pick < 0.022)] = -np.inf
score_mask = (pick >= 0.022) & (pick < 0.05)    # score absent
# The same times as epoch milliseconds (int64, as Databricks inference tables keep them), for a
# second mapping: unreadable where |v| >= 9.2e15, and 5e10 (epoch seconds, the year 3554) past
# the nanosecond range, which saturates and so falls outside the period.
ts_ms = ts.astype("int64") // 1000
ts_ms[(pick >= 0.05) & (pick < 0.0505)] = 9_300_000_000_000_000
ts_ms[(pick >= 0.0505) & (pick < 0.051)] = 50_000_000_000
table = pa.table(
    {
        "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC"), mask=~ts_valid),
        "ts_ms": pa.array(ts_ms, pa.int64(), mask=~ts_valid),
        "model": pa.array(model, pa.string()),
        "version": pa.array(version, pa.string()),
        "latency_ms": pa.array(latency, pa.float64(), mask=latency_mask),
        "status": pa.array(status, pa.string()),
        "score": pa.array(score, pa.float64(), mask=score_mask),
    }
)
day = np.datetime_as_string(ts, unit="D")
day[~ts_valid] = "2026-07-15"  # a record without a time still lies in some partition
for d in np.unique(day):
    folder = os.path.join(out, f"day={d}")
    os.makedirs(folder, exist_ok=True)
    pq.write_table(table.filter(pa.array(day == d)), os.path.join(folder, "part-0.parquet"))
