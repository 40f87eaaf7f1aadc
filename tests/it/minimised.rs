//! Minimised evidence (issue 16) on the real binary and the sample: a default bundle carries no
//! MLflow store and no raw log file — lineage extracts and mapped-field log extracts instead, with
//! the originals' SHA-256 in `sources.csv` — and the KPIs recomputed from those extracts alone
//! (dossier pointed at the unzipped bag) are the bundle's own. `bundle.include_stores` and
//! `bundle.log_extracts: original` opt back in; `bundle.redact` hashes a field under a key.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const TIME: &str = "2026-10-02T08:00:00Z";

/// The sample built into `dir` (a copy of sample-evidence with `extra` appended to its config),
/// unzipped; the bag's folder.
fn build_copy(dir: &Path, extra: &str) -> PathBuf {
    let sample = dir.join("sample");
    copy_dir(&repo().join("sample-evidence"), &sample);
    let config = sample.join("dossier.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}{extra}")).unwrap();
    build_unzipped(&config, dir, &["--timestamp", TIME]).0
}

fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn sha256_hex(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_default_bundle_carries_extracts_not_stores_and_they_recompute_every_kpi() {
    let tmp = tempfile::tempdir().unwrap();
    let bag = build_copy(tmp.path(), "");
    let all = files(&bag);
    // No store, no raw log file: only lineage extracts and minimised log extracts.
    for f in &all {
        assert!(!f.ends_with("mlflow.db"), "{f}");
        assert!(!f.ends_with(".parquet") && !f.ends_with(".csv."), "{f}");
        if f.starts_with("data/evidence/logs/") {
            assert!(f.ends_with(".minimised.ndjson"), "{f}");
        }
    }
    assert!(all.contains(&"data/evidence/mlflow/lineage/credit-risk-scorer.json".to_string()));
    // The store is in the chain of custody with its own hash, size and path.
    let sources = std::fs::read_to_string(bag.join("data/sources.csv")).unwrap();
    let store = tmp.path().join("sample/mlflow/mlflow.db");
    let row = format!(
        "mlflow,mlflow/mlflow.db,data/evidence/mlflow/lineage/,{},",
        std::fs::metadata(&store).unwrap().len()
    );
    let line = sources
        .lines()
        .find(|l| l.starts_with(&row))
        .unwrap_or_else(|| panic!("{row}\n{sources}"));
    assert!(line.ends_with(&sha256_hex(&store)), "{line}");
    // A log extract's row names the original and its hash; its records hold mapped fields only.
    let splunk = tmp
        .path()
        .join("sample/logs/splunk/credit-risk-scorer-2026-07.json");
    assert!(sources.contains(&sha256_hex(&splunk)));
    let allowed = [
        "file",
        "line",
        "row",
        "timestamp",
        "model",
        "version",
        "latency_ms",
        "status",
        "score",
        "request_id",
    ];
    let mut records = 0;
    for f in all.iter().filter(|f| f.ends_with(".minimised.ndjson")) {
        for line in std::fs::read_to_string(bag.join(f)).unwrap().lines() {
            let Ok(Value::Object(rec)) = serde_json::from_str::<Value>(line) else {
                assert!(line.starts_with("# not JSON: line "), "{f}: {line}");
                continue;
            };
            records += 1;
            for key in rec.keys() {
                assert!(allowed.contains(&key.as_str()), "{f}: unmapped field {key}");
            }
        }
    }
    assert!(records > 3000, "{records}");
    // Each CSV record names the line of the original it came from (header = line 1).
    let original =
        std::fs::read_to_string(tmp.path().join("sample/logs/gateway/requests.csv")).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let extract = std::fs::read_to_string(
        bag.join("data/evidence/logs/gateway/requests.csv.minimised.ndjson"),
    )
    .unwrap();
    for rec in extract
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
    {
        let at = rec["line"].as_u64().unwrap() as usize;
        let orig = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(lines[at - 1].as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        let field = |i: usize| Some(orig.get(i).unwrap()).filter(|v| !v.is_empty());
        assert_eq!(rec["timestamp"].as_str(), field(0), "line {at}");
        assert_eq!(rec["model"].as_str(), field(1), "line {at}");
    }

    // Recompute from the bag alone: lineage as the MLflow source, the extracts as NDJSON with
    // each original source's success values, the bag's audits and exceptions.
    let e = bag.join("data/evidence");
    let config = tmp.path().join("recompute.yaml");
    let logs = |dir: &str, ok: &str| {
        format!(
            "    - {{ path: \"{}/logs/{dir}/*.minimised.ndjson\", format: ndjson, success: [{ok}] }}\n",
            e.display()
        )
    };
    std::fs::write(
        &config,
        format!(
            "organization: Acme Lending\nreport:\n  period: {{ start: 2026-07-01, end: 2026-09-30 }}\n\
             sources:\n  mlflow:\n    - path: {}/mlflow/lineage\n  logs:\n{}{}{}{}\
             \x20 audits: [\"{}/audits/*\"]\n  exceptions: [\"{}/exceptions.csv\"]\n",
            e.display(),
            logs("splunk", "\"200\""),
            logs("elastic", "\"200\""),
            logs("gateway", "ok"),
            logs("batch", "success"),
            e.display(),
            e.display(),
        ),
    )
    .unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let again = out.json();
    let bundled = json(&bag.join("data/kpis/kpis.json"));
    for table in ["portfolio", "portfolio_high"] {
        for (kpi, v) in bundled[table].as_object().unwrap() {
            assert_eq!(again[table][kpi]["value"], v["value"], "{table}.{kpi}");
        }
    }
    for field in [
        "in_production",
        "version",
        "has_model_card",
        "has_dataset_provenance",
        "has_evaluation",
        "has_code_lineage",
        "has_approval",
        "requests",
        "error_rate",
        "latency_p99_ms",
        "logging_coverage",
        "longest_gap_hours",
        "score_psi",
        "daily_requests",
    ] {
        for (a, b) in again["models"]
            .as_array()
            .unwrap()
            .iter()
            .zip(bundled["models"].as_array().unwrap())
        {
            assert_eq!(a[field], b[field], "{} {field}", b["name"]);
        }
    }
    // Even the reasons records were rejected for survive the minimising.
    let reasons = |d: &Value| -> Vec<(String, u64)> {
        let mut r: Vec<(String, u64)> = d["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["reason"].as_str().unwrap().to_string(),
                    r["count"].as_u64().unwrap(),
                )
            })
            .collect();
        r.sort();
        r
    };
    assert_eq!(reasons(&again), reasons(&bundled));
    assert!(!reasons(&bundled).is_empty());
}

#[test]
fn include_stores_and_original_extracts_opt_back_in() {
    let tmp = tempfile::tempdir().unwrap();
    let bag = build_copy(
        tmp.path(),
        "bundle:\n  include_stores: true\n  log_extracts: original\n",
    );
    let all = files(&bag);
    let db = all
        .iter()
        .find(|f| f.ends_with("mlflow.db"))
        .expect("the store is copied");
    assert_eq!(
        sha256_hex(&bag.join(db)),
        sha256_hex(&tmp.path().join("sample/mlflow/mlflow.db"))
    );
    assert!(all.contains(&"data/evidence/logs/batch/marketing-propensity.parquet".to_string()));
    assert!(!all.iter().any(|f| f.ends_with(".minimised.ndjson")));
    assert!(
        !all.iter()
            .any(|f| f.starts_with("data/evidence/mlflow/lineage/"))
    );
}

#[test]
fn redacted_fields_are_keyed_hashes_and_need_minimised_extracts() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    assert_eq!(run(&["keygen", "-q", "-o", keys.to_str().unwrap()]).code, 0);
    let extra = format!(
        "signing:\n  key: {}\nbundle:\n  redact: [version]\n",
        keys.join("dossier-signing.key").display()
    );
    let bag = build_copy(tmp.path(), &extra);
    let extract = bag.join("data/evidence/logs/elastic/fraud-detector.ndjson.minimised.ndjson");
    let text = std::fs::read_to_string(&extract).unwrap();
    let versions: std::collections::BTreeSet<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["version"].as_str().map(String::from))
        .collect();
    // As many distinct hashes as the file has distinct versions, and no clear text.
    let original =
        std::fs::read_to_string(tmp.path().join("sample/logs/elastic/fraud-detector.ndjson"))
            .unwrap();
    let clear: std::collections::BTreeSet<String> = original
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["_source"]["model"]["version"].as_str().map(String::from))
        .collect();
    assert!(!clear.is_empty());
    assert_eq!(versions.len(), clear.len(), "{versions:?} {clear:?}");
    for v in &versions {
        assert!(v.starts_with("hmac-sha256:") && v.len() == 12 + 64, "{v}");
    }

    let sample = tmp.path().join("again");
    copy_dir(&repo().join("sample-evidence"), &sample);
    let config = sample.join("dossier.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}bundle:\n  log_extracts: original\n  redact: [version]\n"),
    )
    .unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("bundle.redact"), "{}", out.stderr);
    // Every KPI is keyed on the timestamp and the model: neither can be redacted.
    std::fs::write(&config, format!("{text}bundle:\n  redact: [timestamp]\n")).unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("`timestamp` cannot be redacted"),
        "{}",
        out.stderr
    );
}

/// A large log file's extract is written straight into the zip (issue 20); the sample's files
/// are small, so `DOSSIER_STREAM_EXTRACT_BYTES=0` streams them all. The bag must be the same,
/// file for file, as the spooled build's, its extract entries stored (the streamed path taken),
/// and it must verify.
#[test]
fn streamed_extracts_make_the_same_bag_and_it_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = tmp.path().join("sample");
    copy_dir(&repo().join("sample-evidence"), &sample);
    let keys = tmp.path().join("keys");
    assert_eq!(run(&["keygen", "-o", keys.to_str().unwrap()]).code, 0);
    // The same sample built twice (paths inside the bag are the sample's), spooled and streamed.
    let build = |name: &str, streamed: &str| {
        let done = succeed(
            std_dossier()
                .env("DOSSIER_STREAM_EXTRACT_BYTES", streamed)
                .args(["build", "-q", "--timestamp", TIME, "-c"])
                .arg(sample.join("dossier.yaml"))
                .arg("--key")
                .arg(keys.join("dossier-signing.key"))
                .arg("-o")
                .arg(tmp.path().join(name)),
        );
        let zip = PathBuf::from(
            String::from_utf8(done.stdout)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        );
        let archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
        (zip, archive)
    };
    let (_, mut spooled) = build("spooled", &(64u64 << 20).to_string());
    let (zip_path, mut archive) = build("streamed", "0");
    let mut extracts = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).unwrap();
        if entry.name().ends_with(".minimised.ndjson") && entry.size() > 0 {
            assert_eq!(
                entry.compression(),
                zip::CompressionMethod::Stored,
                "{}",
                entry.name()
            );
            extracts += 1;
        }
    }
    assert!(extracts >= 2, "{extracts} streamed extracts");
    spooled.extract(tmp.path().join("a")).unwrap();
    archive.extract(tmp.path().join("b")).unwrap();
    let names = files(&tmp.path().join("a"));
    assert!(names.len() > 20, "{names:?}");
    assert_eq!(names, files(&tmp.path().join("b")));
    for name in &names {
        let a = std::fs::read(tmp.path().join("a").join(name)).unwrap();
        assert!(
            a == std::fs::read(tmp.path().join("b").join(name)).unwrap(),
            "{name} differs"
        );
    }
    let public = keys.join("dossier-signing.pub");
    let verified = run(&[
        "verify",
        zip_path.to_str().unwrap(),
        "--pubkey",
        public.to_str().unwrap(),
    ]);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
}
