//! Inference logs end to end: the real binary on the sample's extracts (checked against figures
//! pandas and numpy worked out in sample-evidence/logs/expected.py) and on small extracts written
//! here whose figures are worked out by hand in the comments.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

fn sample_doc() -> Value {
    let out = kpis_json(&repo().join("sample-evidence/dossier.yaml"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()
}

pub(crate) fn model<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no model {name}"))
}

fn close(a: &Value, b: &Value, what: &str) {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => assert!(
            (x - y).abs() <= 1e-9 * y.abs().max(1.0),
            "{what}: {x} vs {y}"
        ),
        _ => assert_eq!(a, b, "{what}"),
    }
}

#[test]
fn sample_figures_match_the_independent_pandas_computation() {
    let doc = sample_doc();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("sample-evidence/logs/expected.json")).unwrap(),
    )
    .unwrap();
    for (name, want) in expected["models"].as_object().unwrap() {
        let got = model(&doc, name);
        for (field, value) in want.as_object().unwrap() {
            close(&got[field], value, &format!("{name}.{field}"));
        }
    }
    assert_eq!(
        doc["unknown_models_in_logs"],
        expected["unknown_models_in_logs"]
    );
    // Rejects per file and reason: same set (dossier orders reasons by kind, pandas by name).
    let key = |r: &Value| {
        (
            r["source"]
                .as_str()
                .unwrap()
                .rsplit("logs/")
                .next()
                .unwrap()
                .to_string(),
            r["reason"].as_str().unwrap().to_string(),
            r["count"].as_u64().unwrap(),
        )
    };
    let mut got: Vec<_> = doc["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    let mut want: Vec<_> = expected["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for f in expected["files"].as_array().unwrap() {
        let name = f["source"].as_str().unwrap();
        let g = doc["log_files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not read"));
        for k in [
            "records",
            "accepted",
            "outside_period",
            "rejected",
            "models",
        ] {
            assert_eq!(g[k], f[k], "{name}.{k}");
        }
    }
}

#[test]
fn sample_portfolio_and_remediation_carry_the_log_findings() {
    let doc = sample_doc();
    // Coverage ≥ 95 %: churn, credit, triage (100 %); fraud 87/92, marketing 66/92 are under.
    let health = &doc["portfolio"]["logging_health"];
    assert_eq!(
        (health["numerator"].as_u64(), health["denominator"].as_u64()),
        (Some(3), Some(5))
    );
    assert_eq!(health["met"], false);
    // 1+1 (Splunk) + 1+1 (Elasticsearch) + 4 (CSV) = 8 rejected records.
    assert_eq!(doc["portfolio"]["rejected_log_records_count"]["value"], 8.0);
    let ids: Vec<&str> = doc["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "fraud-detector:logging_coverage",
        "marketing-propensity:logging_coverage",
        "credit-risk-scorer:unregistered_versions:3",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(!ids.contains(&"churn-predictor:logging_coverage"));
    // The daily series has one entry per day of the period, summing to the requests.
    let fraud = model(&doc, "fraud-detector");
    let daily: Vec<u64> = fraud["daily_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(daily.len(), 92);
    assert_eq!(
        daily.iter().sum::<u64>(),
        fraud["requests"].as_u64().unwrap()
    );
    assert_eq!(&daily[40..45], &[0, 0, 0, 0, 0], "the August blackout");
    // Baseline figures follow: requests per day = requests / 92.
    let base = &doc["baseline"]["models"]["fraud-detector"];
    close(
        &base["requests_per_day"],
        &Value::from(fraud["requests"].as_f64().unwrap() / 92.0),
        "requests_per_day",
    );
}

// ---- small extracts, figures by hand -------------------------------------------------------

/// A scratch folder with a copy of the sample registry and a config reading `logs` (YAML list
/// items under `sources.logs`) over the period `period`.
pub(crate) fn setup(
    period: (&str, &str),
    logs: &str,
    files: &[(&str, &[u8])],
) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("sample-evidence/mlflow"),
        &tmp.path().join("mlflow"),
    );
    for (name, bytes) in files {
        let path = tmp.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        format!(
            "organization: T\nreport:\n  period: {{ start: {}, end: {} }}\n\
             sources:\n  mlflow:\n    - path: mlflow/mlflow.db\n  logs:\n{logs}",
            period.0, period.1
        ),
    )
    .unwrap();
    (tmp, config)
}

pub(crate) fn kpis(config: &Path, extra: &[&str]) -> Outcome {
    let mut args = vec!["kpis", "-c", config.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    run(&args)
}

const NDJSON_SOURCE: &str = "    - path: logs/*.ndjson\n      format: ndjson\n";

/// `dossier kpis` over one NDJSON file of these lines: the folder, the config and the document.
fn ndjson_kpis(period: (&str, &str), lines: &str) -> (tempfile::TempDir, PathBuf, Value) {
    let text = format!("{lines}\n");
    let (tmp, config) = setup(period, NDJSON_SOURCE, &[("logs/a.ndjson", text.as_bytes())]);
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    (tmp, config, doc)
}

#[test]
fn period_boundaries_and_timestamp_forms() {
    // Period 2026-09-01..2026-09-30: [1788220800 s, 1790812800 s).
    let lines = [
        r#"{"timestamp":"2026-08-31T23:59:59.999Z","model":"churn-predictor","latency_ms":1}"#, // before
        r#"{"timestamp":"2026-09-01T00:00:00Z","model":"churn-predictor","latency_ms":2}"#, // first instant
        r#"{"timestamp":1788224400,"model":"churn-predictor","latency_ms":3}"#, // 09-01T01:00Z, epoch s
        r#"{"timestamp":1788228000000,"model":"churn-predictor","latency_ms":4}"#, // 09-01T02:00Z, epoch ms
        r#"{"timestamp":"2026-10-01T01:59:59.999999999+02:00","model":"churn-predictor","latency_ms":10}"#, // 09-30T23:59:59.999999999Z
        r#"{"timestamp":"2026-10-01T00:00:00Z","model":"churn-predictor","latency_ms":99}"#, // after
    ];
    let (_tmp, _, doc) = ndjson_kpis(("2026-09-01", "2026-09-30"), &lines.join("\n"));
    let churn = model(&doc, "churn-predictor");
    assert_eq!(churn["requests"], 4);
    // numpy.quantile([2, 3, 4, 10], q): p50 = 3.5; p95 at rank 2.85 = 4 + 0.85·6 = 9.1;
    // p99 at rank 2.97 = 4 + 0.97·6 = 9.82.
    close(&churn["latency_p50_ms"], &Value::from(3.5), "p50");
    close(&churn["latency_p95_ms"], &Value::from(9.1), "p95");
    close(&churn["latency_p99_ms"], &Value::from(9.82), "p99");
    // Records on 2 of 30 days; the longest gap runs from 09-01T02:00 to 09-30T23:59:59.999999999:
    // 29 days 22 h minus 1 ns = 718 h − 1 ns.
    close(
        &churn["logging_coverage"],
        &Value::from(2.0 / 30.0),
        "coverage",
    );
    close(
        &churn["longest_gap_hours"],
        &Value::from(718.0 - 1e-9 / 3600.0),
        "gap",
    );
    let file = &doc["log_files"][0];
    assert_eq!(
        (
            file["records"].as_u64(),
            file["accepted"].as_u64(),
            file["outside_period"].as_u64()
        ),
        (Some(6), Some(4), Some(2))
    );
    // No status field at all: no error rate (n/a), not 0.
    assert_eq!(churn["error_rate"], Value::Null);
    // A production model with no records: 0 requests, 0 coverage, the whole period as its gap.
    let fraud = model(&doc, "fraud-detector");
    assert_eq!(fraud["requests"], 0);
    assert_eq!(fraud["logging_coverage"], 0.0);
    close(
        &fraud["longest_gap_hours"],
        &Value::from(720.0),
        "empty gap",
    );
    assert_eq!(fraud["latency_p50_ms"], Value::Null);
    assert_eq!(fraud["score_psi"], Value::Null);
}

#[test]
fn every_reject_reason_is_counted_with_its_line() {
    let lines = [
        r#"{"timestamp":"2026-09-02T00:00:00Z","model":"churn-predictor","latency_ms":"5","status":"200"}"#, // 1 ok
        r#"{"model":"churn-predictor"}"#, // 2 no timestamp
        r#"{"timestamp":"2026-09-02 10:00:00","model":"churn-predictor"}"#, // 3 no zone: unparseable
        r#"{"timestamp":"2026-09-02T00:00:00Z","model":""}"#,               // 4 no model
        "",                                                                 // 5 blank: not a record
        r#"{"timestamp":"2026-09-02T00:00:00Z","model":"churn-predictor","latency_ms":"fast"}"#, // 6 latency
        r#"{"timestamp":"2026-09-02T00:00:00Z","model":"churn-predictor","score":"high"}"#, // 7 score
        r#"{"timestamp":"2026-09-02T00:00:00Z","model":"churn-pre"#, // 8 not JSON
        r#"{"timestamp":"2026-09-03T00:00:00Z","model":"churn-predictor","status":"500"}"#, // 9 ok, error
        r#"[1, 2]"#, // 10 JSON, not an object: no timestamp
    ];
    let (_tmp, config, doc) = ndjson_kpis(("2026-09-01", "2026-09-30"), &lines.join("\n"));
    let rejected: Vec<(String, u64, u64)> = doc["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
                r["first_line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("not JSON", 1, 8),
        ("no timestamp", 2, 2),
        ("unparseable timestamp", 1, 3),
        ("no model", 1, 4),
        ("non-numeric latency", 1, 6),
        ("non-numeric score", 1, 7),
    ];
    assert_eq!(
        rejected,
        want.map(|(r, c, l)| (r.to_string(), c, l)).to_vec()
    );
    let churn = model(&doc, "churn-predictor");
    assert_eq!(churn["requests"], 2);
    close(
        &churn["error_rate"],
        &Value::from(0.5),
        "1 of 2 statuses is not a success",
    );
    assert_eq!(doc["log_files"][0]["records"], 9, "nine non-blank lines");
    assert_eq!(doc["portfolio"]["rejected_log_records_count"]["value"], 7.0);

    // Read in slices of 40 bytes (most lines are longer), the same records and lines come out.
    let sliced = dossier()
        .env("DOSSIER_LOG_SLICE_BYTES", "40")
        .args(["kpis", "-c", config.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(sliced.status.code(), Some(0));
    let sliced: Value = serde_json::from_slice(&sliced.stdout).unwrap();
    assert_eq!(sliced, doc);

    // --strict: the first rejected record is an error naming the file and line.
    let strict = kpis(&config, &["--strict"]);
    assert_eq!(strict.code, 1);
    assert!(strict.stderr.contains("a.ndjson:8"), "{}", strict.stderr);
    assert!(strict.stderr.contains("not JSON"), "{}", strict.stderr);
}

#[test]
fn csv_splunk_and_elasticsearch_shapes() {
    // (Parquet, with epoch-ms integer timestamps, is the sample's batch file.)
    // CSV: a quoted field with a comma; epoch-ms numbers as text.
    let csv = "ts,model,version,latency_ms,status,score\n\
               1788307200000,churn-predictor,2,10,ok,0.1\n\
               \"2026-09-03T00:00:00Z\",\"churn-predictor\",\"7\",\"20\",\"bad, really\",0.2\n\
               2026-09-04T00:00:00Z,,2,30,ok,0.3\n";
    // Splunk: every value a string, dotted field names flat inside `result`.
    let splunk = concat!(
        r#"{"preview":false,"offset":0,"result":{"_time":"2026-09-05T00:00:00.000+00:00","model.name":"credit-risk-scorer","latency_ms":"40","status":"200"}}"#,
        "\n",
        r#"{"preview":false,"offset":1,"lastrow":true,"result":{"_time":"2026-09-06T00:00:00.000+00:00","model.name":"credit-risk-scorer","latency_ms":"60","status":"503"}}"#,
        "\n"
    );
    // Elasticsearch: nested `_source`, numbers as numbers.
    let es = concat!(
        r#"{"_index":"inf","_id":"1","_source":{"@timestamp":"2026-09-07T00:00:00Z","model":{"name":"fraud-detector","version":2},"took":5.5,"http":{"status_code":200}}}"#,
        "\n"
    );
    let logs = concat!(
        "    - path: logs/g.csv\n      fields: { timestamp: ts }\n      success: [ok]\n",
        "    - path: logs/s.json\n      fields: { timestamp: _time, model: model.name }\n",
        "    - path: logs/e.json\n      fields: { timestamp: \"@timestamp\", model: model.name, ",
        "version: model.version, latency_ms: took, status: http.status_code }\n",
    );
    let (_tmp, config) = setup(
        ("2026-09-01", "2026-09-30"),
        logs,
        &[
            ("logs/g.csv", csv.as_bytes()),
            ("logs/s.json", splunk.as_bytes()),
            ("logs/e.json", es.as_bytes()),
        ],
    );
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let formats: Vec<&str> = doc["log_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        ["csv", "splunk", "elasticsearch"],
        "detected from content"
    );
    let churn = model(&doc, "churn-predictor");
    assert_eq!(churn["requests"], 2);
    close(
        &churn["error_rate"],
        &Value::from(0.5),
        "\"bad, really\" is not ok",
    );
    assert_eq!(churn["unregistered_versions"], serde_json::json!(["7"]));
    let credit = model(&doc, "credit-risk-scorer");
    assert_eq!(credit["requests"], 2);
    close(
        &credit["latency_p50_ms"],
        &Value::from(50.0),
        "p50 of 40 and 60",
    );
    close(&credit["error_rate"], &Value::from(0.5), "503");
    let fraud = model(&doc, "fraud-detector");
    assert_eq!(fraud["requests"], 1);
    close(&fraud["latency_p99_ms"], &Value::from(5.5), "took");
    assert_eq!(
        fraud["unregistered_versions"],
        serde_json::json!([]),
        "2 as a number is version 2"
    );
    assert_eq!(fraud["error_rate"], 0.0);
    assert_eq!(doc["rejected"][0]["reason"], "no model");
    assert_eq!(doc["rejected"][0]["first_line"], 4, "header is line 1");
}

#[test]
fn psi_against_hand_counted_bins() {
    // 60-day period 2026-07-01..2026-08-29. First window: days 0–29, 100 scores 0.00..0.99, so
    // numpy's linear deciles are 0.099, 0.199, …, 0.891 and each bin holds 10 (10 %).
    // Last window: days 30–59, 100 scores: 50 of 0.05 (bin 0) and 50 of 0.95 (bin 9).
    // PSI = 2·(0.5−0.1)·ln(5) + 8·(1e-4−0.1)·ln(1e-3) = 0.8·ln 5 + 0.7992·ln 1000.
    let mut lines = Vec::new();
    for i in 0..100 {
        let secs = 1_782_864_000 + (i % 30) * 86_400 + 3600;
        lines.push(format!(
            r#"{{"timestamp":{secs},"model":"churn-predictor","score":{}}}"#,
            i as f64 / 100.0
        ));
    }
    for i in 0..100 {
        let secs = 1_782_864_000 + (30 + i % 30) * 86_400 + 3600;
        let score = if i < 50 { 0.05 } else { 0.95 };
        lines.push(format!(
            r#"{{"timestamp":{secs},"model":"churn-predictor","score":{score}}}"#
        ));
    }
    let (_tmp, _, doc) = ndjson_kpis(("2026-07-01", "2026-08-29"), &lines.join("\n"));
    let want = 0.8 * 5f64.ln() + 0.7992 * 1000f64.ln();
    close(
        &model(&doc, "churn-predictor")["score_psi"],
        &Value::from(want),
        "psi",
    );

    // One score fewer in the last window: n/a.
    let short: Vec<&String> = lines.iter().take(199).collect();
    let text = short
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let (_tmp2, config) = setup(
        ("2026-07-01", "2026-08-29"),
        NDJSON_SOURCE,
        &[("logs/a.ndjson", text.as_bytes())],
    );
    let doc = kpis(&config, &[]).json();
    assert_eq!(model(&doc, "churn-predictor")["score_psi"], Value::Null);
    // And a 59-day period: n/a whatever the counts.
    let (_tmp3, config) = setup(
        ("2026-07-01", "2026-08-28"),
        NDJSON_SOURCE,
        &[("logs/a.ndjson", lines.join("\n").as_bytes())],
    );
    let doc = kpis(&config, &[]).json();
    assert_eq!(model(&doc, "churn-predictor")["score_psi"], Value::Null);
}

#[test]
fn bad_log_inputs_give_clear_errors() {
    // A CSV without the timestamp column.
    let (_t1, config) = setup(
        ("2026-09-01", "2026-09-30"),
        "    - path: logs/g.csv\n",
        &[(
            "logs/g.csv",
            b"time,model\n2026-09-02T00:00:00Z,churn-predictor\n",
        )],
    );
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("g.csv") && out.stderr.contains("no column `timestamp`"),
        "{}",
        out.stderr
    );
    // A file that is not Parquet at all.
    let (_t2, config) = setup(
        ("2026-09-01", "2026-09-30"),
        "    - path: logs/x.parquet\n",
        &[("logs/x.parquet", b"this is not parquet")],
    );
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("x.parquet"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    // An extension that says nothing about the format.
    let (_t3, config) = setup(
        ("2026-09-01", "2026-09-30"),
        "    - path: logs/x.txt\n",
        &[("logs/x.txt", b"{}\n")],
    );
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("set `format`"), "{}", out.stderr);
    // A named file that does not exist.
    let (_t4, config) = setup(
        ("2026-09-01", "2026-09-30"),
        "    - path: logs/none.csv\n",
        &[],
    );
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("none.csv"), "{}", out.stderr);
}

#[test]
fn an_unregistered_model_is_reported_not_dropped() {
    let text = r#"{"timestamp":"2026-09-02T00:00:00Z","model":"ghost-model"}
{"timestamp":"2026-09-02T00:00:01Z","model":"ghost-model"}
"#;
    let (_tmp, config) = setup(
        ("2026-09-01", "2026-09-30"),
        NDJSON_SOURCE,
        &[("logs/a.ndjson", text.as_bytes())],
    );
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.json()["unknown_models_in_logs"],
        serde_json::json!([{"model": "ghost-model", "records": 2}])
    );
    assert!(out.stderr.contains("ghost-model"), "warned: {}", out.stderr);
}

#[test]
fn drift_monitoring_coverage_counts_the_models_pandas_found_a_psi_for() {
    let doc = sample_doc();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("sample-evidence/logs/expected.json")).unwrap(),
    )
    .unwrap();
    // expected.py (pandas, numpy) computed score_psi per production model; those with one
    // over all production models is the KPI.
    let models = expected["models"].as_object().unwrap();
    let with_psi = models
        .values()
        .filter(|m| !m["score_psi"].is_null())
        .count() as u64;
    let production = doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["in_production"] == true)
        .count() as u64;
    assert_eq!(
        (with_psi, production),
        (4, 5),
        "triage-assistant has no scores"
    );
    let k = &doc["portfolio"]["drift_monitoring_coverage"];
    assert_eq!(
        (k["numerator"].as_u64(), k["denominator"].as_u64()),
        (Some(with_psi), Some(production))
    );
    assert_eq!(k["value"], 0.8);
}
