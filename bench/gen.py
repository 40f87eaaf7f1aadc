#!/usr/bin/env python3
"""Write N inference-log records as flat NDJSON (about 170 bytes a record) for the benchmark.

    python3 bench/gen.py N OUT.ndjson

Q3 2026, five registered production models of sample-evidence/ plus one unregistered model,
RFC 3339 timestamps with milliseconds, 1 % errors, a few hundred records outside the period,
and one malformed record in every 100,000 (no timestamp). Deterministic for a given N.
"""

import random
import sys

MODELS = ["credit-risk-scorer", "fraud-detector", "churn-predictor", "marketing-propensity",
          "triage-assistant", "shadow-scorer"]
WEIGHTS = [0.3, 0.3, 0.2, 0.1, 0.0999, 0.0001]
START = 1782864000  # 2026-07-01T00:00:00Z
SPAN = 92 * 86400


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(7)
    models = rng.choices(range(len(MODELS)), WEIGHTS, k=min(n, 1_000_000))
    with open(out, "w", buffering=1 << 22) as f:
        buf = []
        for i in range(n):
            t = START - 3600 + (i * (SPAN + 7200)) // n  # ordered, an hour either side of the period
            ms = rng.randrange(1000)
            sec = t % 60
            mins = (t // 60) % 60
            hours = (t // 3600) % 24
            day = t // 86400 - START // 86400
            month, dom = (6, 30) if day < 0 else (7, day + 1) if day < 31 else (8, day - 30) if day < 62 else (9, day - 61) if day < 92 else (10, day - 91)
            m = MODELS[models[i % len(models)]]
            status = "500" if rng.random() < 0.01 else "200"
            if i % 100_000 == 99_999:
                buf.append(f'{{"model":"{m}","version":"2","latency_ms":1.0,"status":"200"}}\n')
            else:
                buf.append(
                    f'{{"timestamp":"2026-{month:02d}-{dom:02d}T{hours:02d}:{mins:02d}:{sec:02d}.{ms:03d}Z",'
                    f'"model":"{m}","version":"2","latency_ms":{rng.lognormvariate(3.5, 0.5):.2f},'
                    f'"status":"{status}","score":{rng.betavariate(2, 5):.4f},"request_id":"req-{i:010d}"}}\n'
                )
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


if __name__ == "__main__":
    main()
