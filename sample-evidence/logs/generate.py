#!/usr/bin/env python3
"""Generate the sample's inference-log extracts, in the shapes the real systems export.

- splunk/credit-risk-scorer-*.json  Splunk search export (`| outputjson`-style: one
  {"preview":…,"offset":…,"result":{…}} per line, every value a string), split in two files.
- elastic/fraud-detector.ndjson     elasticdump output: {"_index","_type","_id","_score","_source"}
  with nested `model.name`, `model.version`, `http.status_code`; a five-day blackout in August.
- gateway/requests.csv              an API gateway's CSV export for churn-predictor and
  triage-assistant (and a shadow model nobody registered), with a few malformed rows.
- batch/marketing-propensity.parquet  nightly batch scoring, epoch-millisecond timestamps,
  weekdays only.

Deterministic (seeded); run from anywhere:  python3 sample-evidence/logs/generate.py
Needs pyarrow for the Parquet file.
"""

import csv
import datetime as dt
import json
import math
import pathlib
import random

import pyarrow as pa
import pyarrow.parquet as pq

HERE = pathlib.Path(__file__).resolve().parent
START = dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)
DAYS = 92  # 2026-07-01 .. 2026-09-30
rng = random.Random(20261001)


def latency(base):
    return round(base * math.exp(rng.gauss(0, 0.45)), 1)


def score(day, drift):
    """A risk score in [0, 1]; after day 62 the population shifts by `drift`."""
    shift = drift if day >= 62 else 0.0
    return round(min(1.0, max(0.0, rng.betavariate(2, 5) + shift)), 4)


def times(day, n):
    base = START + dt.timedelta(days=day)
    return sorted(base + dt.timedelta(seconds=rng.uniform(0, 86399.999)) for _ in range(n))


def iso(t, offset_hours=0, digits=3):
    tz = dt.timezone(dt.timedelta(hours=offset_hours))
    text = t.astimezone(tz).isoformat(timespec="microseconds")
    if digits == 3:
        text = text[:23] + text[26:]
    return text.replace("+00:00", "Z") if offset_hours == 0 and digits == 3 else text


def splunk():
    out = HERE / "splunk"
    out.mkdir(exist_ok=True)
    files = {"credit-risk-scorer-2026-07.json": [], "credit-risk-scorer-2026-08-09.json": []}
    # Ten records from June: outside the period, read and not counted.
    june = [START - dt.timedelta(hours=h + 1) for h in range(10)]
    for t in june:
        files["credit-risk-scorer-2026-07.json"].append((t, "2"))
    for day in range(DAYS):
        for t in times(day, 14):
            name = "credit-risk-scorer-2026-07.json" if t.month == 7 else "credit-risk-scorer-2026-08-09.json"
            # A canary of version 3, never registered, took traffic for three days in September.
            version = "3" if 70 <= day < 73 and rng.random() < 0.3 else "2"
            files[name].append((t, version))
    # The last millisecond of the period counts; the next midnight does not.
    files["credit-risk-scorer-2026-08-09.json"].append((dt.datetime(2026, 9, 30, 23, 59, 59, 999000, tzinfo=dt.timezone.utc), "2"))
    files["credit-risk-scorer-2026-08-09.json"].append((dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc), "2"))
    for name, rows in files.items():
        lines = []
        for i, (t, version) in enumerate(rows):
            day = (t - START).days
            status = "500" if rng.random() < 0.012 else ("429" if rng.random() < 0.005 else "200")
            result = {
                "_time": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+00:00",
                "host": "scoring-api-01",
                "source": "/var/log/scoring/inference.log",
                "sourcetype": "_json",
                "model": "credit-risk-scorer",
                "model_version": version,
                "latency_ms": str(latency(38)),
                "status": status,
                "score": str(score(day, 0.08)),
                "request_id": f"cr-{name[19:26]}-{i:06d}",
            }
            lines.append({"preview": False, "offset": i, "result": result})
        if name.endswith("07.json"):
            # Two broken records a real export carries: a timestamp Splunk could not render, and
            # an event without the model field.
            bad_time = dict(lines[100]["result"], _time="07/15/2026 10:00:00", request_id="cr-bad-time")
            no_model = {k: v for k, v in lines[101]["result"].items() if k != "model"}
            no_model["request_id"] = "cr-no-model"
            lines.insert(102, {"preview": False, "offset": 102, "result": bad_time})
            lines.insert(103, {"preview": False, "offset": 103, "result": no_model})
            for i, line in enumerate(lines):
                line["offset"] = i
        lines[-1]["lastrow"] = True
        with open(out / name, "w") as f:
            for line in lines:
                f.write(json.dumps(line, separators=(",", ":")) + "\n")


def elastic():
    out = HERE / "elastic"
    out.mkdir(exist_ok=True)
    lines = []
    n = 0
    for day in range(DAYS):
        if 40 <= day < 45:  # 2026-08-10 .. 2026-08-14: the log shipper was down
            continue
        for t in times(day, 12):
            n += 1
            source = {
                "@timestamp": iso(t),
                "model": {"name": "fraud-detector", "version": "2"},
                "latency_ms": latency(12),
                "http": {"status_code": 200 if rng.random() > 0.004 else 503},
                "score": score(day, 0.02),
                "trace": {"id": f"{rng.getrandbits(64):016x}"},
            }
            if n % 997 == 0:
                source["latency_ms"] = "timeout"  # a non-numeric latency
            lines.append(json.dumps({
                "_index": f"inference-{t:%Y.%m}",
                "_type": "_doc",
                "_id": f"fd-{n:07d}",
                "_score": 1,
                "_source": source,
            }, separators=(",", ":")))
    # A line the shipper cut short when its disk filled up.
    lines.insert(500, lines[500][: len(lines[500]) // 2])
    (out / "fraud-detector.ndjson").write_text("\n".join(lines) + "\n")


def gateway():
    out = HERE / "gateway"
    out.mkdir(exist_ok=True)
    rows = []
    for day in range(DAYS):
        for t in times(day, 10):
            rows.append([iso(t, 2), "churn-predictor", "2", str(latency(55)),
                         "ok" if rng.random() > 0.02 else "error", str(score(day, 0.0)), ""])
        for t in times(day, 6):
            # An LLM assistant: no score; its latency is seconds, logged in ms.
            rows.append([iso(t, -4), "triage-assistant", "2", str(latency(2400)),
                         "ok" if rng.random() > 0.03 else "error", "", ""])
        if day % 7 == 3:
            t = times(day, 1)[0]
            rows.append([iso(t, 0), "shadow-scorer", "1", str(latency(20)), "ok", "0.5", ""])
    rows.sort(key=lambda r: dt.datetime.fromisoformat(r[0]))
    for i, r in enumerate(rows):
        r[6] = f"gw-{i:06d}, eu-west"  # a quoted field with a comma
    # Malformed rows an export of a live system contains.
    rows.insert(50, ["2026-07-32T10:00:00+02:00", "churn-predictor", "2", "40.0", "ok", "0.3", "gw-bad-date"])
    rows.insert(80, ["2026-07-05T10:00:00+02:00", "", "2", "40.0", "ok", "0.3", "gw-no-model"])
    rows.insert(120, ["2026-07-07T10:00:00+02:00", "churn-predictor", "2", "40.0", "ok", "high", "gw-bad-score"])
    rows.insert(160, ["", "churn-predictor", "2", "40.0", "ok", "0.3", "gw-no-time"])
    with open(out / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "model", "model_version", "latency_ms", "status", "score", "request_id"])
        w.writerows(rows)


def batch():
    out = HERE / "batch"
    out.mkdir(exist_ok=True)
    ts, lat, sc = [], [], []
    for day in range(DAYS):
        t0 = START + dt.timedelta(days=day)
        if t0.weekday() >= 5:  # the batch runs on weekdays only
            continue
        for t in times(day, 8):
            ts.append(int(t.timestamp() * 1000))
            lat.append(latency(4))
            sc.append(score(day, 0.15))
    table = pa.table({
        "ts": pa.array(ts, pa.int64()),
        "model": pa.array(["marketing-propensity"] * len(ts)),
        "version": pa.array([2] * len(ts), pa.int64()),
        "latency_ms": pa.array(lat, pa.float64()),
        "status": pa.array(["success"] * len(ts)),
        "score": pa.array(sc, pa.float64()),
    })
    pq.write_table(table, out / "marketing-propensity.parquet", compression="zstd")


if __name__ == "__main__":
    splunk()
    elastic()
    gateway()
    batch()
