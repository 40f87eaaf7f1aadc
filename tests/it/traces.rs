//! MLflow 3 GenAI traces as an inference-log source (issue 15, `format: mlflow-traces`), on the
//! stores `fixtures/mlflow/traces.py` wrote with the real MLflow client (SQLite and file store).
//! Every expected figure is worked by hand from the traces the script writes; the SQLite queries
//! that list them are in fixtures/mlflow/EXPECTED.md ("Traces").

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::logs::model;

/// A config in a scratch folder holding a copy of the store (`sqlite` or `filestore`), read both
/// as the registry and as the trace source; `fields` maps the source's model tag.
fn setup(kind: &str, fields: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (folder, store) = match kind {
        "sqlite" => ("mlflow/traces-sqlite", "genai/mlflow.db"),
        _ => ("mlflow/traces-filestore", "genai/mlruns"),
    };
    copy_dir(&fixture(folder), &tmp.path().join("genai"));
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        format!(
            "organization: T\nreport:\n  period: {{ start: 2026-10-01, end: 2026-12-31 }}\n\
             sources:\n  mlflow:\n    - path: {store}\n  logs:\n    - path: {store}\n      \
             format: mlflow-traces\n{fields}"
        ),
    )
    .unwrap();
    (tmp, config)
}

fn doc_of(config: &Path) -> Value {
    let out = kpis_json(config);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()
}

const APP_TAG: &str = "      fields: { model: app }\n";

fn assert_trace_figures(doc: &Value, store_suffix: &str) {
    // 13 traces: 11 in the period with a model, 1 in the period with none (rejected), 1 on
    // 2026-09-30 (outside). Every trace is one line of the source's account.
    let file = &doc["log_files"][0];
    assert_eq!(file["format"], "mlflow-traces");
    assert!(
        file["path"].as_str().unwrap().ends_with(store_suffix),
        "{file}"
    );
    let counts = ["records", "accepted", "outside_period", "rejected", "lines"]
        .map(|k| file[k].as_u64().unwrap());
    assert_eq!(counts, [13, 11, 1, 1, 13]);
    assert_eq!(
        doc["rejected"],
        serde_json::json!([{"source": file["path"], "reason": "no model", "count": 1,
                            "first_line": 9}])
    );
    // support-assistant: 6 traces of v2 (logged model support-assistant-v2) and 2 of v1 in the
    // period; one ERROR. Latencies 60 80 95 120 150 200 300 310 (ms): numpy's linear method gives
    // p50 at 3.5 → 120 + 0.5·30 = 135, p95 at 6.65 → 300 + 0.65·10 = 306.5, p99 at 6.93 → 309.3.
    let m = model(doc, "support-assistant");
    assert_eq!(m["in_production"], true);
    assert_eq!(m["version"], "2");
    assert_eq!(m["requests"], 8);
    assert_eq!(m["error_rate"], 0.125);
    assert_eq!(m["latency_p50_ms"], 135.0);
    assert_eq!(m["latency_p95_ms"], 306.5);
    assert!(
        (m["latency_p99_ms"].as_f64().unwrap() - 309.3).abs() < 1e-9,
        "{m}"
    );
    assert_eq!(m["unregistered_versions"], serde_json::json!([]));
    // The logged model nobody registered (1 trace) and the app tag (2 traces) are no registered
    // models: they are named, never dropped.
    assert_eq!(
        doc["unknown_models_in_logs"],
        serde_json::json!([{"model": "prompt-lab", "records": 1},
                           {"model": "triage-bot", "records": 2}])
    );
}

#[test]
fn sqlite_traces_are_inference_records() {
    let (_tmp, config) = setup("sqlite", APP_TAG);
    assert_trace_figures(&doc_of(&config), "genai/mlflow.db");
}

#[test]
fn file_store_traces_are_inference_records() {
    let (_tmp, config) = setup("filestore", APP_TAG);
    assert_trace_figures(&doc_of(&config), "genai/mlruns");
}

#[test]
fn a_trace_linked_to_nothing_and_untagged_is_rejected_not_dropped() {
    // Without the app tag mapped, the two triage-bot traces have no model either: 1 + 2 rejected.
    let (_tmp, config) = setup("sqlite", "");
    let doc = doc_of(&config);
    assert_eq!(doc["log_files"][0]["rejected"], 3);
    assert_eq!(doc["log_files"][0]["accepted"], 9);
    assert_eq!(doc["rejected"][0]["count"], 3);
    // The first of them is line 7 of the records (the traces in time order).
    assert_eq!(doc["rejected"][0]["first_line"], 7);
    assert_eq!(model(&doc, "support-assistant")["requests"], 8);
}

#[test]
fn only_model_and_version_may_be_mapped_for_traces() {
    let (_tmp, config) = setup("sqlite", "      fields: { latency_ms: duration }\n");
    let out = kpis_json(&config);
    // A config error, as every invalid key is (exit 1, SPEC §1).
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("sources.logs[0].fields.latency_ms"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_folder_without_traces_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("mlflow/export-import"), &tmp.path().join("export"));
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        "organization: T\nreport:\n  period: { start: 2026-10-01, end: 2026-12-31 }\n\
         sources:\n  logs:\n    - path: export\n      format: mlflow-traces\n",
    )
    .unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("holds no traces"), "{}", out.stderr);
    assert!(out.stderr.contains("export"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

/// Build the traces config into `dir/dist` and unzip it; the bag's folder.
fn build(config: &Path, dir: &Path) -> PathBuf {
    build_unzipped(config, dir, &["--timestamp", "2027-01-02T08:00:00Z"]).0
}

fn source_row<'a>(sources: &'a str, bundle_path: &str) -> Vec<&'a str> {
    sources
        .lines()
        .find(|l| l.contains(bundle_path))
        .unwrap_or_else(|| panic!("no {bundle_path} in\n{sources}"))
        .split(',')
        .collect()
}

#[test]
fn a_bundle_carries_the_trace_records_with_the_store_as_their_origin() {
    let (tmp, config) = setup("sqlite", APP_TAG);
    let bag = build(&config, tmp.path());
    let extract = "data/evidence/genai/mlflow.db.traces.ndjson.minimised.ndjson";
    let text = std::fs::read_to_string(bag.join(extract)).unwrap();
    // One record per trace, in time order, naming the store; the first is 2026-09-30's.
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 13);
    assert_eq!(records[0]["file"], "genai/mlflow.db (mlflow-traces)");
    assert_eq!(records[0]["timestamp"], 1_790_769_600_000i64);
    assert_eq!(records[0]["latency_ms"], 40);
    assert!(
        records[0]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("tr-")
    );
    let sources = std::fs::read_to_string(bag.join("data/sources.csv")).unwrap();
    let row = source_row(&sources, extract);
    let db = tmp.path().join("genai/mlflow.db");
    let sha = Sha256::digest(std::fs::read(&db).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert!(row.contains(&"genai/mlflow.db"), "{row:?}");
    assert!(row.contains(&sha.as_str()), "{row:?}");
    assert!(row.contains(&std::fs::metadata(&db).unwrap().len().to_string().as_str()));
}

#[test]
fn a_file_store_origin_is_the_digest_sha256sum_gives_of_its_trace_files() {
    let (tmp, config) = setup("filestore", APP_TAG);
    let bag = build(&config, tmp.path());
    let sources = std::fs::read_to_string(bag.join("data/sources.csv")).unwrap();
    let row = source_row(
        &sources,
        "data/evidence/genai/mlruns.traces.ndjson.minimised.ndjson",
    );
    if !validator("sha256sum") {
        return;
    }
    // The command docs/decisions.md gives an auditor, run in the store.
    let listing = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            "find . -type f -path '*/traces/*' | sed 's|^\\./||' | LC_ALL=C sort \
             | xargs sha256sum | sha256sum",
        )
        .current_dir(tmp.path().join("genai/mlruns"))
        .output()
        .unwrap();
    let digest = String::from_utf8(listing.stdout).unwrap();
    let digest = digest.split_whitespace().next().unwrap();
    assert!(row.contains(&digest), "{row:?} vs {digest}");
}

#[test]
fn the_report_shows_the_trace_source_like_any_log_source() {
    let (tmp, config) = setup("sqlite", APP_TAG);
    let bag = build(&config, tmp.path());
    if !validator("pdftotext") {
        return;
    }
    let pdf = bag.join("data/report/report.pdf");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mlflow-traces"), "{text}");
    assert!(text.contains("support-assistant"), "{text}");
}

#[test]
fn an_unreadable_trace_is_counted_as_rejected_and_a_stray_file_is_no_trace() {
    let (tmp, config) = setup("filestore", APP_TAG);
    let root = tmp.path().join("genai/mlruns");
    // The 2026-09-30 trace (outside the period) gets a garbage trace_info.yaml.
    let mut broken = None;
    for exp in std::fs::read_dir(&root).unwrap() {
        let traces = exp.unwrap().path().join("traces");
        if !traces.is_dir() {
            continue;
        }
        for t in std::fs::read_dir(&traces).unwrap() {
            let info = t.unwrap().path().join("trace_info.yaml");
            if std::fs::read_to_string(&info)
                .unwrap()
                .contains("2026-09-30T12:00:00")
            {
                std::fs::write(&info, ": [ not yaml").unwrap();
                broken = Some(info);
            }
        }
        std::fs::write(traces.join("README"), "not a trace").unwrap();
    }
    assert!(broken.is_some());
    let doc = doc_of(&config);
    let file = &doc["log_files"][0];
    // Still 13 records: the broken one has no time (rejected), the stray file is none.
    let counts =
        ["records", "accepted", "outside_period", "rejected"].map(|k| file[k].as_u64().unwrap());
    assert_eq!(counts, [13, 11, 0, 2]);
    let reasons: Vec<&str> = doc["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["no timestamp", "no model"]);
    assert!(
        doc["warnings"]
            .to_string()
            .contains("not read (counted as rejected)"),
        "{}",
        doc["warnings"]
    );
}
