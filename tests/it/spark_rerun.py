"""Reruns, as an auditor would, the `classified` statement a Spark-backed build recorded
(`data/evidence/logs/spark-summary-0.sql`) on a handful of text values whose meaning was worked
out by hand from the grammar (docs/decisions.md, "Timestamps"), and checks every value to the
nanosecond and every number exactly. The expected figures come from `date -u -d … +%s`, not from
dossier: 2026-07-01T00:00:00Z is 1782864000, 2026-08-01 1785542400, 2026-10-01 1790812800,
2024-02-29T12:00:00Z 1709208000.

    python spark_rerun.py SPARK-SUMMARY.sql
"""
import sys

from pyspark.sql import SparkSession

S, A, E = 1782864000, 1785542400, 1790812800
G = 10**9
MIN, MAX = -(2**63), 2**63 - 1
MINUS = "\u2212"
TIMES = [
    ("2026-09-30T23:59:59.9999999999Z", (E - 1) * G + 999999999),
    ("2026-10-01T01:59:59.999999999+02:00", (E - 1) * G + 999999999),
    ("2026-10-01T02:00:00+0200", E * G),
    ("2026-09-30T23:59:60Z", E * G),
    ("2026-06-30T23:59:60.5Z", S * G + G // 2),
    ("2026-07-01T00:00:00" + MINUS + "00:01", (S + 60) * G),
    ("2026-07-01t00:00:00+0001", (S - 60) * G),
    ("2026-06-30 18:59:59.999-0500", (S - 1) * G + 999000000),
    ("\u00a0 2026-08-01T00:00:00z\u2029", A * G),
    ("2024-02-29T12:00:00Z", 1709208000 * G),
    ("0000-01-01T00:00:00Z", MIN),
    ("9999-12-31T23:59:60.999999999-23:59", MAX),
    ("1790812799.999999999", (E - 1) * G + 999999999),
    ("1790812799999.9999", (E - 1) * G + 999999900),
    ("00001782864000", S * G),
    ("1782864000.", S * G),
    ("-0.5", -G // 2),
    ("99999999999999999999", None),
    ("9223372036854775807", None),
    ("2026-7-1T1:2:3+0000", None),
    ("2026-07-01T01:02:03 +0000", None),
    ("2023-02-29T00:00:00Z", None),
    ("2026-07-01T12:00:00+24:00", None),
    ("2026-07-01T12:00:00", None),
    ("2026-07-01T12:00:00.Z", None),
    ("2026-08-01T00:00:00Z\u0000", None),
    ("1e9", None),
    ("", None),
]
NUMBERS = [
    (" 12.5 ", 12.5),
    ("+3", 3.0),
    (".5", 0.5),
    ("5.", 5.0),
    ("1E3", 1000.0),
    ("0.1e+2", 10.0),
    ("\u20031.5\u3000", 1.5),
    ("1e-400", 0.0),
    ("4.9e-324", 5e-324),
    ("123456789012345678901234567890", 1.2345678901234568e29),
    ("1.7976931348623157e308", 1.7976931348623157e308),
    ("1.7976931348623159e308", None),
    ("1e400", None),
    ("NaN", None),
    ("infinity", None),
    ("1d", None),
    ("1f", None),
    ("0x10", None),
    ("\u0661\u0662", None),
    ("", None),
]

text = open(sys.argv[1], encoding="utf-8").read()
blocks = text.split("\n-- ")
classified = next(b for b in blocks if b.startswith("classified\n"))
statement = classified.split("\n", 1)[1].rstrip().rstrip(";")

spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.catalogImplementation", "in-memory")
    .getOrCreate()
)
rows = [(t, f"t{i}", "12", "1") for i, (t, _) in enumerate(TIMES)]
rows += [("2026-08-01T00:00:00Z", f"n{i}", t, t) for i, (t, _) in enumerate(NUMBERS)]
schema = "ts_text string, model string, latency_text string, score_text string, version string, status string"
spark.createDataFrame([r + (None, None) for r in rows], schema).createOrReplaceTempView("dossier_logs")
spark.sql(statement)
got = {r["model"]: r for r in spark.sql("SELECT model, ts_ns, latency, score, code FROM dossier_classified").collect()}
wrong = []
for i, (t, want) in enumerate(TIMES):
    r = got[f"t{i}"]
    if r["ts_ns"] != want:
        wrong.append(f"time {t!r}: {r['ts_ns']} (code {r['code']}), by hand {want}")
for i, (t, want) in enumerate(NUMBERS):
    r = got[f"n{i}"]
    ok = r["code"] == "non-numeric latency" if want is None else (r["latency"] == want and r["code"] == "accepted")
    if not ok:
        wrong.append(f"number {t!r}: {r['latency']} (code {r['code']}), by hand {want}")
spark.stop()
print(f"{len(TIMES)} times, {len(NUMBERS)} numbers; {len(wrong)} differ from the hand-worked values")
for w in wrong:
    print("  " + w)
sys.exit(1 if wrong else 0)
