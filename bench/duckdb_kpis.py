#!/usr/bin/env python3
"""DuckDB's side of the benchmark: the same figures dossier computes from one NDJSON extract —
per-file reject counts, and per model requests, error rate, p50/p95/p99 latency (quantile_cont is
linear interpolation, as dossier's), days with records, longest gap, versions seen and the PSI of
the first vs last 30 days' scores — for Q3 2026.

    python3 bench/duckdb_kpis.py FILE.ndjson
"""

import json
import sys

import duckdb

START, END = "2026-07-01 00:00:00+00", "2026-10-01 00:00:00+00"


def main():
    path = sys.argv[1]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        CREATE TEMP TABLE raw AS
        SELECT * FROM read_ndjson('{path}', ignore_errors = true, columns = {{
            timestamp: 'VARCHAR', model: 'VARCHAR', version: 'VARCHAR',
            latency_ms: 'VARCHAR', status: 'VARCHAR', score: 'VARCHAR'}})""")
    con.execute("""
        CREATE TEMP TABLE classified AS
        SELECT model, version, status,
               try_cast(timestamp AS TIMESTAMPTZ) AS ts,
               try_cast(latency_ms AS DOUBLE) AS latency, try_cast(score AS DOUBLE) AS score,
               CASE WHEN timestamp IS NULL THEN 'no timestamp'
                    WHEN try_cast(timestamp AS TIMESTAMPTZ) IS NULL THEN 'unparseable timestamp'
                    WHEN model IS NULL OR model = '' THEN 'no model'
                    WHEN latency_ms IS NOT NULL AND try_cast(latency_ms AS DOUBLE) IS NULL THEN 'non-numeric latency'
                    WHEN score IS NOT NULL AND try_cast(score AS DOUBLE) IS NULL THEN 'non-numeric score'
               END AS reason
        FROM raw""")
    rejects = con.execute("SELECT reason, count(*) FROM classified WHERE reason IS NOT NULL GROUP BY 1").fetchall()
    con.execute(f"""
        CREATE TEMP TABLE acc AS SELECT * FROM classified
        WHERE reason IS NULL AND ts >= TIMESTAMPTZ '{START}' AND ts < TIMESTAMPTZ '{END}'""")
    per_model = con.execute("""
        SELECT model, count(*), count(status),
               count(*) FILTER (WHERE status IS NOT NULL AND status NOT IN ('200', 'ok', 'success', 'OK')),
               quantile_cont(latency, 0.5), quantile_cont(latency, 0.95), quantile_cont(latency, 0.99),
               avg(score), count(DISTINCT date_trunc('day', ts))
        FROM acc GROUP BY model ORDER BY model""").fetchall()
    gaps = con.execute(f"""
        SELECT model, greatest(max(gap), max(epoch_ns(TIMESTAMPTZ '{END}')) - max(epoch_ns(ts)),
                      min(epoch_ns(ts)) - epoch_ns(TIMESTAMPTZ '{START}')) / 3.6e12
        FROM (SELECT model, ts, epoch_ns(ts) - lag(epoch_ns(ts)) OVER (PARTITION BY model ORDER BY ts) AS gap FROM acc)
        GROUP BY model ORDER BY model""").fetchall()
    daily = con.execute("SELECT model, CAST(date_trunc('day', ts) AS VARCHAR) AS d, count(*) FROM acc GROUP BY 1, 2").fetchall()
    versions = con.execute("SELECT model, version, count(*) FROM acc GROUP BY 1, 2").fetchall()
    psi = con.execute(f"""
        WITH w AS (
            SELECT model, score, CASE WHEN ts < TIMESTAMPTZ '{START}' + INTERVAL 30 DAY THEN 0
                                      WHEN ts >= TIMESTAMPTZ '{END}' - INTERVAL 30 DAY THEN 1 END AS win
            FROM acc WHERE score IS NOT NULL),
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
        "daily_rows": len(daily),
        "version_rows": len(versions),
        "models": {
            m: {"requests": n, "error_rate": errors / with_status if with_status else None,
                "latency_p50_ms": p50, "latency_p95_ms": p95, "latency_p99_ms": p99,
                "logging_coverage": days / 92, "longest_gap_hours": gap.get(m),
                "score_psi": drift.get(m)}
            for m, n, with_status, errors, p50, p95, p99, _mean, days in per_model
        },
    }
    print(json.dumps(out, indent=1))

if __name__ == "__main__":
    main()
