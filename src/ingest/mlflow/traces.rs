//! MLflow 3 GenAI traces in, one `Trace` per trace out: the inference records of an LLM or agent
//! application, which MLflow keeps in the tracking store itself. A SQLite store holds them in
//! `trace_info` (request time, execution time, state), `trace_request_metadata` and `trace_tags`;
//! a file store in `<experiment>/traces/<trace id>/` (`trace_info.yaml`, `request_metadata/`,
//! `tags/`). A trace belongs to the registered model version whose `source` is
//! `models:/<logged model id>` of the logged model the trace names (`mlflow.modelId`); a logged
//! model no version points at gives its own name; a trace linked to nothing takes the tag (or
//! request-metadata key) the log source maps `model`/`version` to. Guarantees: every trace of an
//! active experiment is handed on, in (time, id) order, whether or not its fields are usable — a
//! trace that cannot be read comes with no time, so the log stage rejects it and counts it; a
//! logged model that two registered models claim is named in a warning; traces of deleted
//! experiments are not read, and their number is a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::files::{list_dir, read_kv_dir, read_yaml, walk_files, yaml_scalar};
use super::sqlite::{Db, millis};
use crate::config::TraceKeys;
use crate::error::{Error, Result};

/// The request-metadata key MLflow links a trace to its logged model with.
const MODEL_ID_KEY: &str = "mlflow.modelId";

/// One trace as an inference record.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub id: String,
    /// Milliseconds since the epoch (SQLite) or RFC 3339 text (file store); `None` if unreadable.
    pub time: Option<serde_json::Value>,
    pub duration_ms: Option<i64>,
    /// `OK` or `ERROR`; `None` while a trace is in progress or its state is unspecified.
    pub status: Option<String>,
    pub model: Option<String>,
    pub version: Option<String>,
}

/// Logged model id → the registered versions made from it, and the logged models' own names.
#[derive(Debug, Default)]
struct Links {
    versions: BTreeMap<String, BTreeSet<(String, u64, String)>>,
    logged: BTreeMap<String, String>,
}

impl Links {
    fn add_version(&mut self, name: &str, version: &str, source: Option<&str>) {
        if let Some(id) = source.and_then(|s| s.strip_prefix("models:/")) {
            let number = version.parse().unwrap_or(u64::MAX);
            self.versions
                .entry(id.trim_end_matches('/').to_string())
                .or_default()
                .insert((name.to_string(), number, version.to_string()));
        }
    }

    /// The model and version a trace belongs to, by its logged model, else by its tags.
    fn resolve(
        &self,
        model_id: Option<&str>,
        fallback: (Option<String>, Option<String>),
    ) -> (Option<String>, Option<String>) {
        let Some(id) = model_id else {
            return fallback;
        };
        if let Some((name, _, version)) = self.versions.get(id).and_then(|v| v.first()) {
            return (Some(name.clone()), Some(version.clone()));
        }
        match self.logged.get(id) {
            Some(name) => (Some(name.clone()), fallback.1),
            None => fallback,
        }
    }

    /// Logged models that versions of more than one registered model were made from.
    fn ambiguity(&self, store: &Path) -> Vec<String> {
        self.versions
            .iter()
            .filter_map(|(id, versions)| {
                let names: BTreeSet<&str> = versions.iter().map(|v| v.0.as_str()).collect();
                let first = *names.first()?;
                (names.len() > 1).then(|| {
                    format!(
                        "{}: logged model {id} is registered as {}; its traces count for \
                         `{first}`",
                        store.display(),
                        names.into_iter().collect::<Vec<_>>().join(", ")
                    )
                })
            })
            .collect()
    }
}

/// Hand every trace of the store at `path` to `emit`, in (time, id) order.
pub fn for_each_trace(
    path: &Path,
    keys: &TraceKeys,
    warnings: &mut Vec<String>,
    emit: impl FnMut(Trace) -> Result<()>,
) -> Result<()> {
    match super::detect(path)? {
        super::StoreKind::Sqlite => sqlite_traces(&super::sqlite_file(path), keys, warnings, emit),
        super::StoreKind::FileStore => {
            filestore_traces(&super::filestore_root(path), keys, warnings, emit)
        }
        kind => Err(Error::Mlflow {
            path: path.to_path_buf(),
            message: format!("holds no traces: a {} folder", kind.label()),
            hint: Some(
                "`format: mlflow-traces` reads a tracking store: an mlflow.db or an mlruns/ folder"
                    .into(),
            ),
        }),
    }
}

fn sqlite_traces(
    path: &Path,
    keys: &TraceKeys,
    warnings: &mut Vec<String>,
    mut emit: impl FnMut(Trace) -> Result<()>,
) -> Result<()> {
    let db = Db::open(path)?;
    if !db.has_table("trace_info") {
        return Err(Error::Mlflow {
            path: path.to_path_buf(),
            message: "has no `trace_info` table: traces need an MLflow 2.14 or later store".into(),
            hint: Some("point the log source at the store your GenAI application traces to".into()),
        });
    }
    let mut links = Links::default();
    if db.has_table("model_versions") {
        let rows = db.rows(
            "SELECT name, CAST(version AS TEXT), source FROM model_versions",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )?;
        for (name, version, source) in rows {
            links.add_version(&name, &version, source.as_deref());
        }
    }
    if db.has_table("logged_models") {
        let rows = db.rows("SELECT model_id, name FROM logged_models", [], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        links.logged.extend(rows);
    }
    warnings.extend(links.ambiguity(path));
    let deleted = "SELECT experiment_id FROM experiments WHERE lifecycle_stage = 'deleted'";
    let skipped: i64 = db
        .rows(
            &format!("SELECT COUNT(*) FROM trace_info WHERE experiment_id IN ({deleted})"),
            [],
            |r| r.get(0),
        )?
        .first()
        .copied()
        .unwrap_or(0);
    if skipped > 0 {
        warnings.push(format!(
            "{}: {skipped} trace(s) of deleted experiments not read",
            path.display()
        ));
    }
    let value = |table: &str, key: &str| {
        format!(
            "(SELECT x.value FROM {table} x WHERE x.request_id = t.request_id AND x.key = {key})"
        )
    };
    let by_key = |key: &str| {
        format!(
            "COALESCE({}, {})",
            value("trace_tags", key),
            value("trace_request_metadata", key)
        )
    };
    let sql = format!(
        "SELECT t.request_id, t.timestamp_ms, t.execution_time_ms, t.status, {}, {}, {} \
         FROM trace_info t WHERE t.experiment_id NOT IN ({deleted}) \
         ORDER BY t.timestamp_ms, t.request_id",
        value("trace_request_metadata", "?1"),
        by_key("?2"),
        by_key("?3"),
    );
    let params = (MODEL_ID_KEY, keys.model.as_str(), keys.version.as_str());
    db.for_each_row(&sql, params, |r| {
        let text = |i: usize| r.get::<_, Option<String>>(i).ok().flatten();
        let number = |i: usize| r.get_ref(i).ok().and_then(millis);
        let (model, version) = links.resolve(text(4).as_deref(), (text(5), text(6)));
        emit(Trace {
            id: text(0).unwrap_or_default(),
            time: number(1).map(serde_json::Value::from),
            duration_ms: number(2),
            status: final_state(text(3).as_deref()),
            model,
            version,
        })
    })
}

/// Only a trace's final states are outcomes; `IN_PROGRESS` and unspecified states have none.
fn final_state(state: Option<&str>) -> Option<String> {
    state
        .filter(|s| matches!(*s, "OK" | "ERROR"))
        .map(String::from)
}

/// `trace_info.yaml` as MLflow 3 (`trace_id`, `request_time`, `execution_duration_ms`, `state`)
/// and MLflow 2 (`request_id`, `timestamp_ms`, `execution_time_ms`, `status`) write it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TraceInfoYaml {
    trace_id: Option<String>,
    request_id: Option<String>,
    request_time: Option<serde_yaml::Value>,
    timestamp_ms: Option<serde_yaml::Value>,
    execution_duration_ms: Option<serde_yaml::Value>,
    execution_time_ms: Option<serde_yaml::Value>,
    state: Option<String>,
    status: Option<String>,
}

fn filestore_traces(
    root: &Path,
    keys: &TraceKeys,
    warnings: &mut Vec<String>,
    mut emit: impl FnMut(Trace) -> Result<()>,
) -> Result<()> {
    let mut links = Links::default();
    for model in super::filestore::read_registry(root)? {
        for v in &model.versions {
            links.add_version(&model.name, &v.version, v.source.as_deref());
        }
    }
    let experiments = super::filestore::active_experiments(root)?;
    for exp in &experiments {
        for (id, name) in logged_models(&exp.join("models"), warnings)? {
            links.logged.insert(id, name);
        }
    }
    warnings.extend(links.ambiguity(root));
    let mut traces = Vec::new();
    for exp in &experiments {
        let dir = exp.join("traces");
        if !dir.is_dir() {
            continue;
        }
        // A trace is a folder; a stray file beside them is no trace.
        for id in list_dir(&dir)?
            .into_iter()
            .filter(|id| dir.join(id).is_dir())
        {
            traces.push(read_trace_dir(&dir.join(&id), id, keys, &links, warnings)?);
        }
    }
    // Milliseconds and RFC 3339 text do not compare; a file store writes one or the other.
    traces.sort_by(|a, b| (sort_key(&a.time), &a.id).cmp(&(sort_key(&b.time), &b.id)));
    traces.into_iter().try_for_each(&mut emit)
}

fn sort_key(time: &Option<serde_json::Value>) -> (u8, i64, String) {
    match time {
        None => (0, 0, String::new()),
        Some(serde_json::Value::Number(n)) => (1, n.as_i64().unwrap_or(0), String::new()),
        Some(other) => (2, 0, other.as_str().unwrap_or_default().to_string()),
    }
}

/// `<experiment>/models/<id>/meta.yaml`: each logged model's name.
fn logged_models(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<(String, String)>> {
    #[derive(Deserialize)]
    struct Meta {
        model_id: String,
        name: String,
    }
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for id in list_dir(dir)? {
        match read_yaml::<Meta>(&dir.join(&id).join("meta.yaml")) {
            Ok(meta) => out.push((meta.model_id, meta.name)),
            Err(e) => warnings.push(format!("logged model not read: {e}")),
        }
    }
    Ok(out)
}

/// One trace folder; an unreadable `trace_info.yaml` is a warning and a trace with no time.
fn read_trace_dir(
    dir: &Path,
    id: String,
    keys: &TraceKeys,
    links: &Links,
    warnings: &mut Vec<String>,
) -> Result<Trace> {
    let info: TraceInfoYaml = match read_yaml(&dir.join("trace_info.yaml")) {
        Ok(info) => info,
        Err(e) => {
            warnings.push(format!("trace {id} not read (counted as rejected): {e}"));
            TraceInfoYaml::default()
        }
    };
    let metadata = read_kv_dir(&dir.join("request_metadata"))?;
    let tags = read_kv_dir(&dir.join("tags"))?;
    let keyed = |key: &str| tags.get(key).or_else(|| metadata.get(key)).cloned();
    let (model, version) = links.resolve(
        metadata.get(MODEL_ID_KEY).map(String::as_str),
        (keyed(&keys.model), keyed(&keys.version)),
    );
    let time = match (&info.request_time, &info.timestamp_ms) {
        (Some(t), _) => Some(serde_json::Value::String(yaml_scalar(t))),
        (None, Some(ms)) => yaml_int(ms).map(serde_json::Value::from),
        (None, None) => None,
    };
    let duration = info
        .execution_duration_ms
        .as_ref()
        .or(info.execution_time_ms.as_ref());
    Ok(Trace {
        id: info.trace_id.or(info.request_id).unwrap_or(id),
        time,
        duration_ms: duration.and_then(yaml_int),
        status: final_state(info.state.or(info.status).as_deref()),
        model,
        version,
    })
}

fn yaml_int(value: &serde_yaml::Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Size and SHA-256 of what a trace source was read from, for the bundle's chain of custody: a
/// SQLite store's file; for a file store, the files under its `traces/` folders, described by the
/// SHA-256 of their `sha256sum` listing (sorted paths relative to the store), which
/// `find . -type f -path '*/traces/*' | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum |
/// sha256sum` run in the store reproduces.
pub fn store_digest(path: &Path) -> Result<(std::path::PathBuf, u64, String)> {
    if super::detect(path)? == super::StoreKind::Sqlite {
        let file = super::sqlite_file(path);
        let (size, sha256) = crate::digest::file_digest(&file)?;
        return Ok((file, size, sha256));
    }
    let root = super::filestore_root(path);
    let mut listing = String::new();
    let mut total = 0u64;
    for (rel, file) in walk_files(&root)? {
        let parts: Vec<&str> = rel.split('/').collect();
        let in_traces = parts
            .split_last()
            .is_some_and(|(_, dirs)| dirs.contains(&"traces"));
        if in_traces {
            let (size, sha256) = crate::digest::file_digest(&file)?;
            total += size;
            listing.push_str(&format!("{sha256}  {rel}\n"));
        }
    }
    Ok((root, total, crate::digest::sha256_hex(listing.as_bytes())))
}
