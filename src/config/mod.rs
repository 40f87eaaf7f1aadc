//! `dossier.yaml` (SPEC §2) in, a resolved `Config` out. Paths are made absolute against the config
//! file's folder, defaults are filled in, command-line overrides (`Overrides`) are applied, and
//! every rule is checked here so later stages can trust what they get. Unknown keys are errors
//! naming the key path and line, because a typo in an audit config must never be ignored silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::error::{Error, Result};

mod raw;
mod values;

mod bundle;
mod policy;
mod thresholds;

pub use bundle::{BundlePolicy, LogExtracts, REDACTABLE, Tsa};
use bundle::{resolve_bundle, resolve_tsa};
use policy::resolve_policy;
pub use policy::{PointInTime, Policy};
use raw::{RawConfig, parse};
pub use thresholds::{Limits, Thresholds};
use values::{checked_period, now};
pub use values::{parse_date, parse_epoch, parse_period, parse_timestamp};

/// What the command line may override, already parsed (clap's value parsers call `parse_period`,
/// `parse_date` and `parse_timestamp`); built by the commands from clap's types.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub period: Option<Period>,
    pub as_of: Option<NaiveDate>,
    pub systems: Vec<String>,
    pub request_id: Option<String>,
    pub baseline: Option<PathBuf>,
    pub strict: bool,
    /// `--timestamp`, or else `SOURCE_DATE_EPOCH`; `None`: now.
    pub build_time: Option<DateTime<Utc>>,
    /// `--tsa-url`: a TSA URL replacing the config's.
    pub tsa_url: Option<String>,
    /// `--no-tsa`: no time-stamp, whatever the config says.
    pub no_tsa: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The config file, absolute.
    pub path: PathBuf,
    /// Its folder: the base of every relative path.
    pub base_dir: PathBuf,
    pub organization: String,
    pub title: String,
    pub period: Period,
    pub as_of: NaiveDate,
    pub template: Template,
    /// Sign-off and document control (`report.prepared_by` … `report.status`).
    pub control: DocumentControl,
    pub mlflow: Vec<MlflowSource>,
    pub logs: Vec<LogSource>,
    /// Absolute glob patterns.
    pub audits: Vec<String>,
    /// Absolute glob patterns.
    pub exceptions: Vec<String>,
    /// The management-response register (`sources.responses`), absolute.
    pub responses: Option<PathBuf>,
    pub policy: Policy,
    /// What the bundle carries of the sources (`bundle:`).
    pub bundle: BundlePolicy,
    pub signing_key: Option<PathBuf>,
    /// The RFC 3161 time-stamp authority (`signing.tsa`, `--tsa-url`; `None` with `--no-tsa`).
    pub tsa: Option<Tsa>,
    pub scope: Scope,
    /// An earlier baseline to trend against (`--baseline`).
    pub baseline: Option<PathBuf>,
    /// The previous bundle this one links to (issue 23's ledger): a `--baseline` zip, else
    /// `bundle.previous`.
    pub previous: Option<PathBuf>,
    pub strict: bool,
    /// The one build time written everywhere (zip entries, bag-info, report).
    pub build_time: DateTime<Utc>,
}

/// docs/config.md: every key of `dossier.yaml` (`dossier init --reference` prints it).
pub const REFERENCE: &str = include_str!("../../docs/config.md");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// Whole days in the period, both ends included.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// Who prepared, reviewed and approved the report, its classification (printed on every page),
/// version and status.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DocumentControl {
    pub prepared_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub approved_by: Option<String>,
    pub classification: Option<String>,
    pub version: Option<String>,
    pub status: ReportStatus,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    #[default]
    Draft,
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    Default,
    Path(PathBuf),
}

#[derive(Debug, Clone)]
pub struct MlflowSource {
    pub path: PathBuf,
    pub artifact_root: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Splunk,
    Elasticsearch,
    Ndjson,
    Csv,
    Parquet,
}

#[derive(Debug, Clone)]
pub struct LogSource {
    /// Absolute glob pattern.
    pub pattern: String,
    /// `None`: decided per file from its extension.
    pub format: Option<LogFormat>,
    pub fields: FieldMap,
    pub success: Vec<String>,
    /// `format: mlflow-traces`: the store's traces are the records, read with the canonical field
    /// map; these keys name the tag a trace without a linked model is mapped by.
    pub traces: Option<TraceKeys>,
    /// `engine: spark`: the records are summarised on Spark (`pattern` is then unused).
    pub spark: Option<SparkSource>,
}

/// A log source read on Spark (`engine: spark`, issue 22): where the records are and how to reach
/// the Spark that reads them.
#[derive(Debug, Clone)]
pub struct SparkSource {
    /// How dossier reaches Spark.
    pub client: SparkClient,
    /// `local[2]`, `spark://…`, `yarn`, `k8s://…`, or `sc://host:port` (Spark Connect).
    pub master: String,
    /// A folder of Parquet files (hive-partitioned or not), or a table.
    pub path: Option<String>,
    pub table: Option<String>,
    /// `--conf` settings passed to `spark-submit`, sorted.
    pub conf: BTreeMap<String, String>,
    /// How long the run may take before it is stopped.
    pub timeout: std::time::Duration,
    /// How many records the bundle carries (`excerpt_rows`): the first accepted ones of the
    /// period in scope, by time; `None`: only the summary leaves the cluster.
    pub excerpt_rows: Option<u64>,
}

/// The most records a Spark excerpt may bring back (they are held in memory, then written).
pub const MAX_EXCERPT_ROWS: u64 = 1_000_000;

/// What runs dossier's Spark driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SparkClient {
    /// `spark-submit` (a path, or a name looked up on PATH), in client mode.
    Submit(String),
    /// A Python with `pyspark[connect]`, a client of the Spark Connect server at the master.
    Connect { python: String },
}

impl SparkSource {
    /// How the source is named in messages and the account.
    pub fn shown(&self) -> String {
        match (&self.table, &self.path) {
            (Some(t), _) => format!("spark table {t}"),
            (None, Some(p)) => format!("spark path {p}"),
            (None, None) => "spark".into(),
        }
    }
}

/// The tag (or request-metadata key) naming a trace's model and version when no logged model
/// links the trace to the registry (`fields.model` and `fields.version` of an `mlflow-traces`
/// source; defaults `model` and `version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceKeys {
    pub model: String,
    pub version: String,
}

/// Where each canonical log field is found: a dotted path into the record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMap {
    pub timestamp: String,
    pub model: String,
    pub version: String,
    pub latency_ms: String,
    pub status: String,
    pub score: String,
    pub request_id: String,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            timestamp: "timestamp".into(),
            model: "model".into(),
            version: "version".into(),
            latency_ms: "latency_ms".into(),
            status: "status".into(),
            score: "score".into(),
            request_id: "request_id".into(),
        }
    }
}

/// What a build covers: every system, or the systems a regulator request names (`--system`),
/// with the request's id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub systems: Vec<String>,
    pub request_id: Option<String>,
}

impl Scope {
    /// Restricted to named systems.
    pub fn is_scoped(&self) -> bool {
        !self.systems.is_empty()
    }

    /// A regulator request: named systems, or a request id.
    pub fn is_request(&self) -> bool {
        self.is_scoped() || self.request_id.is_some()
    }

    /// Whether records, files and findings of `system` belong in this build.
    pub fn admits(&self, system: &str) -> bool {
        !self.is_scoped() || self.systems.iter().any(|s| s == system)
    }

    /// `all systems`, or the named ones.
    pub fn label(&self) -> String {
        if self.is_scoped() {
            self.systems.join(", ")
        } else {
            "all systems".to_string()
        }
    }
}

// ---- loading -------------------------------------------------------------------------------

impl Config {
    /// `path` as the bundle and report show it (SPEC §6): relative to the config's folder when it
    /// lies inside it, else absolute — no builder's home folder in a document that leaves it.
    pub fn shown(&self, path: &Path) -> String {
        shown_under(&self.base_dir, path)
    }
}

/// `path` relative to `base` when it lies inside it (lexically, without `..`), else as it is.
pub fn shown_under(base: &Path, path: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(rel)
            if !rel.as_os_str().is_empty()
                && rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))) =>
        {
            rel.display().to_string()
        }
        _ => path.display().to_string(),
    }
}

/// Read, parse, validate and resolve the config at `path`, with the command line's overrides.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config> {
    let text = crate::fsio::read_small_text(path, "config")?;
    let path = std::path::absolute(path).map_err(|e| Error::io("cannot resolve", path, e))?;
    let raw = parse(&path, &text)?;
    resolve(&path, raw, overrides)
}

fn resolve(path: &Path, raw: RawConfig, overrides: &Overrides) -> Result<Config> {
    let base_dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let invalid = |key: &str, message: String| Error::Config {
        path: path.to_path_buf(),
        line: None,
        column: None,
        key: Some(key.to_string()),
        message,
        hint: None,
    };

    if raw.organization.trim().is_empty() {
        return Err(invalid("organization", "must not be empty".into()));
    }
    let period = match (overrides.period, &raw.report.period) {
        (Some(period), _) => period,
        (None, Some(p)) => {
            let start = parse_date(&p.start).map_err(|m| invalid("report.period.start", m))?;
            let end = parse_date(&p.end).map_err(|m| invalid("report.period.end", m))?;
            checked_period(start, end).map_err(|m| invalid("report.period", m))?
        }
        (None, None) => {
            return Err(invalid(
                "report.period",
                "missing: give `report.period: { start: YYYY-MM-DD, end: YYYY-MM-DD }` or --period START..END".into(),
            ));
        }
    };
    let as_of = match (overrides.as_of, &raw.report.as_of) {
        (Some(day), _) => day,
        (None, Some(text)) => parse_date(text).map_err(|m| invalid("report.as_of", m))?,
        (None, None) => period
            .end
            .succ_opt()
            .ok_or_else(|| invalid("report.period.end", "has no following day".into()))?,
    };
    if as_of < period.start {
        // Nothing of the period can be known on a day before it starts.
        let message = format!("{as_of} is before the period starts ({})", period.start);
        return Err(match overrides.as_of {
            Some(_) => Error::Usage(format!("--as-of: {message}")),
            None => invalid("report.as_of", message),
        });
    }

    let sources = raw.sources;
    if sources.mlflow.is_empty()
        && sources.logs.is_empty()
        && sources.audits.is_empty()
        && sources.exceptions.is_empty()
    {
        return Err(invalid(
            "sources",
            "no source: list at least one of mlflow, logs, audits, exceptions".into(),
        ));
    }
    let join = |p: &str| absolute_under(&base_dir, p);
    let mlflow = sources
        .mlflow
        .iter()
        .map(|s| MlflowSource {
            path: join(&s.path),
            artifact_root: s.artifact_root.as_deref().map(join),
        })
        .collect();
    let logs = sources
        .logs
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            resolve_log_source(s, &join)
                .map_err(|(key, m)| invalid(&format!("sources.logs[{i}].{key}"), m))
        })
        .collect::<Result<Vec<_>>>()?;
    let globs = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|p| join(p).to_string_lossy().into_owned())
            .collect()
    };

    let policy = resolve_policy(raw.policy).map_err(|(key, m)| invalid(&key, m))?;
    let raw_previous = raw.bundle.previous.clone();
    let template = match raw.report.template.as_deref() {
        None | Some("default") => Template::Default,
        Some(p) => Template::Path(join(p)),
    };
    let control = DocumentControl {
        prepared_by: raw.report.prepared_by.clone(),
        reviewed_by: raw.report.reviewed_by.clone(),
        approved_by: raw.report.approved_by.clone(),
        classification: raw.report.classification.clone(),
        version: raw.report.version.clone(),
        status: raw.report.status.unwrap_or_default(),
    };
    if control.status == ReportStatus::Final && control.approved_by.is_none() {
        return Err(invalid(
            "report.status",
            "`final` needs `report.approved_by`: a final report names who approved it".into(),
        ));
    }
    let title = raw
        .report
        .title
        .unwrap_or_else(|| format!("AI compliance posture, {} to {}", period.start, period.end));

    Ok(Config {
        path: path.to_path_buf(),
        organization: raw.organization,
        title,
        period,
        as_of,
        template,
        control,
        mlflow,
        logs,
        audits: globs(&sources.audits),
        exceptions: globs(&sources.exceptions),
        responses: sources.responses.as_deref().map(join),
        policy,
        bundle: resolve_bundle(raw.bundle).map_err(|(key, m)| invalid(&key, m))?,
        signing_key: raw.signing.key.as_deref().map(join),
        tsa: resolve_tsa(raw.signing.tsa, overrides, &join)
            .map_err(|m| invalid("signing.tsa.url", m))?,
        scope: Scope {
            systems: overrides.systems.clone(),
            request_id: overrides.request_id.clone(),
        },
        baseline: overrides.baseline.clone(),
        previous: overrides
            .baseline
            .clone()
            .filter(|b| b.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")))
            .or_else(|| raw_previous.as_deref().map(join)),
        strict: overrides.strict,
        build_time: overrides.build_time.unwrap_or_else(now),
        base_dir,
    })
}

/// A log source: a glob of files, or a tracking store whose traces are read (`mlflow-traces`).
/// A trace's time, duration and state are MLflow's own fields; only `model` and `version` may be
/// mapped, to the tag that names them when a trace is linked to no logged model.
fn resolve_log_source(
    mut s: raw::RawLogSource,
    join: &dyn Fn(&str) -> PathBuf,
) -> std::result::Result<LogSource, (String, String)> {
    let success = s
        .success
        .take()
        .unwrap_or_else(|| ["200", "ok", "success", "OK"].map(String::from).to_vec());
    let pattern = join(&s.path).to_string_lossy().into_owned();
    if s.engine == Some(raw::RawEngine::Spark) || s.spark.is_some() || s.table.is_some() {
        return resolve_spark_source(s, join, success);
    }
    if s.path.is_empty() {
        return Err(("path".into(), "is required: the log files (a glob)".into()));
    }
    if s.format != Some(raw::RawLogFormat::MlflowTraces) {
        return Ok(LogSource {
            pattern,
            format: s.format.and_then(raw::RawLogFormat::file_format),
            fields: s.fields,
            success,
            traces: None,
            spark: None,
        });
    }
    let identity = FieldMap::default();
    let fixed = [
        ("timestamp", &s.fields.timestamp, &identity.timestamp),
        ("latency_ms", &s.fields.latency_ms, &identity.latency_ms),
        ("status", &s.fields.status, &identity.status),
        ("score", &s.fields.score, &identity.score),
        ("request_id", &s.fields.request_id, &identity.request_id),
    ];
    if let Some((name, _, _)) = fixed.iter().find(|(_, set, default)| set != default) {
        return Err((
            format!("fields.{name}"),
            "cannot be mapped for `format: mlflow-traces`: a trace's request time, execution \
             duration, state and id are MLflow's own; only `model` and `version` (the tag naming \
             them) may be mapped"
                .into(),
        ));
    }
    if pattern.contains(['*', '?', '[']) {
        return Err((
            "path".into(),
            "a tracking store (an mlflow.db or mlruns/ folder), not a glob, for `format: mlflow-traces`".into(),
        ));
    }
    Ok(LogSource {
        pattern,
        format: None,
        traces: Some(TraceKeys {
            model: s.fields.model,
            version: s.fields.version,
        }),
        fields: identity,
        success,
        spark: None,
    })
}

/// A log source on Spark: `engine: spark`, a `spark:` block with its master, and a Parquet
/// `path` (a folder) or a `table`.
fn resolve_spark_source(
    s: raw::RawLogSource,
    join: &dyn Fn(&str) -> PathBuf,
    success: Vec<String>,
) -> std::result::Result<LogSource, (String, String)> {
    if s.engine != Some(raw::RawEngine::Spark) {
        return Err((
            "engine".into(),
            "must be `spark` for a source with `spark:` or `table:`".into(),
        ));
    }
    let Some(spark) = s.spark else {
        return Err((
            "spark".into(),
            "is required with `engine: spark`: at least `master` (local[2], spark://host:7077, \
             yarn, k8s://…)"
                .into(),
        ));
    };
    let client = spark_client(&spark)?;
    if spark
        .excerpt_rows
        .is_some_and(|n| n == 0 || n > MAX_EXCERPT_ROWS)
    {
        return Err((
            "spark.excerpt_rows".into(),
            format!("must be 1 to {MAX_EXCERPT_ROWS} (or left out: no excerpt)"),
        ));
    }
    if s.format.is_some_and(|f| f != raw::RawLogFormat::Parquet) {
        return Err((
            "format".into(),
            "must be `parquet` (or absent) with `engine: spark`".into(),
        ));
    }
    let (path, table) = match (s.path.is_empty(), s.table) {
        (false, None) => (Some(remote_or_local(&s.path, join)), None),
        (true, Some(t)) if !t.is_empty() => (None, Some(t)),
        _ => {
            return Err((
                "path".into(),
                "`engine: spark` reads either a `path` (a Parquet folder) or a `table`, one of them".into(),
            ));
        }
    };
    Ok(LogSource {
        pattern: String::new(),
        format: Some(LogFormat::Parquet),
        fields: s.fields,
        success,
        traces: None,
        spark: Some(SparkSource {
            client,
            master: spark.master,
            path,
            table,
            conf: spark.conf,
            timeout: std::time::Duration::from_secs(spark.timeout_seconds.unwrap_or(3600)),
            excerpt_rows: spark.excerpt_rows,
        }),
    })
}

/// `spark-submit` for a cluster master; a Python client for a Spark Connect one (`sc://`). Each
/// key is refused where it would be ignored.
fn spark_client(spark: &raw::RawSpark) -> std::result::Result<SparkClient, (String, String)> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    match (
        spark.master.starts_with("sc://"),
        &spark.submit,
        &spark.python,
    ) {
        (true, Some(_), _) => Err((
            "spark.submit".into(),
            "is not used with Spark Connect (`sc://`): dossier connects with a Python client \
             (`spark.python`)"
                .into(),
        )),
        // The config is bundled as evidence; a secret in it would travel with every bundle.
        (true, None, _) if spark.master.to_ascii_lowercase().contains(";token=") => Err((
            "spark.master".into(),
            "carries a token, and the config is bundled as evidence: leave it out and set \
             SPARK_CONNECT_AUTHENTICATE_TOKEN in the environment, which the Connect client reads"
                .into(),
        )),
        (true, None, python) => Ok(SparkClient::Connect {
            python: python
                .clone()
                .unwrap_or_else(|| env("DOSSIER_SPARK_PYTHON", "python3")),
        }),
        (false, _, Some(_)) => Err((
            "spark.python".into(),
            "is only for Spark Connect (`master: sc://host:port`); spark-submit brings its own \
             Python (PYSPARK_PYTHON)"
                .into(),
        )),
        (false, submit, None) => {
            Ok(SparkClient::Submit(submit.clone().unwrap_or_else(|| {
                env("DOSSIER_SPARK_SUBMIT", "spark-submit")
            })))
        }
    }
}

/// A URI (`s3a://…`, `hdfs://…`) as it is; a local path under the config's folder.
fn remote_or_local(path: &str, join: &dyn Fn(&str) -> PathBuf) -> String {
    if path.contains("://") {
        path.to_string()
    } else {
        join(path).to_string_lossy().into_owned()
    }
}

fn absolute_under(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Kpi;

    fn load_str(text: &str) -> Result<Config> {
        let path = Path::new("/cfg/dossier.yaml");
        resolve(path, parse(path, text)?, &Overrides::default())
    }

    const MINIMAL: &str = "organization: Acme\nreport:\n  period: { start: 2026-07-01, end: 2026-09-30 }\nsources:\n  mlflow:\n    - path: mlflow/mlflow.db\n";

    #[test]
    fn minimal_config_gets_spec_defaults() {
        let c = load_str(MINIMAL).unwrap();
        assert_eq!(c.as_of, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
        assert_eq!(c.period.days(), 92); // Jul 31 + Aug 31 + Sep 30
        assert_eq!(c.mlflow[0].path, PathBuf::from("/cfg/mlflow/mlflow.db"));
        assert_eq!(
            c.policy.production_aliases,
            ["champion", "production", "prod"]
        );
        assert_eq!(c.policy.targets[&Kpi::AuditCoverage], 1.0);
        assert_eq!(c.policy.targets.len(), 8); // SPEC §2's seven and drift_monitoring_coverage
        assert_eq!(c.template, Template::Default);
    }

    #[test]
    fn a_spark_source_is_resolved_and_its_mistakes_name_their_key() {
        let with = |logs: &str| load_str(&format!("{MINIMAL}  logs:\n{logs}"));
        let c = with("    - path: data/requests\n      engine: spark\n      spark: { master: yarn, conf: { a: b } }\n").unwrap();
        let spark = c.logs[0].spark.as_ref().unwrap();
        assert_eq!(spark.path.as_deref(), Some("/cfg/data/requests"));
        assert_eq!(
            (spark.master.as_str(), spark.table.as_deref()),
            ("yarn", None)
        );
        assert_eq!(spark.timeout.as_secs(), 3600);
        assert!(matches!(spark.client, SparkClient::Submit(_)));
        let c = with("    - path: x\n      engine: spark\n      spark: { master: \"sc://h:15002\", python: /venv/bin/python }\n").unwrap();
        assert_eq!(
            c.logs[0].spark.as_ref().unwrap().client,
            SparkClient::Connect {
                python: "/venv/bin/python".into()
            }
        );
        let c = with("    - table: inference.requests\n      engine: spark\n      spark: { master: \"local[2]\" }\n").unwrap();
        assert_eq!(
            c.logs[0].spark.as_ref().unwrap().shown(),
            "spark table inference.requests"
        );
        let c = with("    - path: s3a://bucket/requests/\n      engine: spark\n      spark: { master: yarn }\n").unwrap();
        assert_eq!(
            c.logs[0].spark.as_ref().unwrap().path.as_deref(),
            Some("s3a://bucket/requests/")
        );
        for (logs, key, says) in [
            (
                "    - path: x\n      engine: spark\n",
                "spark",
                "is required",
            ),
            (
                "    - path: x\n      spark: { master: yarn }\n",
                "engine",
                "must be `spark`",
            ),
            (
                "    - path: x\n      table: t\n      engine: spark\n      spark: { master: yarn }\n",
                "path",
                "one of them",
            ),
            (
                "    - path: x\n      format: csv\n      engine: spark\n      spark: { master: yarn }\n",
                "format",
                "must be `parquet`",
            ),
            ("    - format: csv\n", "path", "is required"),
            (
                "    - path: x\n      engine: spark\n      spark: { master: \"sc://h:15002\", submit: s }\n",
                "spark.submit",
                "not used with Spark Connect",
            ),
            (
                "    - path: x\n      engine: spark\n      spark: { master: \"sc://h:443/;use_ssl=true;Token=s3cret\" }\n",
                "spark.master",
                "SPARK_CONNECT_AUTHENTICATE_TOKEN",
            ),
            (
                "    - path: x\n      engine: spark\n      spark: { master: yarn, excerpt_rows: 0 }\n",
                "spark.excerpt_rows",
                "must be 1 to 1000000",
            ),
            (
                "    - path: x\n      engine: spark\n      spark: { master: yarn, python: p }\n",
                "spark.python",
                "only for Spark Connect",
            ),
        ] {
            let err = with(logs).unwrap_err();
            let Error::Config {
                key: Some(k),
                message,
                ..
            } = &err
            else {
                panic!("{err:?}")
            };
            assert!(
                k.ends_with(key) && message.contains(says),
                "{logs}: {k}: {message}"
            );
        }
    }

    #[test]
    fn unknown_key_names_path_and_line() {
        let text = format!("{MINIMAL}policy:\n  targetz: {{}}\n");
        let err = load_str(&text).unwrap_err();
        let Error::Config {
            line, key, message, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*line, Some(8));
        assert_eq!(key.as_deref(), Some("policy.targetz"));
        assert!(message.contains("unknown field `targetz`"), "{message}");
    }

    /// The keys serde accepts in the mapping where `probe` puts an unknown one, from its
    /// "expected one of `a`, `b`" message.
    fn accepted_keys(probe: &str) -> std::collections::BTreeSet<String> {
        let path = Path::new("/cfg/dossier.yaml");
        let Err(Error::Config { message, .. }) = parse(path, probe) else {
            panic!("{probe:?} parsed");
        };
        assert!(
            message.contains("unknown field `zz_probe`"),
            "{probe:?}: {message}"
        );
        let expected = message.split_once("expected").map_or("", |(_, rest)| rest);
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    /// The keys docs/config.md lists under `## \`section\``.
    fn documented_keys(section: &str) -> std::collections::BTreeSet<String> {
        let heading = format!("## `{section}`");
        let body = REFERENCE
            .split("\n## ")
            .find(|s| format!("## {s}").starts_with(&heading))
            .unwrap_or_else(|| panic!("docs/config.md has no section {heading}"));
        body.lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_string()))
            .collect()
    }

    #[test]
    fn the_config_reference_lists_exactly_the_keys_the_config_accepts() {
        let probes = [
            ("(root)", "zz_probe: 1\n"),
            ("report", "organization: A\nreport:\n  zz_probe: 1\n"),
            (
                "report.period",
                "organization: A\nreport:\n  period:\n    zz_probe: 1\n",
            ),
            ("sources", "organization: A\nsources:\n  zz_probe: 1\n"),
            (
                "sources.mlflow[]",
                "organization: A\nsources:\n  mlflow:\n    - zz_probe: 1\n",
            ),
            (
                "sources.logs[]",
                "organization: A\nsources:\n  logs:\n    - zz_probe: 1\n",
            ),
            (
                "sources.logs[].fields",
                "organization: A\nsources:\n  logs:\n    - fields:\n        zz_probe: 1\n",
            ),
            (
                "sources.logs[].spark",
                "organization: A\nsources:\n  logs:\n    - spark:\n        zz_probe: 1\n",
            ),
            ("policy", "organization: A\npolicy:\n  zz_probe: 1\n"),
            (
                "policy.thresholds",
                "organization: A\npolicy:\n  thresholds:\n    zz_probe: 1\n",
            ),
            (
                "policy.thresholds.tiers.<tier>",
                "organization: A\npolicy:\n  thresholds:\n    tiers:\n      high:\n        zz_probe: 1\n",
            ),
            ("signing", "organization: A\nsigning:\n  zz_probe: 1\n"),
            (
                "signing.tsa",
                "organization: A\nsigning:\n  tsa:\n    zz_probe: 1\n",
            ),
            ("bundle", "organization: A\nbundle:\n  zz_probe: 1\n"),
        ];
        for (section, probe) in probes {
            assert_eq!(
                documented_keys(section),
                accepted_keys(probe),
                "docs/config.md section `{section}`"
            );
        }
        // Every section of the page is probed.
        let sections = REFERENCE.matches("\n## `").count();
        assert_eq!(sections, probes.len());
    }

    #[test]
    fn the_scaffold_is_valid_with_every_commented_key_uncommented() {
        let scaffold = include_str!("../../templates/init/dossier.yaml");
        assert!(load_str(scaffold).is_ok());
        // Uncomment every `# key:` line (the prose comments start with a capital or a word
        // followed by no colon); the result must still be a valid config.
        let opened: String = scaffold
            .lines()
            .map(|l| {
                let t = l.trim_start();
                let indent = &l[..l.len() - t.len()];
                match t.strip_prefix("# ") {
                    Some(rest)
                        if rest
                            .split_whitespace()
                            .next()
                            .is_some_and(|w| w.ends_with(':') || w == "-") =>
                    {
                        format!("{indent}{rest}")
                    }
                    _ => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = load_str(&opened).unwrap_or_else(|e| panic!("{e}\n{opened}"));
        assert_eq!(config.mlflow.len(), 1);
        assert_eq!(config.logs.len(), 3);
        assert!(config.logs[2].traces.is_some());
        assert!(config.responses.is_some());
        assert_eq!(
            config.signing_key,
            Some(PathBuf::from("/cfg/keys/dossier-signing.key"))
        );
        assert!(config.tsa.is_some());
        assert_eq!(config.bundle.redact, ["request_id"]);
    }

    #[test]
    fn common_yaml_mistakes_get_a_hint_in_plain_words() {
        let hint = |text: &str| match load_str(text) {
            Err(Error::Config { hint, .. }) => hint.unwrap_or_default(),
            other => panic!("{other:?}"),
        };
        let period = "report:\n  period: { start: 2026-07-01, end: 2026-09-30 }\n";
        let cases = [
            (
                format!(
                    "organization: A\n{period}sources:\n  mlflow:\n    - path: x.db\n   artifact_root: y\n"
                ),
                "check the indentation",
            ),
            (
                "organization: A\nreport:\n\tperiod: { start: 2026-07-01, end: 2026-09-30 }\n"
                    .to_string(),
                "replace the tab",
            ),
            (
                format!("organization: Acme: Lending\n{period}sources:\n  audits: [a.yaml]\n"),
                "must be quoted",
            ),
            (
                format!(
                    "organization: A\n{period}sources:\n  audits:\n    -a.yaml\n    - b.yaml\n"
                ),
                "space after its dash",
            ),
        ];
        for (text, expected) in cases {
            let got = hint(&text);
            assert!(got.contains(expected), "{text:?}: {got}");
        }
    }

    #[test]
    fn unknown_kpi_target_and_null_removal() {
        let err = load_str(&format!("{MINIMAL}policy:\n  targets: {{ docs: 0.5 }}\n")).unwrap_err();
        assert!(err.to_string().contains("policy.targets.docs"), "{err}");
        let c = load_str(&format!(
            "{MINIMAL}policy:\n  targets: {{ audit_coverage: null, approval_coverage: 0.5 }}\n"
        ))
        .unwrap();
        assert!(!c.policy.targets.contains_key(&Kpi::AuditCoverage));
        assert_eq!(c.policy.targets[&Kpi::ApprovalCoverage], 0.5);
    }

    #[test]
    fn build_time_forms() {
        let t = parse_timestamp("2026-10-01T09:30:00.75+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-10-01T07:30:00+00:00");
        assert_eq!(
            parse_epoch("1790000000").unwrap().timestamp(),
            1_790_000_000
        );
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_epoch("soon").is_err());
    }

    #[test]
    fn period_rules() {
        assert!(parse_period("2026-07-01..2026-09-30").is_ok());
        assert!(
            parse_period("2026-09-30..2026-07-01")
                .unwrap_err()
                .contains("before")
        );
        assert!(parse_period("2026-07-01").is_err());
        assert!(parse_period("2026-02-30..2026-03-01").is_err());
        let no_period = "organization: A\nsources:\n  audits: [a.yaml]\n";
        assert!(
            load_str(no_period)
                .unwrap_err()
                .to_string()
                .contains("report.period")
        );
        let overrides = Overrides {
            period: Some(parse_period("2026-01-01..2026-01-31").unwrap()),
            as_of: Some(parse_date("2026-03-01").unwrap()),
            ..Default::default()
        };
        let path = Path::new("/cfg/d.yaml");
        let c = resolve(path, parse(path, no_period).unwrap(), &overrides).unwrap();
        assert_eq!(c.period.days(), 31);
        assert_eq!(c.as_of.to_string(), "2026-03-01");
    }

    #[test]
    fn no_source_and_bad_values_are_errors() {
        let err = load_str("organization: A\nreport: { period: { start: 2026-01-01, end: 2026-01-02 } }\nsources: {}\n").unwrap_err();
        assert!(err.to_string().contains("no source"), "{err}");
        let err = load_str(&MINIMAL.replace("2026-09-30", "2026-13-01")).unwrap_err();
        assert!(err.to_string().contains("report.period.end"), "{err}");
        let err = load_str(&format!(
            "{MINIMAL}  logs:\n    - path: x.json\n      format: xml\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("unknown variant `xml`"), "{err}");
    }
}
