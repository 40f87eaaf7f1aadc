#!/usr/bin/env python3
"""The sample logs' operational KPIs worked out with pandas and numpy, independently of dossier,
straight from SPEC §3.2 and §4. Writes expected.json, which tests/logs.rs compares with
`dossier kpis --format json`.

    python3 sample-evidence/logs/expected.py     (needs numpy, pandas, pyarrow)
"""

import json
import pathlib
import re

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
START = pd.Timestamp("2026-07-01T00:00:00Z")
END = pd.Timestamp("2026-10-01T00:00:00Z")  # exclusive: the instant after 2026-09-30
DAYS = 92
SUCCESS = {"200", "ok", "success", "OK"}
REGISTERED = {  # versions in sample-evidence/mlflow/mlflow.db
    m: {"1", "2"}
    for m in ["churn-predictor", "credit-risk-scorer", "fraud-detector", "income-verifier",
              "marketing-propensity", "pricing-optimizer", "triage-assistant"]
}
PRODUCTION = ["churn-predictor", "credit-risk-scorer", "fraud-detector", "marketing-propensity",
              "triage-assistant"]
OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def to_text(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v)


def json_records(path, get):
    rows, not_json = [], 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            not_json += 1
            continue
        rows.append(get(rec))
    return pd.DataFrame(rows, columns=["ts", "model", "version", "latency", "status", "score"]), not_json


def splunk(path):
    def get(rec):
        r = rec.get("result", {})
        return [r.get("_time"), r.get("model"), r.get("model_version"), r.get("latency_ms"),
                r.get("status"), r.get("score")]
    return json_records(path, get)


def elastic(path):
    def get(rec):
        s = rec.get("_source", {})
        return [s.get("@timestamp"), (s.get("model") or {}).get("name"),
                to_text((s.get("model") or {}).get("version")), to_text(s.get("latency_ms")),
                to_text((s.get("http") or {}).get("status_code")), to_text(s.get("score"))]
    return json_records(path, get)


def gateway(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df.rename(columns={"timestamp": "ts", "model_version": "version", "latency_ms": "latency"})
    df = df[["ts", "model", "version", "latency", "status", "score"]].replace("", None)
    return df, 0


def batch(path):
    df = pd.read_parquet(path)
    out = pd.DataFrame({
        "ts": df["ts"].astype("int64"),  # epoch milliseconds
        "model": df["model"], "version": df["version"].astype(str),
        "latency": df["latency_ms"].astype(str), "status": df["status"], "score": df["score"].astype(str),
    })
    return out, 0


def parse_ts(v):
    if v is None:
        return None
    if isinstance(v, (int, np.integer)):
        return pd.Timestamp(int(v), unit="ms", tz="UTC") if abs(v) >= 1e11 else pd.Timestamp(int(v), unit="s", tz="UTC")
    if not OFFSET.search(v):
        return pd.NaT
    try:
        return pd.Timestamp(v).tz_convert("UTC")
    except (ValueError, TypeError):
        return pd.NaT


def number(v):
    try:
        f = float(v)
        return f if np.isfinite(f) else None
    except (TypeError, ValueError):
        return None


def classify(df):
    """Adds `when`, `lat`, `sc` and `reason` (None if accepted)."""
    df = df.astype(object)
    df = df.where(df.notna(), None)
    df["when"] = [parse_ts(v) for v in df["ts"]]
    df["lat"] = [number(v) for v in df["latency"]]
    df["sc"] = [number(v) for v in df["score"]]
    reasons = []
    for r in df.itertuples():
        if r.ts is None:
            reasons.append("no timestamp")
        elif r.when is None or pd.isna(r.when):
            reasons.append("unparseable timestamp")
        elif r.model is None or r.model == "":
            reasons.append("no model")
        elif r.latency is not None and pd.isna(r.lat):
            reasons.append("non-numeric latency")
        elif r.score is not None and pd.isna(r.sc):
            reasons.append("non-numeric score")
        else:
            reasons.append(None)
    df["reason"] = reasons
    return df


def psi(scores_first, scores_last):
    if len(scores_first) < 100 or len(scores_last) < 100:
        return None
    edges = np.quantile(scores_first, [i / 10 for i in range(1, 10)])  # numpy default: linear
    first = np.bincount(np.searchsorted(edges, scores_first, side="left"), minlength=10) / len(scores_first)
    last = np.bincount(np.searchsorted(edges, scores_last, side="left"), minlength=10) / len(scores_last)
    first, last = np.maximum(first, 1e-4), np.maximum(last, 1e-4)
    return float(np.sum((last - first) * np.log(last / first)))


def main():
    sources = [
        (p, splunk) for p in sorted((HERE / "splunk").glob("credit-risk-scorer-*.json"))
    ] + [(HERE / "elastic/fraud-detector.ndjson", elastic), (HERE / "gateway/requests.csv", gateway),
         (HERE / "batch/marketing-propensity.parquet", batch)]
    frames, rejected, files = [], [], []
    for path, reader in sources:
        df, not_json = reader(path)
        df = classify(df)
        rel = str(path.relative_to(HERE.parent))
        if not_json:
            rejected.append({"source": rel, "reason": "not JSON", "count": not_json})
        for reason, n in df["reason"].value_counts().sort_index().items():
            rejected.append({"source": rel, "reason": reason, "count": int(n)})
        ok = df[df["reason"].isna()]
        inside = ok[(ok["when"] >= START) & (ok["when"] < END)]
        files.append({"source": rel, "records": len(df) + not_json, "accepted": len(inside),
                      "outside_period": len(ok) - len(inside), "rejected": int(df["reason"].notna().sum()) + not_json,
                      "models": {str(m): int(n) for m, n in inside["model"].value_counts().sort_index().items()}})
        frames.append(inside)
    recs = pd.concat(frames)
    models = {}
    for name in PRODUCTION:
        m = recs[recs["model"] == name]
        when = m["when"].sort_values()
        with_status = m["status"].notna().sum()
        errors = (m["status"].notna() & ~m["status"].isin(SUCCESS)).sum()
        lat = m["lat"].dropna().to_numpy()
        bounds = [START] + list(when) + [END]
        gap = max((b - a).total_seconds() for a, b in zip(bounds, bounds[1:])) / 3600
        days = m["when"].dt.floor("D").nunique()
        first = m[m["when"] < START + pd.Timedelta(days=30)]["sc"].dropna().to_numpy()
        last = m[m["when"] >= END - pd.Timedelta(days=30)]["sc"].dropna().to_numpy()
        models[name] = {
            "requests": int(len(m)),
            "error_rate": float(errors / with_status) if with_status else None,
            "latency_p50_ms": float(np.quantile(lat, 0.5)) if len(lat) else None,
            "latency_p95_ms": float(np.quantile(lat, 0.95)) if len(lat) else None,
            "latency_p99_ms": float(np.quantile(lat, 0.99)) if len(lat) else None,
            "logging_coverage": days / DAYS,
            "longest_gap_hours": gap,
            "unregistered_versions": sorted(set(m["version"].dropna()) - REGISTERED[name]),
            "score_psi": psi(first, last),
        }
    unknown = recs[~recs["model"].isin(REGISTERED)]["model"].value_counts().sort_index()
    out = {
        "models": models,
        "unknown_models_in_logs": [{"model": k, "records": int(v)} for k, v in unknown.items()],
        "rejected": rejected,
        "files": files,
    }
    (HERE / "expected.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
