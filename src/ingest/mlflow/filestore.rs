//! An MLflow file store (`mlruns/`, MLflow 1.x–3.x) in, a `Store` out. The registry lives under
//! `models/<name>/` (`meta.yaml`, `tags/`, `aliases/`, `version-N/`); runs under
//! `<experiment_id>/<run_id>/` (`meta.yaml`, `params/`, `metrics/`, `tags/`, `inputs/`), with
//! dataset records in `<experiment_id>/datasets/`. Deleted runs, deleted experiments and `.trash/`
//! are never read. A malformed `meta.yaml` is an error naming the file and line; a run folder
//! without one is a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::files::{list_dir, read_kv_dir, read_text, read_yaml, walk_files, yaml_scalar};
use super::{DatasetInput, MetricPoint, ModelVersion, RegisteredModel, Run, Store, StoreKind};
use crate::error::Result;

/// A folder is a file store if it holds a registry or an experiment folder with a `meta.yaml`.
pub fn looks_like(path: &Path) -> bool {
    if path.join("models").is_dir() && path.join("models").read_dir().is_ok() {
        return true;
    }
    list_dir(path)
        .map(|entries| {
            entries
                .iter()
                .any(|e| is_experiment_dir_name(e) && path.join(e).join("meta.yaml").is_file())
        })
        .unwrap_or(false)
}

fn is_experiment_dir_name(name: &str) -> bool {
    name != "models" && !name.starts_with('.')
}

pub fn read(root: &Path) -> Result<Store> {
    let mut warnings = Vec::new();
    let models = read_registry(root)?;
    let experiments = active_experiments(root)?;
    let wanted: BTreeSet<&str> = models
        .iter()
        .flat_map(|m| m.versions.iter())
        .filter_map(|v| v.run_id.as_deref())
        .collect();
    let mut runs = BTreeMap::new();
    let mut metadata_files: Vec<PathBuf> = walk_files(&root.join("models"))?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    for run_id in wanted {
        let dir = experiments
            .iter()
            .map(|exp| exp.join(run_id))
            .find(|d| d.is_dir());
        let Some(dir) = dir else {
            warnings.push(format!(
                "{}: source run {run_id} is missing or deleted",
                root.display()
            ));
            continue;
        };
        // Without a run, read_run has said why: no meta.yaml, an unreadable one, or deleted.
        if let Some(run) = read_run(&dir, &mut warnings, &mut metadata_files)? {
            runs.insert(run_id.to_string(), run);
        }
    }
    Ok(Store {
        path: root.to_path_buf(),
        kind: StoreKind::FileStore,
        models,
        runs,
        root: root.to_path_buf(),
        metadata_files,
        logged_model_metrics: logged_model_metrics(&experiments)?,
        warnings,
    })
}

/// MLflow 3 logged models' metric names: `<experiment>/models/<id>/metrics/<name>`.
fn logged_model_metrics(experiments: &[PathBuf]) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for exp in experiments {
        let models = exp.join("models");
        if !models.is_dir() {
            continue;
        }
        for id in list_dir(&models)? {
            let names: BTreeSet<String> = walk_files(&models.join(&id).join("metrics"))?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            if !names.is_empty() {
                out.insert(id, names);
            }
        }
    }
    Ok(out)
}

// ---- registry ------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct ModelMeta {
    name: String,
    #[serde(default)]
    aliases: Option<BTreeMap<String, serde_yaml::Value>>,
}

#[derive(Debug, Deserialize)]
struct VersionMeta {
    version: serde_yaml::Value,
    #[serde(default)]
    current_stage: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    creation_timestamp: Option<serde_yaml::Value>,
}

pub(super) fn read_registry(root: &Path) -> Result<Vec<RegisteredModel>> {
    let models_dir = root.join("models");
    if !models_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut models = Vec::new();
    for entry in list_dir(&models_dir)? {
        let dir = models_dir.join(&entry);
        if !dir.is_dir() {
            continue;
        }
        let meta: ModelMeta = read_yaml(&dir.join("meta.yaml"))?;
        let mut aliases: BTreeMap<String, String> = meta
            .aliases
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, yaml_scalar(&v)))
            .collect();
        // The aliases/ folder is the file store's record; meta.yaml's map mirrors it in 3.x.
        aliases.extend(read_kv_dir(&dir.join("aliases"))?);
        let mut versions = Vec::new();
        for name in list_dir(&dir)? {
            if name.starts_with("version-") && dir.join(&name).is_dir() {
                versions.push(read_version(&dir.join(&name))?);
            }
        }
        models.push(RegisteredModel {
            name: meta.name,
            tags: read_kv_dir(&dir.join("tags"))?,
            aliases,
            versions,
        });
    }
    Ok(models)
}

fn read_version(dir: &Path) -> Result<ModelVersion> {
    let meta: VersionMeta = read_yaml(&dir.join("meta.yaml"))?;
    Ok(ModelVersion {
        version: yaml_scalar(&meta.version),
        current_stage: meta.current_stage,
        run_id: meta.run_id.filter(|s| !s.is_empty()),
        source: meta.source,
        tags: read_kv_dir(&dir.join("tags"))?,
        created_ms: meta.creation_timestamp.as_ref().and_then(yaml_millis),
    })
}

/// A timestamp as MLflow writes it (integer milliseconds); anything else is unknown.
fn yaml_millis(value: &serde_yaml::Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

// ---- runs ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct ExperimentMeta {
    #[serde(default)]
    lifecycle_stage: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RunMeta {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    experiment_id: Option<serde_yaml::Value>,
    #[serde(default)]
    artifact_uri: Option<String>,
    #[serde(default)]
    lifecycle_stage: Option<String>,
    #[serde(default)]
    start_time: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
struct InputMeta {
    #[serde(default)]
    source_type: Option<String>,
    #[serde(default)]
    source_id: Option<String>,
    #[serde(default)]
    destination_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DatasetMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    source_type: String,
    #[serde(default)]
    source: String,
}

/// Experiment folders whose `meta.yaml` says active; `.trash/` is never among them.
pub(super) fn active_experiments(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for name in list_dir(root)? {
        let dir = root.join(&name);
        if !is_experiment_dir_name(&name) || !dir.join("meta.yaml").is_file() {
            continue;
        }
        let meta: ExperimentMeta = read_yaml(&dir.join("meta.yaml"))?;
        if meta.lifecycle_stage.as_deref().unwrap_or("active") == "active" {
            out.push(dir);
        }
    }
    Ok(out)
}

/// `None`, with a warning, when the run is deleted, its folder has no `meta.yaml`, or its
/// `meta.yaml` names no run or another run.
fn read_run(
    dir: &Path,
    warnings: &mut Vec<String>,
    files: &mut Vec<PathBuf>,
) -> Result<Option<Run>> {
    let meta_path = dir.join("meta.yaml");
    if !meta_path.is_file() {
        warnings.push(format!(
            "{}: run folder without meta.yaml; the run cannot be read",
            dir.display()
        ));
        return Ok(None);
    }
    let meta: RunMeta = read_yaml(&meta_path)?;
    if meta.lifecycle_stage.as_deref().unwrap_or("active") != "active" {
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        warnings.push(format!(
            "{}: source run {} is deleted",
            dir.display(),
            id.unwrap_or_default()
        ));
        return Ok(None);
    }
    // A meta.yaml that names no run, or another run than its folder, is not this run's record:
    // no fact is drawn from the folder.
    let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let named = meta.run_id.clone().or(meta.run_uuid.clone());
    if named.is_none() || named != folder {
        warnings.push(format!(
            "{}: meta.yaml {}; the run cannot be read, and no fact is drawn from it",
            meta_path.display(),
            match &named {
                None => "names no run (no run_id or run_uuid)".to_string(),
                Some(id) => format!("names run {id}, not the folder's"),
            }
        ));
        return Ok(None);
    }
    // The run's own records, not its artifacts (model cards are collected on their own).
    for (key, path) in walk_files(dir)? {
        if !key.starts_with("artifacts/") {
            files.push(path);
        }
    }
    let run_id = named.unwrap_or_default();
    let experiment_id = meta
        .experiment_id
        .as_ref()
        .map(yaml_scalar)
        .unwrap_or_default();
    Ok(Some(Run {
        params: read_kv_dir(&dir.join("params"))?,
        tags: read_kv_dir(&dir.join("tags"))?,
        metrics: read_metrics(&dir.join("metrics"), warnings)?,
        datasets: read_datasets(dir, warnings, files)?,
        run_id,
        experiment_id,
        artifact_uri: meta.artifact_uri,
        artifact_dir: None,
        started_ms: meta.start_time.as_ref().and_then(yaml_millis),
    }))
}

/// Metric files hold one observation a line: `timestamp value [step]`, or 5 fields in MLflow 3
/// (`timestamp value step dataset_name dataset_digest`). A bad line is a warning, not a guess.
fn read_metrics(dir: &Path, warnings: &mut Vec<String>) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (key, path) in walk_files(dir)? {
        let text = read_text(&path, dir)?;
        let mut latest: Option<MetricPoint> = None;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match parse_metric_line(line) {
                Some(p) => latest = Some(latest.map_or(p, |old| MetricPoint::later_of(old, p))),
                None => warnings.push(format!(
                    "{}:{}: malformed metric line `{}` skipped",
                    path.display(),
                    i + 1,
                    line.trim()
                )),
            }
        }
        if let Some(p) = latest {
            out.insert(key, p.value);
        }
    }
    Ok(out)
}

fn parse_metric_line(line: &str) -> Option<MetricPoint> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    if ![2, 3, 5].contains(&parts.len()) {
        return None;
    }
    Some(MetricPoint {
        timestamp: parts[0].parse().ok()?,
        value: parts[1].parse().ok()?,
        step: if parts.len() >= 3 {
            parts[2].parse().ok()?
        } else {
            0
        },
    })
}

fn read_datasets(
    run_dir: &Path,
    warnings: &mut Vec<String>,
    files: &mut Vec<PathBuf>,
) -> Result<Vec<DatasetInput>> {
    let inputs_dir = run_dir.join("inputs");
    let Some(exp_dir) = run_dir.parent() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if !inputs_dir.is_dir() {
        return Ok(out);
    }
    for name in list_dir(&inputs_dir)? {
        let meta_path = inputs_dir.join(&name).join("meta.yaml");
        if !meta_path.is_file() {
            continue;
        }
        let input: InputMeta = read_yaml(&meta_path)?;
        let is_run_dataset = input.source_type.as_deref() == Some("DATASET")
            && input.destination_type.as_deref().unwrap_or("RUN") == "RUN";
        let Some(dataset_id) = input.source_id.filter(|_| is_run_dataset) else {
            continue;
        };
        let ds_path = exp_dir.join("datasets").join(&dataset_id).join("meta.yaml");
        if !ds_path.is_file() {
            warnings.push(format!(
                "{}: dataset input {dataset_id} has no record at {}",
                meta_path.display(),
                ds_path.display()
            ));
            continue;
        }
        let ds: DatasetMeta = read_yaml(&ds_path)?;
        files.push(ds_path);
        out.push(DatasetInput {
            name: ds.name,
            digest: ds.digest,
            source_type: ds.source_type,
            source: ds.source,
        });
    }
    out.sort_by(|a, b| (&a.name, &a.digest).cmp(&(&b.name, &b.digest)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lines_with_two_three_and_five_fields() {
        let p = parse_metric_line("1700000000000 0.5").unwrap();
        assert_eq!((p.timestamp, p.value, p.step), (1700000000000, 0.5, 0));
        let p = parse_metric_line("1700000000000 0.81 4").unwrap();
        assert_eq!((p.value, p.step), (0.81, 4));
        let p = parse_metric_line("1700000000000 0.9 2 eval-set 1a2b3c").unwrap();
        assert_eq!((p.value, p.step), (0.9, 2));
        assert!(parse_metric_line("1700000000000").is_none());
        assert!(parse_metric_line("1700000000000 0.5 1 x").is_none());
        assert!(parse_metric_line("abc 0.5").is_none());
    }

    #[test]
    fn duplicate_metric_lines_keep_latest_and_warn_on_bad_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("metrics");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("auc"),
            "10 0.7 0\n10 0.7 0\n20 0.8 1\n15 0.75 1\nbroken\n",
        )
        .unwrap();
        let mut warnings = Vec::new();
        let m = read_metrics(&dir, &mut warnings).unwrap();
        assert_eq!(m["auc"], 0.8);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("auc:5"), "{}", warnings[0]);
    }
}
