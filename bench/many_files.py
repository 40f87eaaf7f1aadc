"""Many small log files (issue 15): N files of R records each, as hourly exports arrive, in NDJSON
or CSV, under bench/data/many-<format>-<N>x<R>/. Five registered models of the sample registry,
one record a minute from 2026-07-01, 1 % errors. Usage: python3 bench/many_files.py ndjson 10000 100"""
import os
import sys
from datetime import datetime, timedelta, timezone

fmt, files, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
models = ["churn-predictor", "credit-risk-scorer", "fraud-detector", "marketing-propensity",
          "triage-assistant"]
out = os.path.join(os.path.dirname(__file__), "data", f"many-{fmt}-{files}x{per}")
os.makedirs(out, exist_ok=True)
start = datetime(2026, 7, 1, tzinfo=timezone.utc)
n = 0
for f in range(files):
    rows = []
    for r in range(per):
        t = (start + timedelta(minutes=n % (92 * 24 * 60))).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        m = models[n % 5]
        status = "500" if n % 100 == 0 else "200"
        lat = 10 + (n * 7919) % 200
        rows.append((t, m, "2", lat, status, ((n * 104729) % 1000) / 1000))
        n += 1
    path = os.path.join(out, f"part-{f:05d}.{'ndjson' if fmt == 'ndjson' else 'csv'}")
    with open(path, "w") as fh:
        if fmt == "csv":
            fh.write("timestamp,model,version,latency_ms,status,score\n")
            for t, m, v, lat, s, sc in rows:
                fh.write(f"{t},{m},{v},{lat},{s},{sc}\n")
        else:
            for t, m, v, lat, s, sc in rows:
                fh.write('{"timestamp":"%s","model":"%s","version":"%s","latency_ms":%d,'
                         '"status":"%s","score":%s}\n' % (t, m, v, lat, s, sc))
print(out)
