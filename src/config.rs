//! `dossier.yaml` (SPEC §2) in, a resolved `Config` out. Paths are made absolute against the config
//! file's folder, defaults are filled in, command-line overrides (`Overrides`) are applied, and
//! every rule is checked here so later stages can trust what they get. Unknown keys are errors
//! naming the key path and line, because a typo in an audit config must never be ignored silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::error::{Error, Result};

/// Portfolio KPI names a target may be set for (SPEC §4).
pub const KPI_NAMES: &[&str] = &[
    "documentation_completeness",
    "dataset_provenance_completeness",
    "evaluation_completeness",
    "code_lineage_completeness",
    "approval_coverage",
    "logging_health",
    "audit_coverage",
    "control_pass_rate",
    "exception_expiry_adherence",
    "expired_open_exceptions_count",
    "rejected_log_records_count",
];

/// What the command line may override; built by `lib.rs` from clap's types.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub period: Option<String>,
    pub as_of: Option<String>,
    pub systems: Vec<String>,
    pub request_id: Option<String>,
    pub baseline: Option<PathBuf>,
    pub strict: bool,
    /// `--timestamp` (RFC 3339).
    pub timestamp: Option<String>,
    /// The `SOURCE_DATE_EPOCH` environment variable (seconds).
    pub source_date_epoch: Option<String>,
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
    pub mlflow: Vec<MlflowSource>,
    pub logs: Vec<LogSource>,
    /// Absolute glob patterns.
    pub audits: Vec<String>,
    /// Absolute glob patterns.
    pub exceptions: Vec<String>,
    pub policy: Policy,
    pub signing_key: Option<PathBuf>,
    pub scope: Scope,
    /// An earlier baseline to trend against (`--baseline`).
    pub baseline: Option<PathBuf>,
    pub strict: bool,
    /// The one build time written everywhere (zip entries, bag-info, report).
    pub build_time: DateTime<Utc>,
}

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

#[derive(Debug, Clone)]
pub struct Policy {
    pub production_aliases: Vec<String>,
    pub risk_tier_tag: String,
    pub model_card_artifacts: Vec<String>,
    pub evaluation_metrics: Vec<String>,
    pub approval_tag: String,
    pub logging_min_coverage: f64,
    pub audit_max_age_days: u32,
    /// KPI name → minimum (maximum for `*_count`).
    pub targets: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub systems: Vec<String>,
    pub request_id: Option<String>,
}

// ---- the file as written -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    organization: String,
    #[serde(default)]
    report: RawReport,
    sources: RawSources,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    signing: RawSigning,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    title: Option<String>,
    period: Option<RawPeriod>,
    as_of: Option<String>,
    template: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    start: String,
    end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    #[serde(default)]
    mlflow: Vec<RawMlflowSource>,
    #[serde(default)]
    logs: Vec<RawLogSource>,
    #[serde(default)]
    audits: Vec<String>,
    #[serde(default)]
    exceptions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMlflowSource {
    path: String,
    artifact_root: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogSource {
    path: String,
    format: Option<LogFormat>,
    #[serde(default)]
    fields: FieldMap,
    success: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    production_aliases: Option<Vec<String>>,
    risk_tier_tag: Option<String>,
    model_card_artifacts: Option<Vec<String>>,
    evaluation_metrics: Option<Vec<String>>,
    approval_tag: Option<String>,
    logging_min_coverage: Option<f64>,
    audit_max_age_days: Option<u32>,
    /// A `null` value removes a default target.
    #[serde(default)]
    targets: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigning {
    key: Option<String>,
}

// ---- loading -------------------------------------------------------------------------------

/// Read, parse, validate and resolve the config at `path`, with the command line's overrides.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("cannot read config", path, e))?;
    let path = std::path::absolute(path).map_err(|e| Error::io("cannot resolve", path, e))?;
    let raw = parse(&path, &text)?;
    resolve(&path, raw, overrides)
}

fn parse(path: &Path, text: &str) -> Result<RawConfig> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let key = err.path().to_string();
        let inner = err.into_inner();
        let location = inner.location();
        let message = strip_yaml_context(&inner.to_string(), &key);
        Error::Config {
            path: path.to_path_buf(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            key: Some(key),
            message,
            hint: Some("see SPEC §2 or `dossier init` for every key and its format".into()),
        }
    })
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
    let period = match (&overrides.period, &raw.report.period) {
        (Some(text), _) => {
            parse_period(text).map_err(|m| Error::Usage(format!("--period: {m}")))?
        }
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
    let as_of = match (&overrides.as_of, &raw.report.as_of) {
        (Some(text), _) => parse_date(text).map_err(|m| Error::Usage(format!("--as-of: {m}")))?,
        (None, Some(text)) => parse_date(text).map_err(|m| invalid("report.as_of", m))?,
        (None, None) => period
            .end
            .succ_opt()
            .ok_or_else(|| invalid("report.period.end", "has no following day".into()))?,
    };

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
        .map(|s| LogSource {
            pattern: join(&s.path).to_string_lossy().into_owned(),
            format: s.format,
            fields: s.fields,
            success: s
                .success
                .unwrap_or_else(|| ["200", "ok", "success", "OK"].map(String::from).to_vec()),
        })
        .collect();
    let globs = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|p| join(p).to_string_lossy().into_owned())
            .collect()
    };

    let policy = resolve_policy(raw.policy).map_err(|(key, m)| invalid(&key, m))?;
    let template = match raw.report.template.as_deref() {
        None | Some("default") => Template::Default,
        Some(p) => Template::Path(join(p)),
    };
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
        mlflow,
        logs,
        audits: globs(&sources.audits),
        exceptions: globs(&sources.exceptions),
        policy,
        signing_key: raw.signing.key.as_deref().map(join),
        scope: Scope {
            systems: overrides.systems.clone(),
            request_id: overrides.request_id.clone(),
        },
        baseline: overrides.baseline.clone(),
        strict: overrides.strict,
        build_time: build_time(
            overrides.timestamp.as_deref(),
            overrides.source_date_epoch.as_deref(),
        )
        .map_err(Error::Usage)?,
        base_dir,
    })
}

fn resolve_policy(raw: RawPolicy) -> std::result::Result<Policy, (String, String)> {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut targets: BTreeMap<String, f64> = [
        ("documentation_completeness", 0.85),
        ("dataset_provenance_completeness", 0.80),
        ("evaluation_completeness", 0.95),
        ("logging_health", 0.95),
        ("audit_coverage", 1.0),
        ("control_pass_rate", 0.90),
        ("exception_expiry_adherence", 0.95),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (name, value) in raw.targets {
        if !KPI_NAMES.contains(&name.as_str()) {
            return Err((
                format!("policy.targets.{name}"),
                format!("unknown KPI `{name}`; known: {}", KPI_NAMES.join(", ")),
            ));
        }
        match value {
            Some(v) if !v.is_finite() || v < 0.0 || (!name.ends_with("_count") && v > 1.0) => {
                return Err((
                    format!("policy.targets.{name}"),
                    format!("{v} is not a valid target (ratios are 0..1, counts ≥ 0)"),
                ));
            }
            Some(v) => {
                targets.insert(name, v);
            }
            None => {
                targets.remove(&name);
            }
        }
    }
    let min_coverage = raw.logging_min_coverage.unwrap_or(0.95);
    if !(0.0..=1.0).contains(&min_coverage) {
        return Err((
            "policy.logging_min_coverage".into(),
            format!("{min_coverage} is not a share between 0 and 1"),
        ));
    }
    Ok(Policy {
        production_aliases: raw
            .production_aliases
            .unwrap_or_else(|| strings(&["champion", "production", "prod"])),
        risk_tier_tag: raw.risk_tier_tag.unwrap_or_else(|| "risk_tier".into()),
        model_card_artifacts: raw
            .model_card_artifacts
            .unwrap_or_else(|| strings(&["model_card.md", "MODEL_CARD.md", "model_card.pdf"])),
        evaluation_metrics: raw.evaluation_metrics.unwrap_or_else(|| {
            strings(&[
                "accuracy",
                "roc_auc",
                "auc",
                "f1",
                "precision",
                "recall",
                "rmse",
                "mae",
                "r2",
            ])
        }),
        approval_tag: raw.approval_tag.unwrap_or_else(|| "approved_by".into()),
        logging_min_coverage: min_coverage,
        audit_max_age_days: raw.audit_max_age_days.unwrap_or(365),
        targets,
    })
}

fn absolute_under(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// SPEC §1: `--timestamp` (RFC 3339) wins, then `SOURCE_DATE_EPOCH` (seconds), else now; always
/// whole seconds, in UTC.
pub fn build_time(
    timestamp: Option<&str>,
    epoch: Option<&str>,
) -> std::result::Result<DateTime<Utc>, String> {
    use chrono::{SubsecRound, TimeZone};
    if let Some(text) = timestamp {
        return DateTime::parse_from_rfc3339(text.trim())
            .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
            .map_err(|e| format!("--timestamp: `{text}` is not RFC 3339 ({e})"));
    }
    if let Some(text) = epoch.filter(|t| !t.trim().is_empty()) {
        let secs: i64 = text
            .trim()
            .parse()
            .map_err(|_| format!("SOURCE_DATE_EPOCH: `{text}` is not a number of seconds"))?;
        return Utc
            .timestamp_opt(secs, 0)
            .single()
            .ok_or_else(|| format!("SOURCE_DATE_EPOCH: {secs} is out of range"));
    }
    Ok(Utc::now().trunc_subsecs(0))
}

/// `YYYY-MM-DD`, a UTC calendar day.
pub fn parse_date(text: &str) -> std::result::Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|e| format!("`{text}` is not a date YYYY-MM-DD ({e})"))
}

/// `START..END`, both inclusive.
pub fn parse_period(text: &str) -> std::result::Result<Period, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not START..END"))?;
    checked_period(parse_date(start)?, parse_date(end)?)
}

fn checked_period(start: NaiveDate, end: NaiveDate) -> std::result::Result<Period, String> {
    if end < start {
        return Err(format!("ends ({end}) before it starts ({start})"));
    }
    Ok(Period { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.policy.targets["audit_coverage"], 1.0);
        assert_eq!(c.policy.targets.len(), 7);
        assert_eq!(c.template, Template::Default);
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

    #[test]
    fn unknown_kpi_target_and_null_removal() {
        let err = load_str(&format!("{MINIMAL}policy:\n  targets: {{ docs: 0.5 }}\n")).unwrap_err();
        assert!(err.to_string().contains("policy.targets.docs"), "{err}");
        let c = load_str(&format!(
            "{MINIMAL}policy:\n  targets: {{ audit_coverage: null, approval_coverage: 0.5 }}\n"
        ))
        .unwrap();
        assert!(!c.policy.targets.contains_key("audit_coverage"));
        assert_eq!(c.policy.targets["approval_coverage"], 0.5);
    }

    #[test]
    fn build_time_precedence() {
        let t = build_time(Some("2026-10-01T09:30:00.75+02:00"), Some("0")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-10-01T07:30:00+00:00");
        assert_eq!(
            build_time(None, Some("1790000000")).unwrap().timestamp(),
            1_790_000_000
        );
        assert!(build_time(Some("yesterday"), None).is_err());
        assert!(build_time(None, Some("soon")).is_err());
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
            period: Some("2026-01-01..2026-01-31".into()),
            as_of: Some("2026-03-01".into()),
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
