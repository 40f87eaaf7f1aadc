//! MLflow stores in (SPEC §3.1), one `Store` per configured source out: every registered model
//! with its tags, aliases and versions, and the runs those versions came from (params, latest
//! metrics, tags, dataset inputs, and the local folder their artifacts were found in).
//!
//! Three layouts are read without MLflow or Python, and told apart by what is on disk: a SQLite
//! store (`sqlite`), a file store (`filestore`) and an mlflow-export-import folder (`export`).
//! Guarantees: no registered model is dropped without an error; deleted runs and experiments are
//! never read as evidence; anything that could not be established (a missing run, an artifact
//! folder not found) is a warning naming the path, never a silent `false`.

mod artifacts;
mod export;
mod files;
mod filestore;
mod lineage;
mod sqlite;
pub mod traces;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::MlflowSource;
use crate::error::{Error, Result};

pub use artifacts::find_named_file;

/// The format of the lineage extracts a minimised bundle carries instead of a store.
pub const LINEAGE_FORMAT: &str = "dossier-lineage/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    FileStore,
    ExportImport,
    /// A bundle's `data/evidence/mlflow/lineage/` folder.
    Lineage,
}

impl StoreKind {
    pub fn label(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::FileStore => "file-store",
            StoreKind::ExportImport => "export-import",
            StoreKind::Lineage => "dossier-lineage",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    /// The configured path.
    pub path: PathBuf,
    pub kind: StoreKind,
    /// Sorted by name.
    pub models: Vec<RegisteredModel>,
    /// Source runs of model versions, by run id. A run that is missing or deleted is absent.
    pub runs: BTreeMap<String, Run>,
    /// The folder the store's files are relative to (a SQLite file's folder, the mlruns/ root, the
    /// export root).
    pub root: PathBuf,
    /// Every metadata file the reader took facts from: the evidence behind the inventory.
    pub metadata_files: Vec<PathBuf>,
    /// MLflow 3: the metric names logged on each logged model (by model id), which a version
    /// made from it (`source` `models:/<id>`) may carry instead of its source run.
    pub logged_model_metrics: BTreeMap<String, std::collections::BTreeSet<String>>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RegisteredModel {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// alias → version
    pub aliases: BTreeMap<String, String>,
    /// Sorted by version number.
    pub versions: Vec<ModelVersion>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ModelVersion {
    pub version: String,
    pub current_stage: Option<String>,
    pub run_id: Option<String>,
    pub source: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// MLflow's `creation_timestamp` (ms since the epoch), when the store records one.
    pub created_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Run {
    pub run_id: String,
    pub experiment_id: String,
    pub artifact_uri: Option<String>,
    pub params: BTreeMap<String, String>,
    /// The latest value of each metric (highest step, then timestamp, as MLflow picks it).
    /// JSON has no NaN: serde_json writes it as `null`, which reads back as NaN.
    #[serde(deserialize_with = "nan_for_null")]
    pub metrics: BTreeMap<String, f64>,
    pub tags: BTreeMap<String, String>,
    pub datasets: Vec<DatasetInput>,
    /// The local folder holding the run's artifacts, if one was found.
    pub artifact_dir: Option<PathBuf>,
    /// MLflow's `start_time` (ms since the epoch), when the store records one.
    pub started_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DatasetInput {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
}

fn nan_for_null<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> std::result::Result<BTreeMap<String, f64>, D::Error> {
    let raw: BTreeMap<String, Option<f64>> = serde::Deserialize::deserialize(de)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

/// A metric observation, for picking the latest the way MLflow does.
#[derive(Debug, Clone, Copy)]
struct MetricPoint {
    step: i64,
    timestamp: i64,
    value: f64,
}

impl MetricPoint {
    /// MLflow's latest metric: the largest (step, timestamp, value).
    fn later_of(a: MetricPoint, b: MetricPoint) -> MetricPoint {
        let key = |m: &MetricPoint| (m.step, m.timestamp);
        match key(&a).cmp(&key(&b)) {
            std::cmp::Ordering::Less => b,
            std::cmp::Ordering::Greater => a,
            std::cmp::Ordering::Equal if b.value > a.value => b,
            std::cmp::Ordering::Equal => a,
        }
    }
}

/// Read one configured MLflow source.
pub fn read(source: &MlflowSource) -> Result<Store> {
    let path = &source.path;
    let kind = detect(path)?;
    let mut store = match kind {
        StoreKind::Sqlite => sqlite::read(&sqlite_file(path))?,
        StoreKind::FileStore => filestore::read(&filestore_root(path))?,
        StoreKind::ExportImport => export::read(path)?,
        StoreKind::Lineage => lineage::read(path)?,
    };
    store.path = path.clone();
    store.models.sort_by(|a, b| a.name.cmp(&b.name));
    for model in &mut store.models {
        model.versions.sort_by_key(|v| version_number(&v.version));
    }
    let roots = artifact_search_roots(source, kind);
    let mut warnings = Vec::new();
    let mut not_found: Vec<(String, String)> = Vec::new();
    for run in store.runs.values_mut() {
        // A lineage extract names the bundle folders it kept; nothing else is looked for.
        if kind == StoreKind::Lineage && run.artifact_dir.is_none() {
            continue;
        }
        if run.artifact_dir.is_none() {
            run.artifact_dir = artifacts::resolve(run, &roots);
        }
        // Whatever the URI says, artifacts are read from the store's folders and artifact_root
        // only: an artifact_uri of /etc must never bring /etc/shadow into a signed bundle.
        if let Some(dir) = run.artifact_dir.take() {
            match artifacts::confine(&dir, &roots) {
                Some(real) => run.artifact_dir = Some(real),
                None => {
                    warnings.push(format!(
                        "{}: artifact folder of run {} resolves to {}, outside the store's \
                         folders and artifact_root; not read (set artifact_root to where the \
                         artifacts really are)",
                        path.display(),
                        run.run_id,
                        std::fs::canonicalize(&dir).unwrap_or(dir).display()
                    ));
                    continue;
                }
            }
        }
        if run.artifact_dir.is_none() {
            not_found.push((
                run.run_id.clone(),
                run.artifact_uri.clone().unwrap_or_else(|| "missing".into()),
            ));
        }
    }
    warnings.extend(artifacts_not_found(source, &roots, &not_found));
    store.warnings.extend(warnings);
    Ok(store)
}

/// One warning for every run whose artifact folder was not found, with the fix: stores moved
/// from another machine record paths that no longer exist, and a warning per run buried it.
fn artifacts_not_found(
    source: &MlflowSource,
    roots: &[PathBuf],
    runs: &[(String, String)],
) -> Option<String> {
    let (first_run, first_uri) = runs.first()?;
    let fix = match &source.artifact_root {
        Some(root) => format!(
            "check `artifact_root` ({}): the run folders (<experiment>/<run id>/artifacts) \
             should be under it",
            root.display()
        ),
        None => "set `artifact_root` under this `sources.mlflow` entry to the folder the \
                 artifacts are in now (the one holding <experiment>/<run id>/artifacts)"
            .into(),
    };
    let ids: Vec<&str> = runs.iter().map(|(id, _)| id.as_str()).take(5).collect();
    let more = runs.len().saturating_sub(ids.len());
    Some(format!(
        "{}: the artifact folders of {} run(s) were not found ({}{}; run {first_run} records \
         artifact_uri {first_uri}); looked under {}. Their model cards and evaluation artifacts \
         count as missing: {fix}",
        source.path.display(),
        runs.len(),
        ids.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Versions are integers in MLflow; anything else sorts last, in text order.
fn version_number(v: &str) -> (u64, String) {
    (v.parse().unwrap_or(u64::MAX), v.to_string())
}

fn is_sqlite_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 16];
    // Through fsio: a FIFO named mlflow.db must not block the detection.
    crate::fsio::open_regular(path, "MLflow store file", None)
        .is_ok_and(|(mut f, _)| f.read_exact(&mut magic).is_ok() && &magic == b"SQLite format 3\0")
}

fn detect(path: &Path) -> Result<StoreKind> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::io("cannot read MLflow store", path, e))?;
    if meta.is_file() {
        return if is_sqlite_file(path) {
            Ok(StoreKind::Sqlite)
        } else {
            Err(not_a_store(path, "a file that is not a SQLite database"))
        };
    }
    if path.join("manifest.json").is_file()
        || path.join("run.json").is_file()
        || path.join("model.json").is_file()
        || path.join("experiments").join("experiments.json").is_file()
        || path.join("models").join("models.json").is_file()
        || holds_model_exports(&path.join("models"))
    {
        return Ok(StoreKind::ExportImport);
    }
    if lineage::looks_like(path) {
        return Ok(StoreKind::Lineage);
    }
    if filestore::looks_like(path) || filestore::looks_like(&path.join("mlruns")) {
        return Ok(StoreKind::FileStore);
    }
    if is_sqlite_file(&path.join("mlflow.db")) {
        return Ok(StoreKind::Sqlite);
    }
    Err(not_a_store(path, "a folder with no MLflow store in it"))
}

/// Single-model exports gathered in one folder: `models/<name>/model.json`, which a file store
/// never has (its registry holds `models/<name>/meta.yaml`).
fn holds_model_exports(models: &Path) -> bool {
    std::fs::read_dir(models).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().join("model.json").is_file())
    })
}

fn not_a_store(path: &Path, what: &str) -> Error {
    Error::Mlflow {
        path: path.to_path_buf(),
        message: format!("not an MLflow store: {what}"),
        hint: Some(
            "point `sources.mlflow[].path` at an mlflow.db file, an mlruns/ folder or an \
             mlflow-export-import output folder"
                .into(),
        ),
    }
}

fn sqlite_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("mlflow.db")
    } else {
        path.to_path_buf()
    }
}

fn filestore_root(path: &Path) -> PathBuf {
    if filestore::looks_like(path) {
        path.to_path_buf()
    } else {
        path.join("mlruns")
    }
}

/// Where a run's artifacts may have moved to (SPEC §3.1): the configured `artifact_root`, then the
/// store's own folder and MLflow's default artifact folders beside it.
fn artifact_search_roots(source: &MlflowSource, kind: StoreKind) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(root) = &source.artifact_root {
        roots.push(root.clone());
    }
    let store_dir = match kind {
        StoreKind::Sqlite if source.path.is_file() => source
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        StoreKind::FileStore => filestore_root(&source.path),
        StoreKind::Lineage => source
            .path
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| source.path.clone()),
        _ => source.path.clone(),
    };
    roots.push(store_dir.clone());
    roots.push(store_dir.join("mlruns"));
    roots.push(store_dir.join("mlartifacts"));
    roots.dedup();
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_metric_follows_mlflow_ordering() {
        let p = |step, timestamp, value| MetricPoint {
            step,
            timestamp,
            value,
        };
        // A higher step wins even with an older timestamp.
        assert_eq!(MetricPoint::later_of(p(1, 5, 0.8), p(0, 9, 0.7)).value, 0.8);
        assert_eq!(MetricPoint::later_of(p(0, 9, 0.7), p(1, 5, 0.8)).value, 0.8);
        // Same step: the later timestamp; a full tie: the larger value.
        assert_eq!(MetricPoint::later_of(p(0, 1, 0.9), p(0, 2, 0.1)).value, 0.1);
        assert_eq!(MetricPoint::later_of(p(0, 1, 0.1), p(0, 1, 0.9)).value, 0.9);
    }

    #[test]
    fn versions_sort_numerically() {
        let mut v = vec!["10", "9", "x", "1"];
        v.sort_by_key(|s| version_number(s));
        assert_eq!(v, ["1", "9", "10", "x"]);
    }
}
