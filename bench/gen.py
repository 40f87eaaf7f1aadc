#!/usr/bin/env python3
"""Write N inference-log records as flat NDJSON (about 170 bytes a record) for the benchmark.

    python3 bench/gen.py N OUT.ndjson

Q3 2026, five registered production models of sample-evidence/ plus one unregistered model,
RFC 3339 timestamps with milliseconds, 1 % errors, records in the hour either side of the period,
and one malformed record in every 100,000 (no timestamp). Deterministic for a given N: records
are made in blocks of 250,000, each from its own seeded generator, on every core, and written in
order (100 M records, 16 GB, take a few minutes instead of hours).
"""

import multiprocessing
import os
import random
import sys

MODELS = ["credit-risk-scorer", "fraud-detector", "churn-predictor", "marketing-propensity",
          "triage-assistant", "shadow-scorer"]
WEIGHTS = [0.3, 0.3, 0.2, 0.1, 0.0999, 0.0001]
START = 1782864000  # 2026-07-01T00:00:00Z
SPAN = 92 * 86400
BLOCK = 250_000


def day_text(day):
    """Day `day` of the period (-1 is 2026-06-30, 92 is 2026-10-01) as YYYY-MM-DD."""
    month, dom = ((6, 30) if day < 0 else (7, day + 1) if day < 31 else (8, day - 30) if day < 62
                  else (9, day - 61) if day < 92 else (10, day - 91))
    return f"2026-{month:02d}-{dom:02d}"


DAYS = {d: day_text(d) for d in range(-1, 93)}


def block(args):
    """Records [first, last) of n as NDJSON bytes."""
    n, first, last = args
    rng = random.Random(7_000_003 * (first // BLOCK + 1))
    models = rng.choices(MODELS, WEIGHTS, k=last - first)
    lognorm, beta, rand, rint = rng.lognormvariate, rng.betavariate, rng.random, rng.randrange
    out = []
    for i, m in zip(range(first, last), models):
        if i % 100_000 == 99_999:
            out.append(f'{{"model":"{m}","version":"2","latency_ms":1.0,"status":"200"}}\n')
            continue
        t = START - 3600 + (i * (SPAN + 7200)) // n  # ordered, an hour either side of the period
        day, rest = divmod(t - START, 86400)
        hours, rest = divmod(rest, 3600)
        mins, sec = divmod(rest, 60)
        status = "500" if rand() < 0.01 else "200"
        out.append(
            f'{{"timestamp":"{DAYS[day]}T{hours:02d}:{mins:02d}:{sec:02d}.{rint(1000):03d}Z",'
            f'"model":"{m}","version":"2","latency_ms":{lognorm(3.5, 0.5):.2f},'
            f'"status":"{status}","score":{beta(2, 5):.4f},"request_id":"req-{i:010d}"}}\n'
        )
    return "".join(out).encode()


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    blocks = [(n, b, min(b + BLOCK, n)) for b in range(0, n, BLOCK)]
    with open(out, "wb") as f, multiprocessing.Pool(os.cpu_count()) as pool:
        for data in pool.imap(block, blocks):
            f.write(data)


if __name__ == "__main__":
    main()
