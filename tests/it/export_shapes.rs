//! MLflow stores in the shapes real tools wrote them (issue 15): every model.json shape
//! mlflow-export-import has written (2021 `registered_model.latest_versions`, 1.1.x
//! `export_info` + `latest_versions`, 1.2+ `mlflow.registered_model.versions`), single-model
//! exports gathered in `models/<name>/`, a model whose versions cannot be read (an error, never
//! "not in production"), and a file-store run whose meta.yaml is no record of it (no facts drawn).
//! The model.json files are written here in the samples' shapes; nothing is copied from them.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::*;

fn write(path: &Path, doc: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
}

/// One version entry as every export release writes it.
fn version(v: &str, stage: &str, run: &str) -> Value {
    json!({
        "creation_timestamp": 1_630_416_867_141i64, "current_stage": stage, "description": "",
        "name": "wine", "run_id": run, "source": format!("/opt/mlruns/1/{run}/artifacts/model"),
        "status": "READY", "tags": {}, "version": v,
    })
}

/// The source run of version 3, with an evaluation metric.
fn run_json(run: &str) -> Value {
    json!({"info": {"run_id": run, "experiment_id": "1", "lifecycle_stage": "active",
                    "start_time": 1_630_416_000_000i64},
           "params": {}, "metrics": {"accuracy": [{"value": 0.9, "timestamp": 1, "step": 0}]},
           "tags": {"mlflow.source.git.commit": "abc123"}})
}

fn production_of(store: &Path) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    kpis_json(&mlflow_config(tmp.path(), store, ""))
}

#[test]
fn every_model_json_shape_reads_the_production_version() {
    let run = "24aa9cce1388474e9f26d17100724cdd";
    let latest = json!([
        version("3", "Production", run),
        version("5", "Staging", "8efd")
    ]);
    let shapes = [
        // 2021 samples: the registered model at the top, timestamps as strings.
        json!({"registered_model": {"name": "wine", "creation_timestamp": "1630416728707",
                                    "latest_versions": latest}}),
        // 1.1.x (MLflow 2.0/2.1): export_info beside it, tags as a list.
        json!({"export_info": {"mlflow_version": "2.0.1"},
               "registered_model": {"name": "wine", "latest_versions": latest,
                                    "tags": [{"key": "risk_tier", "value": "high"}]}}),
        // 1.2 and later: under `mlflow`, every version.
        json!({"system": {"package_version": "1.2.0"},
               "mlflow": {"registered_model": {"name": "wine", "aliases": [],
                          "versions": [version("1", "Archived", "old"), version("3", "Production", run),
                                       version("5", "Staging", "8efd")]}}}),
    ];
    for (i, doc) in shapes.iter().enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("export");
        write(&root.join("models/wine/model.json"), doc);
        write(
            &root.join(format!("experiments/1/{run}/run.json")),
            &run_json(run),
        );
        let out = production_of(&root);
        assert_eq!(out.code, 0, "shape {i}: {}", out.stderr);
        let doc = out.json();
        let m = &doc["models"][0];
        assert_eq!(
            (&m["in_production"], &m["version"], &m["production_via"]),
            (&true.into(), &"3".into(), &"stage:Production".into()),
            "shape {i}"
        );
        assert_eq!(m["git_commit"], "abc123", "shape {i}");
        assert_eq!(
            doc["mlflow_sources"][0]["kind"], "export-import",
            "shape {i}"
        );
    }
}

#[test]
fn a_model_whose_versions_cannot_be_read_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("export");
    let model = root.join("models/wine/model.json");
    write(
        &model,
        &json!({"mlflow": {"registered_model": {"name": "wine"}}}),
    );
    let out = production_of(&root);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("model.json")
            && out.stderr.contains("no `versions` or `latest_versions`"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn single_model_exports_in_a_models_folder_are_an_export() {
    // No manifest.json, no models/models.json: only models/<name>/model.json, as several
    // `export-model` runs leave them. A file store's registry would hold meta.yaml there.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("gathered");
    let run = "24aa9cce1388474e9f26d17100724cdd";
    let doc = json!({"mlflow": {"registered_model": {"name": "wine",
                     "versions": [version("3", "Production", run)]}}});
    write(&root.join("models/wine/model.json"), &doc);
    let out = production_of(&root);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["mlflow_sources"][0]["kind"], "export-import");
    assert_eq!(doc["models"][0]["in_production"], true);
}

#[test]
fn a_run_whose_meta_yaml_is_no_record_of_it_gives_no_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("fs");
    copy_dir(&fixture("mlflow/filestore-3x"), &store);
    let before = production_of(&store.join("mlruns")).json();
    // A production model whose source run has a git commit: its meta.yaml is made garbage.
    let m = before["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["in_production"] == true && m["has_code_lineage"] == true)
        .expect("a production model with code lineage")
        .clone();
    let run = m["source_run"].as_str().unwrap();
    let meta = std::fs::read_dir(store.join("mlruns"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join(run).join("meta.yaml"))
        .find(|p| p.is_file())
        .unwrap();
    std::fs::write(&meta, "garbage: true\nnot_a: run\n").unwrap();
    let out = production_of(&store.join("mlruns"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = out.json();
    let m2 = after["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == m["name"])
        .unwrap();
    assert_eq!(
        m2["has_code_lineage"], false,
        "no fact from an unreadable run"
    );
    assert!(m2["git_commit"].is_null());
    let warnings = after["warnings"].to_string();
    assert!(
        warnings.contains("names no run") && warnings.contains(run),
        "{warnings}"
    );
}
