//! An mlflow-export-import output folder in, a `Store` out. `export-all` writes
//! `experiments/<id>/<run_id>/run.json` (+ `artifacts/`) and `models/<name>/model.json`; the
//! single-object exports put `run.json` or `model.json` at the top. Both the current layout (data
//! under an `mlflow` key) and the older one (at the top level) are read. Tags come as a map or as a
//! list of `{key, value}`. Exports made by mlflow-export-import 1.2 carry no dataset inputs; when
//! no run in the export has an `inputs` key, a warning says dataset provenance cannot be seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{DatasetInput, MetricPoint, ModelVersion, RegisteredModel, Run, Store, StoreKind};
use crate::error::{Error, Result};

pub fn read(root: &Path) -> Result<Store> {
    let mut warnings = Vec::new();
    let mut models = Vec::new();
    let mut metadata_files = Vec::new();
    for path in find_files(root, "model.json")? {
        models.push(parse_model(&path, &read_json(&path)?)?);
        metadata_files.push(path);
    }
    let mut seen = BTreeSet::new();
    for m in &models {
        if !seen.insert(m.name.clone()) {
            return Err(Error::mlflow(
                root,
                format!("registered model `{}` is exported twice", m.name),
            ));
        }
    }
    let mut runs = BTreeMap::new();
    let mut any_inputs = false;
    for path in find_files(root, "run.json")? {
        let doc = read_json(&path)?;
        let body = doc.get("mlflow").unwrap_or(&doc);
        any_inputs |= body.get("inputs").is_some();
        if let Some(run) = parse_run(&path, body)? {
            runs.insert(run.run_id.clone(), (run, path));
        }
    }
    let wanted: BTreeSet<String> = models
        .iter()
        .flat_map(|m| m.versions.iter())
        .filter_map(|v| v.run_id.clone())
        .collect();
    for run_id in &wanted {
        if !runs.contains_key(run_id) {
            warnings.push(format!(
                "{}: source run {run_id} is not in the export (missing or deleted)",
                root.display()
            ));
        }
    }
    runs.retain(|id, _| wanted.contains(id));
    metadata_files.extend(runs.values().map(|(_, path)| path.clone()));
    let runs: BTreeMap<String, Run> = runs.into_iter().map(|(id, (run, _))| (id, run)).collect();
    if !runs.is_empty() && !any_inputs {
        warnings.push(format!(
            "{}: the export records no dataset inputs (mlflow-export-import does not export them), \
             so dataset provenance cannot be established from it",
            root.display()
        ));
    }
    Ok(Store {
        path: root.to_path_buf(),
        kind: StoreKind::ExportImport,
        models,
        runs,
        root: root.to_path_buf(),
        metadata_files,
        logged_model_metrics: BTreeMap::new(),
        warnings,
    })
}

fn parse_model(path: &Path, doc: &Value) -> Result<RegisteredModel> {
    let body = doc.get("mlflow").unwrap_or(doc);
    let rm = body.get("registered_model").unwrap_or(body);
    let name = rm
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::mlflow(path, "model.json has no registered_model.name"))?;
    let mut versions = Vec::new();
    // `versions` since mlflow-export-import 1.2; older releases (1.1.x, MLflow 2.0/2.1 and the
    // 2021 samples) wrote only `latest_versions`, the latest version of each stage. A model
    // without either list cannot be judged: it is an error, never silently "not in production".
    let list = match (rm.get("versions"), rm.get("latest_versions")) {
        (Some(Value::Array(list)), _) | (None, Some(Value::Array(list))) => list,
        _ => {
            return Err(Error::mlflow(
                path,
                format!(
                    "registered model `{name}`: no `versions` or `latest_versions` list, so \
                     whether a version is in production cannot be read"
                ),
            ));
        }
    };
    for v in list {
        let version = v
            .get("version")
            .map(scalar)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::mlflow(path, format!("a version of `{name}` has no version number"))
            })?;
        versions.push(ModelVersion {
            version,
            current_stage: v
                .get("current_stage")
                .and_then(Value::as_str)
                .map(String::from),
            run_id: v
                .get("run_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from),
            source: v.get("source").and_then(Value::as_str).map(String::from),
            tags: key_values(v.get("tags")),
            created_ms: v.get("creation_timestamp").and_then(json_millis),
        });
    }
    let mut aliases = BTreeMap::new();
    match rm.get("aliases") {
        Some(Value::Array(items)) => {
            for item in items {
                if let (Some(alias), Some(version)) = (
                    item.get("alias").and_then(Value::as_str),
                    item.get("version"),
                ) {
                    aliases.insert(alias.to_string(), scalar(version));
                }
            }
        }
        Some(Value::Object(map)) => {
            for (alias, version) in map {
                aliases.insert(alias.clone(), scalar(version));
            }
        }
        _ => {}
    }
    Ok(RegisteredModel {
        name: name.to_string(),
        tags: key_values(rm.get("tags")),
        aliases,
        versions,
    })
}

/// `None` for a deleted run.
fn parse_run(path: &Path, body: &Value) -> Result<Option<Run>> {
    let info = body.get("info").unwrap_or(body);
    if info
        .get("lifecycle_stage")
        .and_then(Value::as_str)
        .unwrap_or("active")
        != "active"
    {
        return Ok(None);
    }
    let run_id = info
        .get("run_id")
        .or_else(|| info.get("run_uuid"))
        .and_then(Value::as_str)
        .ok_or_else(|| Error::mlflow(path, "run.json has no info.run_id"))?;
    let mut metrics = BTreeMap::new();
    if let Some(Value::Object(map)) = body.get("metrics") {
        for (key, history) in map {
            let latest = history
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(metric_point)
                .reduce(MetricPoint::later_of);
            if let Some(p) = latest {
                metrics.insert(key.clone(), p.value);
            }
        }
    }
    let artifact_dir = path
        .parent()
        .map(|d| d.join("artifacts"))
        .filter(|d| d.is_dir());
    Ok(Some(Run {
        run_id: run_id.to_string(),
        experiment_id: info.get("experiment_id").map(scalar).unwrap_or_default(),
        artifact_uri: info
            .get("artifact_uri")
            .and_then(Value::as_str)
            .map(String::from),
        params: key_values(body.get("params")),
        metrics,
        tags: key_values(body.get("tags")),
        datasets: datasets(body.get("inputs")),
        artifact_dir,
        started_ms: info.get("start_time").and_then(json_millis),
    }))
}

/// A timestamp as MLflow writes it (integer milliseconds); anything else is unknown.
fn json_millis(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

fn metric_point(v: &Value) -> Option<MetricPoint> {
    Some(MetricPoint {
        value: v.get("value")?.as_f64()?,
        timestamp: v.get("timestamp").and_then(Value::as_i64).unwrap_or(0),
        step: v.get("step").and_then(Value::as_i64).unwrap_or(0),
    })
}

/// Dataset inputs in the shape of MLflow's `RunInputs` as JSON:
/// `{"dataset_inputs": [{"dataset": {name, digest, source_type, source}, "tags": …}]}`.
fn datasets(inputs: Option<&Value>) -> Vec<DatasetInput> {
    let list = inputs
        .and_then(|i| i.get("dataset_inputs").or(Some(i)))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let text = |d: &Value, k: &str| d.get(k).map(scalar).unwrap_or_default();
    let mut out: Vec<DatasetInput> = list
        .iter()
        .filter_map(|item| item.get("dataset"))
        .map(|d| DatasetInput {
            name: text(d, "name"),
            digest: text(d, "digest"),
            source_type: text(d, "source_type"),
            source: text(d, "source"),
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.digest).cmp(&(&b.name, &b.digest)));
    out
}

/// Tags and params as a map, or as a list of `{key, value}`.
fn key_values(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| Some((i.get("key")?.as_str()?.to_string(), scalar(i.get("value")?))))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = crate::fsio::read_small_text(path, "MLflow store file")?;
    serde_json::from_str(&text).map_err(|e| Error::Mlflow {
        path: PathBuf::from(format!("{}:{}:{}", path.display(), e.line(), e.column())),
        message: format!("malformed JSON: {e}"),
        hint: Some("re-run the export; the file is damaged".into()),
    })
}

/// Every file called `name` below `root`, sorted. The export tree is shallow (≤ 4 levels).
fn find_files(root: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("cannot list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot list", &dir, e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| Error::io("cannot read", &path, e))?;
            if kind.is_dir() && depth < 4 && entry.file_name() != "artifacts" {
                stack.push((path, depth + 1));
            } else if kind.is_file() && entry.file_name() == name {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_map_or_list() {
        let list: Value = serde_json::json!([{"key": "risk_tier", "value": "High"}]);
        let map: Value = serde_json::json!({"risk_tier": "High"});
        assert_eq!(key_values(Some(&list)), key_values(Some(&map)));
        assert_eq!(key_values(Some(&map))["risk_tier"], "High");
    }

    #[test]
    fn dataset_inputs_in_run_inputs_shape() {
        let v = serde_json::json!({"dataset_inputs": [
            {"tags": [], "dataset": {"name": "b", "digest": "2", "source_type": "s3", "source": "{}"}},
            {"tags": [], "dataset": {"name": "a", "digest": "1", "source_type": "s3", "source": "{}"}}]});
        let d = datasets(Some(&v));
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "a");
    }
}
