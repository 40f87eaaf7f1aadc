//! Every bad-input path of the foundation: a clear `error:` naming the file (exit 1), or a warning
//! where the rest of the store is usable — never a panic, never a silently dropped model.

use std::path::Path;

use crate::common::*;

fn assert_clean_failure(out: &Outcome, needles: &[&str]) {
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "no partial result on stdout: {}",
        out.stdout
    );
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    for n in needles {
        assert!(out.stderr.contains(n), "`{n}` not in:\n{}", out.stderr);
    }
}

fn kpis_on_store(store: &Path) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    kpis_json(&mlflow_config(tmp.path(), store, ""))
}

/// A scratch copy of a fixture store.
fn scratch(rel: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("store");
    copy_dir(&fixture(rel), &dst);
    (tmp, dst)
}

/// The run id a file-store model version points at.
fn version_run_id(mlruns: &Path, model: &str, version: u32) -> String {
    let meta =
        std::fs::read_to_string(mlruns.join(format!("models/{model}/version-{version}/meta.yaml")))
            .unwrap();
    meta.lines()
        .find_map(|l| l.strip_prefix("run_id: "))
        .unwrap()
        .trim()
        .to_string()
}

/// The source run id of a model version in a file store, and that run's meta.yaml.
fn source_run_meta(mlruns: &Path, model: &str, version: u32) -> (String, std::path::PathBuf) {
    let run = version_run_id(mlruns, model, version);
    let meta = std::fs::read_dir(mlruns)
        .unwrap()
        .map(|e| e.unwrap().path().join(&run).join("meta.yaml"))
        .find(|p| p.is_file())
        .unwrap();
    (run, meta)
}

#[test]
fn missing_store_path() {
    let out = kpis_on_store(Path::new("/nonexistent/mlflow.db"));
    assert_clean_failure(&out, &["/nonexistent/mlflow.db", "No such file"]);
}

#[test]
fn file_that_is_not_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("notes.txt");
    std::fs::write(&f, "hello").unwrap();
    assert_clean_failure(&kpis_on_store(&f), &["notes.txt", "not an MLflow store"]);
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_clean_failure(&kpis_on_store(&empty), &["empty", "not an MLflow store"]);
}

#[test]
fn sqlite_database_that_is_not_mlflow() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("other.db");
    let conn = rusqlite::Connection::open(&f).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER);")
        .unwrap();
    drop(conn);
    assert_clean_failure(&kpis_on_store(&f), &["other.db", "without a `runs` table"]);
}

#[test]
fn corrupt_sqlite_store() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("mlflow.db");
    let mut bytes = std::fs::read(fixture("mlflow/sqlite-3x/mlflow.db")).unwrap();
    // Keep the 100-byte header so the file is still taken for SQLite; wreck every page after it.
    for b in bytes.iter_mut().skip(100) {
        *b = 0xA5;
    }
    std::fs::write(&f, bytes).unwrap();
    assert_clean_failure(
        &kpis_on_store(&f),
        &["mlflow.db", "cannot read SQLite store"],
    );
}

#[test]
fn locked_sqlite_store() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("mlflow.db");
    std::fs::copy(fixture("mlflow/sqlite-3x/mlflow.db"), &f).unwrap();
    let conn = rusqlite::Connection::open(&f).unwrap();
    // A writer mid-transaction with an exclusive lock, as a busy tracking server could be.
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
        .unwrap();
    let out = kpis_on_store(&f);
    assert_clean_failure(&out, &["mlflow.db", "locked", "hint:"]);
    conn.execute_batch("ROLLBACK;").unwrap();
}

#[test]
fn store_is_never_written() {
    let (_tmp, dst) = scratch("mlflow/sqlite-3x");
    let before: Vec<_> = std::fs::read_dir(&dst)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let bytes = std::fs::read(dst.join("mlflow.db")).unwrap();
    assert_eq!(kpis_on_store(&dst.join("mlflow.db")).code, 0);
    let after: Vec<_> = std::fs::read_dir(&dst)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        before.len(),
        after.len(),
        "no journal or lock file left behind: {after:?}"
    );
    assert_eq!(bytes, std::fs::read(dst.join("mlflow.db")).unwrap());
}

#[test]
fn malformed_version_meta_yaml() {
    let (_tmp, dst) = scratch("mlflow/filestore-3x/mlruns");
    let meta = dst.join("models/fraud-detector/version-2/meta.yaml");
    std::fs::write(&meta, "version: 2\nrun_id: [unclosed\n").unwrap();
    assert_clean_failure(
        &kpis_on_store(&dst),
        &["fraud-detector/version-2/meta.yaml:", "malformed meta.yaml"],
    );
}

#[test]
fn malformed_run_meta_yaml() {
    let (_tmp, dst) = scratch("mlflow/filestore-3x/mlruns");
    let (run, meta) = source_run_meta(&dst, "credit-risk-scorer", 2);
    std::fs::write(&meta, "run_id: [unclosed\n").unwrap();
    assert_clean_failure(
        &kpis_on_store(&dst),
        &[&format!("{run}/meta.yaml:"), "malformed meta.yaml"],
    );
}

#[test]
fn run_folder_without_meta_yaml_is_a_warning_and_counts_as_missing() {
    let (_tmp, dst) = scratch("mlflow/filestore-3x/mlruns");
    let (run, meta) = source_run_meta(&dst, "credit-risk-scorer", 2);
    std::fs::remove_file(&meta).unwrap();
    let out = kpis_on_store(&dst);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let credit = &doc["models"][1];
    assert_eq!(credit["name"], "credit-risk-scorer");
    assert_eq!(credit["in_production"], true, "the model is still listed");
    assert_eq!(credit["has_model_card"], false);
    assert_eq!(
        credit["has_approval"], true,
        "the version's own tag is still read"
    );
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains(&format!("{run}: run folder without meta.yaml")),
        "{warnings}"
    );
    assert!(out.stderr.contains("warning:"), "{}", out.stderr);
    assert_eq!(
        doc["portfolio"]["documentation_completeness"]["numerator"],
        2
    );
}

#[test]
fn non_utf8_name_in_a_file_store() {
    use std::os::unix::ffi::OsStrExt;
    let (_tmp, dst) = scratch("mlflow/filestore-2x/mlruns");
    let bad = dst
        .join("models")
        .join(std::ffi::OsStr::from_bytes(b"risk-\xff-model"));
    std::fs::create_dir_all(&bad).unwrap();
    assert_clean_failure(
        &kpis_on_store(&dst),
        &["risk-\u{fffd}-model", "not valid UTF-8"],
    );
}

#[test]
fn malformed_export_json() {
    let (_tmp, dst) = scratch("mlflow/export-import");
    std::fs::write(
        dst.join("models/fraud-detector/model.json"),
        "{\"mlflow\": {\"registered_model\": ",
    )
    .unwrap();
    assert_clean_failure(
        &kpis_on_store(&dst),
        &["fraud-detector/model.json:1:", "malformed JSON"],
    );
}

#[test]
fn deleted_runs_and_experiments_are_not_evidence() {
    // Point a production alias at a version whose run was deleted: the model stays listed and its
    // evidence counts as missing, with a warning — the deleted run's data is never read.
    let (_tmp, dst) = scratch("mlflow/sqlite-3x");
    let db = dst.join("mlflow.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let run: String = conn
        .query_row(
            "SELECT run_id FROM model_versions WHERE name = 'credit-risk-scorer' AND version = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?1",
        [&run],
    )
    .unwrap();
    drop(conn);
    let out = kpis_on_store(&db);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let credit = &doc["models"][1];
    assert_eq!(credit["has_evaluation"], false);
    assert_eq!(credit["has_code_lineage"], false);
    assert!(
        doc["warnings"]
            .to_string()
            .contains(&format!("source run {run} is missing or deleted"))
    );
}

#[test]
fn two_stores_with_the_same_model_are_ambiguous() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        format!(
            "organization: X\nreport: {{ period: {{ start: 2026-07-01, end: 2026-09-30 }} }}\nsources:\n  mlflow:\n    - path: {}\n    - path: {}\n",
            fixture("mlflow/sqlite-3x/mlflow.db").display(),
            fixture("mlflow/filestore-2x").display()
        ),
    )
    .unwrap();
    assert_clean_failure(
        &kpis_json(&config),
        &["registered model `churn-predictor` is also in"],
    );
}

/// A bundle's lineage folder read back as an MLflow source: a damaged extract is an error naming
/// it, and an `artifacts` path leading out of the bag is not followed.
#[test]
fn hostile_lineage_extracts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bag/data/evidence/mlflow/lineage");
    std::fs::create_dir_all(&dir).unwrap();
    let secret = tmp.path().join("outside");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("model_card.md"), "not evidence").unwrap();
    let extract = |artifacts: &str| {
        format!(
            r#"{{"format": "dossier-lineage/1",
  "model": {{"name": "m", "aliases": {{"champion": "1"}}, "versions": [{{"version": "1", "run_id": "r"}}]}},
  "runs": {{"r": {{"run_id": "r", "metrics": {{"auc": null}}}}}},
  "artifacts": {{"r": "{artifacts}"}}}}"#
        )
    };
    std::fs::write(dir.join("m.json"), extract("../../../../../outside")).unwrap();
    let config = mlflow_config(tmp.path(), &dir, "");
    let out = kpis_json(&config);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["models"][0]["in_production"], true);
    assert_eq!(
        doc["models"][0]["has_model_card"], false,
        "read outside the bag"
    );
    assert!(
        doc["warnings"]
            .to_string()
            .contains("outside the store's folders"),
        "{}",
        doc["warnings"]
    );

    std::fs::write(
        dir.join("m.json"),
        extract("x").replace("lineage/1", "lineage/9"),
    )
    .unwrap();
    std::fs::write(dir.join("a.json"), extract("x")).unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("m.json"), "{}", out.stderr);
    assert!(out.stderr.contains("`dossier-lineage/9`"), "{}", out.stderr);

    std::fs::write(
        dir.join("m.json"),
        "{\"format\": \"dossier-lineage/1\", \"model\": [",
    )
    .unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("m.json:1:"), "{}", out.stderr);
}
