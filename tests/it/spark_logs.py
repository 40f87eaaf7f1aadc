"""Inference logs for the Spark equality test (issue 22): a hive-partitioned Parquet folder
(`day=YYYY-MM-DD/part-0.parquet`) of N records over 2026-06-25..2026-10-04 (records outside the
2026-07-01..2026-09-30 period at both ends), several models (two of the sample's registered ones,
one unknown), and rejects of every reason a typed Parquet file can hold: no timestamp, no model
(missing or empty), non-numeric latency (NaN, inf) and non-numeric score (NaN, -inf); an epoch-ms column `ts_ms`
with unreadable times too; and the same records as text (`ts_text`, `latency_text`, `score_text`:
times in every shape of the grammar, epoch digits, numbers written every way) with a corpus of
hard cases — period boundaries in offsets, leap seconds, fractions past nanoseconds, Unicode
whitespace, shapes chrono's strftime read and the grammar does not, Java-only number forms.
And the same records as a Databricks inference table keeps them (`request_metadata` map with
`model_name` and `model_version`, `status_code`, `execution_time_ms`). Seeded, so every run writes
the same records.

    python spark_logs.py N FOLDER [PREFIX]

PREFIX, if given, is put before every model name (a second source with models of its own).
"""
import datetime as dt
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

# Text times: each record's time in one of the grammar's shapes, the same instant or (offsets
# without a fraction) its second.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MINUS = "\u2212"


def zone(hours, minutes=0):
    return dt.timezone(dt.timedelta(hours=hours, minutes=minutes))


def shaped(us, k):
    t = EPOCH + dt.timedelta(microseconds=int(us))
    if k == 0:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if k == 1:
        return t.astimezone(zone(5, 30)).strftime("%Y-%m-%dt%H:%M:%S.%f+05:30")
    if k == 2:
        return t.astimezone(zone(-8)).strftime("%Y-%m-%d %H:%M:%S-0800")
    if k == 3:
        return t.astimezone(zone(-2)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123" + MINUS + "02:00"
    if k == 4:
        return f"{us // 10**6}.{us % 10**6:06d}"
    if k == 5:
        return str(us // 1000)
    if k == 6:
        return "\u3000 " + t.strftime("%Y-%m-%dT%H:%M:%Sz") + "\n"
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "999999Z"


TIMES = [
    # Around the period's end (2026-10-01T00:00:00Z, 1790812800) and start (1782864000).
    "2026-09-30T23:59:59.9999999999Z", "2026-10-01T01:59:59.999999999+02:00",
    "2026-10-01T02:00:00+0200", "2026-09-30T23:59:60Z", "2026-06-30T23:59:60Z",
    "2026-06-30T23:59:60.5Z", "2026-07-01T00:00:00" + MINUS + "00:01",
    "2026-07-01T00:00:00+00:01", "2026-06-30T19:00:00-05:00", "2026-06-30T18:59:59.999-0500",
    "1790812799.999999999", "1790812800", "1790812799999", "1790812799999.9999",
    "1782863999.9999999999", "1782864000", "00001782864000", "1782864000.",
    # Epoch digits far off, or too large.
    "-5", "0", "-0.5", "99999999999999999999", "9223372036854775807", "9223372036854775.807",
    # Not the shape: strftime's leniencies, bad fields, no zone, junk.
    "2026-7-1T1:2:3+0000", "2026-07-01T01:02:03 +0000", "2026-02-30T00:00:00Z",
    "2024-02-29T12:00:00Z", "2026-07-01T24:00:00Z", "2026-07-01T12:00:00+24:00",
    "2026-07-01T12:00:00+05:60", "2026-07-01T12:00:00", "2026-07-01T12:00:00.Z", "", "   ",
    "yesterday", "1e9", "--5", "-.5", ".5", "2026-07-01T12:00:00Zx", "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:60.999999999-23:59", "\u00a02026-08-01T00:00:00Z\u2029",
    " \u00852026-08-01T00:00:00Z", "2026-08-01T00:00:00Z\u0000", "\uff12026-08-01T00:00:00Z",
    "2026-08-01T00:00:00" + MINUS + MINUS + "00:00", "2026-08-01T00:00:00+05",
]
NUMBERS = [
    "12.5", " 12.5 ", "+3", ".5", "5.", "1E3", "1e-3", "-0", "1e400", "-1e400", "1e-400", "inf",
    "-inf", "NaN", "infinity", "", "  ", "12ms", "1d", "1f", "0x10", "1_000", "\u0661\u0662",
    "1,5", "\u20031.5\u3000", "00012", "1.7976931348623157e308", "1.7976931348623159e308",
    "123456789012345678901234567890", "4.9e-324", "0.1e+2",
]


def written(v, k):
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return [repr(float(v)), f"{v:.3e}", f" {v:.2f} ", f"{v:.17g}"][k]


us = ts.astype("int64")
shape = rng.integers(0, 8, n)
ts_text = np.array([shaped(u, k) for u, k in zip(us, shape)], dtype=object)
form = rng.integers(0, 4, n)
latency_text = np.array([written(v, k) for v, k in zip(latency, form)], dtype=object)
score_text = np.array([written(v, k) for v, k in zip(score, form)], dtype=object)
# The corpus on records that are otherwise fine: a time on some, a latency and a score on others.
clean = np.flatnonzero(pick >= 0.06)
ts_text[clean[: len(TIMES)]] = TIMES
for i, text in enumerate(NUMBERS):
    latency_text[clean[len(TIMES) + i]] = text
    score_text[clean[len(TIMES) + len(NUMBERS) + i]] = text

if len(sys.argv) > 3:
    model = np.array([m if not m else sys.argv[3] + m for m in model], dtype=object)

# As a Databricks inference table keeps them: the model's name and version in a map column
# (`request_metadata`), the status as an integer, the latency as whole milliseconds.
request_metadata = [
    [("endpoint_name", "serving")]
    + ([("model_name", m)] if m is not None else [])
    + ([("model_version", v)] if v is not None else [])
    for m, v in zip(model, version)
]
status_code = [int(s) if s is not None and s.isdigit() else None for s in status]
execution_time_ms = [None if masked or not np.isfinite(v) else int(v) for v, masked in zip(latency, latency_mask)]

table = pa.table(
    {
        "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC"), mask=~ts_valid),
        "ts_ms": pa.array(ts_ms, pa.int64(), mask=~ts_valid),
        "ts_text": pa.array(ts_text, pa.string(), mask=~ts_valid),
        "latency_text": pa.array(latency_text, pa.string(), mask=latency_mask),
        "score_text": pa.array(score_text, pa.string(), mask=score_mask),
        "request_metadata": pa.array(request_metadata, pa.map_(pa.string(), pa.string())),
        "status_code": pa.array(status_code, pa.int32()),
        "execution_time_ms": pa.array(execution_time_ms, pa.int64()),
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
