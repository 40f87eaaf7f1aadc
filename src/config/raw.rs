//! `dossier.yaml` as written (SPEC §2): the serde structs of the file, every one denying unknown
//! keys, and the parse that turns a YAML error into one naming the file, line, column and key path.
//! In: the file's text. Out: a `RawConfig` nothing has checked beyond its shape.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{FieldMap, LogFormat};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) organization: String,
    #[serde(default)]
    pub(super) report: RawReport,
    pub(super) sources: RawSources,
    #[serde(default)]
    pub(super) policy: RawPolicy,
    #[serde(default)]
    pub(super) signing: RawSigning,
    #[serde(default)]
    pub(super) bundle: RawBundle,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBundle {
    pub(super) previous: Option<String>,
    pub(super) include_stores: Option<bool>,
    pub(super) log_extracts: Option<super::LogExtracts>,
    pub(super) redact: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReport {
    pub(super) title: Option<String>,
    pub(super) period: Option<RawPeriod>,
    pub(super) as_of: Option<String>,
    pub(super) template: Option<String>,
    pub(super) prepared_by: Option<String>,
    pub(super) reviewed_by: Option<String>,
    pub(super) approved_by: Option<String>,
    pub(super) classification: Option<String>,
    pub(super) version: Option<String>,
    pub(super) status: Option<super::ReportStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPeriod {
    pub(super) start: String,
    pub(super) end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSources {
    #[serde(default)]
    pub(super) mlflow: Vec<RawMlflowSource>,
    #[serde(default)]
    pub(super) logs: Vec<RawLogSource>,
    #[serde(default)]
    pub(super) audits: Vec<String>,
    #[serde(default)]
    pub(super) exceptions: Vec<String>,
    pub(super) responses: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMlflowSource {
    pub(super) path: String,
    pub(super) artifact_root: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogSource {
    #[serde(default)]
    pub(super) path: String,
    pub(super) format: Option<RawLogFormat>,
    #[serde(default)]
    pub(super) fields: FieldMap,
    pub(super) success: Option<Vec<String>>,
    /// `embedded` (the default) or `spark`.
    pub(super) engine: Option<RawEngine>,
    pub(super) spark: Option<RawSpark>,
    /// A Spark table instead of a path (`engine: spark`).
    pub(super) table: Option<String>,
}

/// Which engine reads a log source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawEngine {
    Embedded,
    Spark,
}

/// How to reach Spark (`engine: spark`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpark {
    pub(super) master: String,
    /// `spark-submit` to run; default `DOSSIER_SPARK_SUBMIT`, else `spark-submit` on PATH.
    pub(super) submit: Option<String>,
    /// With Spark Connect (`sc://`): the Python that has `pyspark[connect]`; default
    /// `DOSSIER_SPARK_PYTHON`, else `python3` on PATH.
    pub(super) python: Option<String>,
    /// Records the bundle carries from the source: the first N accepted in scope, by time.
    pub(super) excerpt_rows: Option<u64>,
    #[serde(default)]
    pub(super) conf: std::collections::BTreeMap<String, String>,
    pub(super) timeout_seconds: Option<u64>,
}

/// A log source's `format`: a file format, or MLflow traces read from a tracking store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawLogFormat {
    Splunk,
    Elasticsearch,
    Ndjson,
    Csv,
    Parquet,
    MlflowTraces,
}

impl RawLogFormat {
    /// The file format; `None` for `mlflow-traces`.
    pub(super) fn file_format(self) -> Option<LogFormat> {
        match self {
            RawLogFormat::Splunk => Some(LogFormat::Splunk),
            RawLogFormat::Elasticsearch => Some(LogFormat::Elasticsearch),
            RawLogFormat::Ndjson => Some(LogFormat::Ndjson),
            RawLogFormat::Csv => Some(LogFormat::Csv),
            RawLogFormat::Parquet => Some(LogFormat::Parquet),
            RawLogFormat::MlflowTraces => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) production_aliases: Option<Vec<String>>,
    pub(super) risk_tier_tag: Option<String>,
    pub(super) model_card_artifacts: Option<Vec<String>>,
    pub(super) evaluation_metrics: Option<Vec<String>>,
    pub(super) approval_tag: Option<String>,
    pub(super) owner_tag: Option<String>,
    pub(super) logging_min_coverage: Option<f64>,
    pub(super) audit_max_age_days: Option<u32>,
    pub(super) point_in_time: Option<super::PointInTime>,
    #[serde(default)]
    pub(super) remediation_due_days: BTreeMap<crate::vocab::Severity, u32>,
    /// A `null` value removes a default target.
    #[serde(default)]
    pub(super) targets: BTreeMap<String, Option<f64>>,
    #[serde(default)]
    pub(super) thresholds: RawThresholds,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThresholds {
    pub(super) score_psi: Option<f64>,
    pub(super) error_rate: Option<f64>,
    pub(super) latency_p99_ms: Option<f64>,
    #[serde(default)]
    pub(super) tiers: BTreeMap<String, RawLimits>,
    #[serde(default)]
    pub(super) models: BTreeMap<String, RawLimits>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) score_psi: Option<f64>,
    pub(super) error_rate: Option<f64>,
    pub(super) latency_p99_ms: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSigning {
    pub(super) key: Option<String>,
    pub(super) tsa: Option<RawTsa>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTsa {
    pub(super) url: String,
    pub(super) ca: Option<String>,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<RawConfig> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let key = err.path().to_string();
        let inner = err.into_inner();
        let location = inner.location();
        let message = strip_yaml_context(&inner.to_string(), &key);
        let line = location.as_ref().map(|l| l.line());
        Error::Config {
            path: path.to_path_buf(),
            line,
            column: location.as_ref().map(|l| l.column()),
            key: Some(key),
            hint: Some(yaml_hint(&message, text, line)),
            message,
        }
    })
}

/// What to check for the common YAML mistakes, in the user's words rather than the parser's:
/// a tab, a key out of line, an unquoted `: ` inside a value, no space after a list's `-`.
fn yaml_hint(message: &str, text: &str, line: Option<usize>) -> String {
    let at = |n: usize| text.lines().nth(n.saturating_sub(1)).unwrap_or_default();
    let here = line.map(at).unwrap_or_default();
    let above = line.map(|n| at(n.saturating_sub(1))).unwrap_or_default();
    let value_has_colon = here.split_once(": ").is_some_and(|(_, value)| {
        value.contains(": ") && !value.trim_start().starts_with(['"', '\''])
    });
    if here.contains('\t') || (message.contains("cannot start any token") && above.contains('\t')) {
        "YAML indents with spaces only: replace the tab on this line by spaces".into()
    } else if message.contains("mapping values are not allowed") && value_has_colon {
        "a value holding `: ` must be quoted, e.g. organization: \"Acme: Lending\"".into()
    } else if message.contains("did not find expected")
        || message.contains("mapping values are not allowed")
        || message.contains("block sequence entries are not allowed")
    {
        "check the indentation of this line and the one above: keys of one mapping start in the \
         same column, and a nested key is indented further than its parent"
            .into()
    } else if message.contains("expected a sequence") && message.contains("string \"-") {
        "a list item needs a space after its dash: `- a.yaml`, not `-a.yaml`".into()
    } else {
        "see docs/config.md (or `dossier init --reference`) for every key and its format".into()
    }
}

/// serde_yaml wraps its messages as "KEY: … at line L column C"; the error carries both already.
fn strip_yaml_context(message: &str, key: &str) -> String {
    let message = match message.split_once(": ") {
        Some((head, rest)) if key.starts_with(head) => rest,
        _ => message,
    };
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
