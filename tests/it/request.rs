//! Regulator requests (`--system`, `--period`, `--request-id`) on the real binary and the sample:
//! nothing of another system reaches the bundle or the report, nothing in scope is left out, the
//! log excerpts hold exactly the in-scope records and name their originals, and every payload
//! file is in the request index.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const TIME: &str = "2026-10-02T08:00:00Z";
const MODELS: [&str; 5] = [
    "churn-predictor",
    "credit-risk-scorer",
    "fraud-detector",
    "marketing-propensity",
    "triage-assistant",
];

struct Request {
    _tmp: tempfile::TempDir,
    bag: PathBuf,
    zip: PathBuf,
    public_key: PathBuf,
}

fn build(extra: &[&str]) -> Request {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let out = run(&["keygen", "-q", "-o", keys.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key = keys.join("dossier-signing.key");
    let mut args = vec!["-q", "--timestamp", TIME, "--key", key.to_str().unwrap()];
    args.extend_from_slice(extra);
    let zip = build_sample_zip(&tmp.path().join("dist"), &args);
    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let unpacked = tmp.path().join("unpacked");
    z.extract(&unpacked).unwrap();
    let root = zip.file_stem().unwrap().to_str().unwrap().to_string();
    Request {
        bag: unpacked.join(root),
        zip,
        public_key: keys.join("dossier-signing.pub"),
        _tmp: tmp,
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The report's text, through poppler's pdftotext (a validator: see `validator`).
fn report_text(bag: &Path) -> Option<String> {
    if !validator("pdftotext") {
        return None;
    }
    let out = Command::new("pdftotext")
        .arg(bag.join("data/report/report.pdf"))
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn sha256_hex(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn kpis(bag: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bag.join("data/kpis/kpis.json")).unwrap()).unwrap()
}

#[test]
fn a_scoped_request_carries_its_systems_and_nothing_else() {
    let scope = ["credit-risk-scorer", "triage-assistant"];
    let req = build(&[
        "--system",
        scope[0],
        "--system",
        scope[1],
        "--period",
        "2026-08-01..2026-09-30",
        "--request-id",
        "REQ-2026-0042",
    ]);
    let others: Vec<&str> = MODELS
        .iter()
        .copied()
        .chain(["shadow-scorer"])
        .filter(|m| !scope.contains(m))
        .collect();

    // No file of the bag, and no line of the report, names another system.
    for file in files_under(&req.bag) {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for other in &others {
            assert!(!text.contains(other), "{} mentions {other}", file.display());
        }
    }
    if let Some(text) = report_text(&req.bag) {
        for other in &others {
            assert!(!text.contains(other), "the report mentions {other}");
        }
        assert!(text.contains("REQ-2026-0042"));
        assert!(text.contains("Request index"));
    }
    // The scoped bundle is a whole, signed bag like any other.
    let verified = run(&[
        "verify",
        req.zip.to_str().unwrap(),
        "--pubkey",
        req.public_key.to_str().unwrap(),
    ]);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    let bag_info = std::fs::read_to_string(req.bag.join("bag-info.txt")).unwrap();
    assert!(bag_info.contains("External-Identifier: REQ-2026-0042"));
    assert!(bag_info.contains("scope: credit-risk-scorer, triage-assistant"));
    assert!(bag_info.contains("period 2026-08-01 to 2026-09-30"));

    // Nothing in scope is left out: the same figures as an unscoped build of the same period.
    let full = build(&["--period", "2026-08-01..2026-09-30"]);
    let (scoped_doc, full_doc) = (kpis(&req.bag), kpis(&full.bag));
    let by_name = |doc: &Value, name: &str| {
        doc["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .cloned()
            .unwrap()
    };
    for name in scope {
        assert_eq!(
            by_name(&scoped_doc, name),
            by_name(&full_doc, name),
            "{name}"
        );
    }
    assert_eq!(scoped_doc["models"].as_array().unwrap().len(), 2);
    let in_scope = |rows: Vec<BTreeMap<String, String>>| -> Vec<BTreeMap<String, String>> {
        rows.into_iter()
            .filter(|r| scope.contains(&r["system"].as_str()))
            .collect()
    };
    for table in ["data/audits/scores.csv", "data/audits/exceptions.csv"] {
        let scoped = csv_rows(&req.bag.join(table));
        assert!(!scoped.is_empty(), "{table} is empty");
        assert_eq!(scoped, in_scope(csv_rows(&full.bag.join(table))), "{table}");
    }

    // The log excerpts hold exactly the accepted in-scope records of the period.
    let sources = csv_rows(&req.bag.join("data/sources.csv"));
    let excerpts: Vec<_> = sources
        .iter()
        .filter(|s| s["role"] == "log-excerpt")
        .collect();
    assert_eq!(excerpts.len(), 3, "{sources:?}");
    let mut records: BTreeMap<String, u64> = BTreeMap::new();
    for s in &excerpts {
        // Relative to the config's folder, as SPEC §6 has it.
        let original = repo().join("sample-evidence").join(&s["original_path"]);
        assert_eq!(s["sha256"], sha256_hex(&original), "{}", original.display());
        let excerpt = req.bag.join(&s["bundle_path"]);
        for (model, ts) in excerpt_records(&excerpt) {
            assert!(scope.contains(&model.as_str()), "{model} in {excerpt:?}");
            assert!(
                ("2026-08-01".."2026-10-01").contains(&ts.as_str()),
                "{ts} in {excerpt:?}"
            );
            *records.entry(model).or_default() += 1;
        }
    }
    for name in scope {
        assert_eq!(
            records.get(name).copied(),
            by_name(&scoped_doc, name)["requests"].as_u64(),
            "{name}"
        );
    }

    // The MLflow part is the named models' lineage, not the whole store.
    assert!(!req.bag.join("data/evidence/mlflow/1-sqlite").exists());
    let lineage: Value = serde_json::from_slice(
        &std::fs::read(
            req.bag
                .join("data/evidence/mlflow/lineage/credit-risk-scorer.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(lineage["model"]["name"], "credit-risk-scorer");
    assert_eq!(
        lineage["store"]["sha256"],
        sha256_hex(&repo().join("sample-evidence/mlflow/mlflow.db"))
    );
    let run = by_name(&scoped_doc, "credit-risk-scorer")["source_run"].clone();
    assert!(lineage["runs"][run.as_str().unwrap()].is_object());

    // Every payload file is in the request index, with what it evidences; no path of the
    // build machine is in it (excerpts name their original relative to the config folder).
    let text = std::fs::read_to_string(req.bag.join("data/request-index.csv")).unwrap();
    assert!(!text.contains(repo().to_str().unwrap()), "{text}");
    assert!(text.contains("cut from logs/"), "{text}");
    let index = csv_rows(&req.bag.join("data/request-index.csv"));
    let indexed: BTreeSet<&str> = index.iter().map(|r| r["path"].as_str()).collect();
    let manifest = std::fs::read_to_string(req.bag.join("manifest-sha256.txt")).unwrap();
    let payload: BTreeSet<&str> = manifest
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, p)| p))
        .collect();
    assert_eq!(indexed, payload);
    assert!(index.iter().all(|r| !r["evidences"].is_empty()));
    let lineage_row = index
        .iter()
        .find(|r| r["path"] == "data/evidence/mlflow/lineage/credit-risk-scorer.json")
        .unwrap();
    assert!(lineage_row["detail"].contains(run.as_str().unwrap()));
    assert!(lineage_row["detail"].contains("approval model-risk-committee"));
}

/// (model, timestamp as UTC text) of each record in a minimised excerpt.
fn excerpt_records(path: &Path) -> Vec<(String, String)> {
    let utc = |ts: &str| {
        chrono::DateTime::parse_from_rfc3339(ts)
            .unwrap()
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.fZ")
            .to_string()
    };
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["model"].as_str().unwrap().to_string(),
                utc(v["timestamp"].as_str().unwrap()),
            )
        })
        .collect()
}

#[test]
fn an_elasticsearch_excerpt_names_the_original_lines_of_the_system_and_no_other() {
    let req = build(&["--system", "fraud-detector"]);
    let excerpt = std::fs::read_to_string(
        req.bag
            .join("data/evidence/logs/elastic/fraud-detector.ndjson.minimised.ndjson"),
    )
    .unwrap();
    let original =
        std::fs::read_to_string(repo().join("sample-evidence/logs/elastic/fraud-detector.ndjson"))
            .unwrap();
    let original_lines: Vec<&str> = original.lines().collect();
    let mut n = 0;
    for line in excerpt.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        // Each record names its original line, whose mapped fields it holds.
        let at = v["line"].as_u64().unwrap() as usize;
        let orig: Value = serde_json::from_str(original_lines[at - 1]).unwrap();
        let src = &orig["_source"];
        assert_eq!(src["model"]["name"], "fraud-detector");
        assert_eq!(v["model"], src["model"]["name"], "line {at}");
        assert_eq!(v["timestamp"], src["@timestamp"], "line {at}");
        assert_eq!(v["latency_ms"], src["latency_ms"], "line {at}");
        assert_eq!(v["status"], src["http"]["status_code"], "line {at}");
        n += 1;
    }
    // pandas (sample-evidence/logs/expected.py) finds 1043 accepted fraud-detector records in the
    // file, which also holds a line cut mid-record and one with a non-numeric latency.
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("sample-evidence/logs/expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(n, 1043);
    assert_eq!(
        expected["models"]["fraud-detector"]["requests"].as_u64(),
        Some(n)
    );
}

#[test]
fn a_parquet_extract_is_cut_to_the_named_system() {
    let req = build(&["--system", "marketing-propensity", "--request-id", "REQ-7"]);
    let doc = kpis(&req.bag);
    let excerpt = req
        .bag
        .join("data/evidence/logs/batch/marketing-propensity.parquet.minimised.ndjson");
    let records: Vec<Value> = std::fs::read_to_string(&excerpt)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        Some(records.len() as u64),
        doc["models"][0]["requests"].as_u64()
    );
    // Parquet records are named by their row; the epoch-ms timestamps stay digits.
    assert!(records.iter().all(|r| r["model"] == "marketing-propensity"));
    assert!(
        records
            .iter()
            .all(|r| r["row"].is_u64() && r["timestamp"].is_string())
    );
    // Only the Parquet file holds this system's records.
    let sources = csv_rows(&req.bag.join("data/sources.csv"));
    let logs: Vec<_> = sources
        .iter()
        .filter(|s| s["role"].starts_with("log"))
        .collect();
    assert_eq!(logs.len(), 1, "{sources:?}");
}

#[test]
fn an_unknown_system_is_an_error_listing_the_known_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let out = dossier()
        .current_dir(repo())
        .args(["build", "-c", "sample-evidence/dossier.yaml", "-o"])
        .arg(tmp.path())
        .args([
            "--system",
            "credit-risk-scorer",
            "--system",
            "fraud-detectr",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--system fraud-detectr: no such system"),
        "{stderr}"
    );
    for known in MODELS {
        assert!(stderr.contains(known), "{stderr}");
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
