#!/usr/bin/env python3
"""DuckDB's side of the benchmark: the same figures dossier computes from one NDJSON extract —
per-file reject counts, and per model requests, error rate, p50/p95/p99 latency (quantile_cont is
linear interpolation, as dossier's), days with records, longest gap, versions seen, daily counts
and the PSI of the first vs last 30 days' scores — for Q3 2026.

    python3 bench/duckdb_kpis.py FILE.ndjson

Written the way a DuckDB user would for speed: the file is read once, typed and classified in the
same pass, into one table of only the columns the figures need (the rejects are counted from it,
the accepted records are its rows without a reason inside the period); every figure is then an
aggregate over that table. Fields are read as text so that a value of the wrong type is counted
as a reject by reason, as dossier does, instead of failing the read.
"""

import json
import sys

import duckdb

START, END = "2026-07-01 00:00:00+00", "2026-10-01 00:00:00+00"
SUCCESS = "('200', 'ok', 'success', 'OK')"


def main():
    path = sys.argv[1]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"""
        CREATE TEMP TABLE t AS
        WITH raw AS (
            SELECT timestamp, model, version, status,
                   try_cast(timestamp AS TIMESTAMPTZ) AS ts,
                   try_cast(latency_ms AS DOUBLE) AS latency, latency_ms IS NOT NULL AS has_latency,
                   try_cast(score AS DOUBLE) AS score, score IS NOT NULL AS has_score
            FROM read_ndjson('{path}', ignore_errors = true, columns = {{
                timestamp: 'VARCHAR', model: 'VARCHAR', version: 'VARCHAR',
                latency_ms: 'VARCHAR', status: 'VARCHAR', score: 'VARCHAR'}}))
        SELECT CASE WHEN timestamp IS NULL THEN 'no timestamp'
                    WHEN ts IS NULL THEN 'unparseable timestamp'
                    WHEN model IS NULL OR model = '' THEN 'no model'
                    WHEN has_latency AND latency IS NULL THEN 'non-numeric latency'
                    WHEN has_score AND score IS NULL THEN 'non-numeric score'
               END AS reason,
               model, version, status IS NOT NULL AS has_status,
               status IS NOT NULL AND status NOT IN {SUCCESS} AS is_error,
               epoch_ns(ts) AS ns, latency, score
        FROM raw""")
    rejects = con.execute("SELECT reason, count(*) FROM t WHERE reason IS NOT NULL GROUP BY 1").fetchall()
    acc = f"""(SELECT * FROM t WHERE reason IS NULL
                 AND ns >= epoch_ns(TIMESTAMPTZ '{START}') AND ns < epoch_ns(TIMESTAMPTZ '{END}'))"""
    per_model = con.execute(f"""
        SELECT model, count(*), count(*) FILTER (has_status), count(*) FILTER (is_error),
               quantile_cont(latency, [0.5, 0.95, 0.99]), avg(score),
               count(DISTINCT ns // 86400000000000)
        FROM {acc} GROUP BY model ORDER BY model""").fetchall()
    gaps = con.execute(f"""
        SELECT model, greatest(max(gap), epoch_ns(TIMESTAMPTZ '{END}') - max(ns),
                      min(ns) - epoch_ns(TIMESTAMPTZ '{START}')) / 3.6e12
        FROM (SELECT model, ns, ns - lag(ns) OVER (PARTITION BY model ORDER BY ns) AS gap FROM {acc})
        GROUP BY model ORDER BY model""").fetchall()
    daily = con.execute(f"SELECT model, ns // 86400000000000 AS d, count(*) FROM {acc} GROUP BY 1, 2").fetchall()
    versions = con.execute(f"SELECT model, version, count(*) FROM {acc} GROUP BY 1, 2").fetchall()
    psi = con.execute(f"""
        WITH w AS (
            SELECT model, score, CASE WHEN ns < epoch_ns(TIMESTAMPTZ '{START}' + INTERVAL 30 DAY) THEN 0
                                      WHEN ns >= epoch_ns(TIMESTAMPTZ '{END}' - INTERVAL 30 DAY) THEN 1 END AS win
            FROM {acc} WHERE score IS NOT NULL),
        edges AS (
            SELECT model, quantile_cont(score, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) AS q
            FROM w WHERE win = 0 GROUP BY model),
        binned AS (
            SELECT w.model, win, len(list_filter(q, lambda e: e < score)) AS bin
            FROM w JOIN edges USING (model) WHERE win IS NOT NULL),
        counts AS (SELECT model, win, bin, count(*) AS n FROM binned GROUP BY ALL),
        totals AS (SELECT model, win, sum(n) AS total FROM counts GROUP BY ALL),
        shares AS (
            SELECT c.model, c.win, c.bin, greatest(c.n / t.total, 1e-4) AS share
            FROM counts c JOIN totals t USING (model, win))
        SELECT f.model, sum((coalesce(l.share, 1e-4) - f.share) * ln(coalesce(l.share, 1e-4) / f.share))
        FROM shares f LEFT JOIN shares l ON l.model = f.model AND l.bin = f.bin AND l.win = 1
        WHERE f.win = 0 AND f.model IN (
            SELECT model FROM totals GROUP BY model HAVING count(*) = 2 AND min(total) >= 100)
        GROUP BY f.model ORDER BY f.model""").fetchall()
    gap = dict(gaps)
    drift = dict(psi)
    out = {
        "rejected": sum(n for _, n in rejects),
        "rejected_by_reason": {reason: n for reason, n in rejects},
        "daily_rows": len(daily),
        "version_rows": len(versions),
        "models": {
            m: {"requests": n, "error_rate": errors / with_status if with_status else None,
                "latency_p50_ms": q[0], "latency_p95_ms": q[1], "latency_p99_ms": q[2],
                "logging_coverage": days / 92, "longest_gap_hours": gap.get(m),
                "score_psi": drift.get(m)}
            for m, n, with_status, errors, q, _mean, days in per_model
        },
    }
    print(json.dumps(out, indent=1))

if __name__ == "__main__":
    main()
