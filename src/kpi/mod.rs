//! Evidence and config in, the machine-output document of SPEC §4 out (`Document`): the same
//! document `dossier kpis --format json` prints, the bundle stores and the report template reads.
//! Guarantees: a ratio with an empty denominator is `null` (n/a), never 0 or 1; every ratio also
//! carries its numerator and denominator so a reader can check it; nothing is rounded here; the
//! document holds what SPEC §4 (and docs/kpis-json.md) says and nothing a later stage needs
//! besides: the bundle reads what it needs from the evidence itself.

pub mod audits;
pub mod baseline;
pub mod exceptions;
pub mod inventory;
pub mod operations;
mod portfolio;
pub mod production;
pub mod remediation;
pub mod tracking;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
pub use inventory::ModelKpis;
pub use portfolio::{KpiTable, KpiValue, count, ratio};
use portfolio::{Slice, portfolio};

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub organization: String,
    pub title: String,
    pub period: PeriodOut,
    pub as_of: String,
    pub scope: ScopeOut,
    pub portfolio: KpiTable,
    pub portfolio_high: KpiTable,
    pub models: Vec<ModelKpis>,
    pub audits: Vec<audits::AuditOut>,
    pub exceptions: Vec<exceptions::ExceptionOut>,
    pub remediation: Vec<remediation::Item>,
    /// Responses of the management-response register whose item this build no longer finds
    /// ("closed since the last report"; an added key).
    pub remediation_closed: Vec<tracking::Closed>,
    /// Log records of model names no store registers.
    pub unknown_models_in_logs: Vec<operations::UnknownModel>,
    /// Log records rejected, per file and reason.
    pub rejected: Vec<crate::ingest::logs::Rejected>,
    /// Every log file read with its account of records (an added key).
    pub log_files: Vec<crate::ingest::logs::LogFile>,
    /// The MLflow stores read (an added key: what the inventory rests on).
    pub mlflow_sources: Vec<SourceOut>,
    /// This run's figures as `baseline.json` holds them (an added key).
    pub baseline: baseline::Baseline,
    /// Change of each portfolio KPI since `--baseline` (an added key; null without one).
    pub trend: Option<baseline::Trend>,
    pub warnings: Vec<String>,
    /// What these figures cannot say (an added key): what the registry could not tell as of
    /// `as_of`, standing statements first. The report's limitations section lists them.
    pub limitations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodOut {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeOut {
    pub systems: Vec<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceOut {
    pub path: String,
    pub kind: &'static str,
    pub registered_models: usize,
    pub source_runs: usize,
}

pub fn build(config: &Config, evidence: &Evidence) -> Result<Document> {
    let mut warnings = evidence.warnings.clone();
    check_unique_models(evidence)?;
    let mut notes = Vec::new();
    let mut models = inventory::build(
        &evidence.stores,
        &config.policy,
        (config.period, config.as_of),
        &mut warnings,
        &mut notes,
    );
    if config.scope.is_scoped() {
        notes.retain(|n| config.scope.admits(&n.system));
    }
    warnings.extend(notes.iter().map(|n| n.text.clone()));
    let limitations = limitations(config, evidence, notes);
    let mut audits = audits::latest(
        &evidence.audits,
        (config.as_of, config.policy.audit_max_age_days),
        &mut warnings,
    )?;
    let mut exceptions: Vec<exceptions::ExceptionOut> = evidence
        .exceptions
        .iter()
        .map(|e| exceptions::assess(e, config.as_of))
        .collect();
    exceptions.sort_by(|a, b| a.id.cmp(&b.id));
    if config.scope.is_scoped() {
        check_scope(config, &models, &audits, &exceptions)?;
        let scope = &config.scope;
        models.retain(|m| scope.admits(&m.name));
        audits.retain(|a| scope.admits(&a.system));
        exceptions.retain(|e| scope.admits(&e.system));
    }
    for m in &mut models {
        m.last_audit = audits::last_audit(&audits, &m.name);
    }
    let registered = operations::registered_versions(&evidence.stores);
    let unknown_models_in_logs =
        crate::error::contain(Path::new("sources.logs"), "computing the log KPIs", || {
            operations::apply(&evidence.logs, config.period, &mut models, &registered)
        })?;
    for u in &unknown_models_in_logs {
        warnings.push(format!(
            "{} log record(s) in the period name model `{}`, which no MLflow store registers",
            u.records, u.model
        ));
    }
    let logs_configured = evidence.logs.configured;
    for m in models
        .iter_mut()
        .filter(|m| m.in_production && logs_configured)
    {
        m.thresholds = Some(config.policy.thresholds.for_model(&m.name, &m.risk_tier));
    }
    let rejected_records: u64 = evidence.logs.rejected.iter().map(|r| r.count).sum();
    let high: Vec<&str> = models
        .iter()
        .filter(|m| m.in_production && m.risk_tier.is_high())
        .map(|m| m.name.as_str())
        .collect();
    let all = Slice {
        models: models.iter().collect(),
        audits: audits.iter().collect(),
        exceptions: exceptions.iter().collect(),
        logs_configured,
        rejected_records,
    };
    let high_slice = Slice {
        models: models.iter().filter(|m| m.risk_tier.is_high()).collect(),
        audits: audits
            .iter()
            .filter(|a| high.contains(&a.system.as_str()))
            .collect(),
        exceptions: exceptions
            .iter()
            .filter(|e| high.contains(&e.system.as_str()))
            .collect(),
        logs_configured,
        rejected_records,
    };
    let portfolio_all = portfolio(&all, config);
    let portfolio_high = portfolio(&high_slice, config);
    let mut remediation = remediation::build(
        &models,
        &audits,
        &exceptions,
        logs_configured.then_some(config.policy.logging_min_coverage),
        config.policy.max_version_age_days,
    );
    let (remediation_closed, tracked) = tracking::track(
        &mut remediation,
        (config.as_of, &config.policy.remediation_due_days),
        &evidence.responses,
        &config.scope,
    );
    warnings.extend(tracked);
    let (start, end) = (
        config.period.start.to_string(),
        config.period.end.to_string(),
    );
    let as_of = config.as_of.to_string();
    let snapshot = baseline::snapshot(
        &as_of,
        (&start, &end),
        config.period.days(),
        &portfolio_all,
        &portfolio_high,
        &models,
    );
    let trend = match &config.baseline {
        Some(path) => Some(baseline::trend(
            &portfolio_all,
            &baseline::read(path)?,
            path,
        )),
        None => None,
    };
    Ok(Document {
        organization: config.organization.clone(),
        title: config.title.clone(),
        period: PeriodOut { start, end },
        as_of,
        scope: ScopeOut {
            systems: config.scope.systems.clone(),
            request_id: config.scope.request_id.clone(),
        },
        portfolio: portfolio_all,
        portfolio_high,
        mlflow_sources: evidence
            .stores
            .iter()
            .map(|s| SourceOut {
                path: s.path.display().to_string(),
                kind: s.kind.label(),
                registered_models: s.models.len(),
                source_runs: s.runs.len(),
            })
            .collect(),
        models,
        audits,
        exceptions,
        remediation,
        remediation_closed,
        unknown_models_in_logs,
        rejected: evidence.logs.rejected.clone(),
        log_files: evidence.logs.accounts(),
        baseline: snapshot,
        trend,
        warnings,
        limitations,
    })
}

/// The standing statements about reading a registry that keeps no history, then each version
/// the registry's own times put after `as_of`.
fn limitations(config: &Config, evidence: &Evidence, notes: Vec<production::Note>) -> Vec<String> {
    let mut out = Vec::new();
    if !evidence.stores.is_empty() {
        out.push(format!(
            "MLflow keeps no history of aliases, stages or tags: which version is in production, \
             and its tags, model card and metrics, are read as the stores stand when this build \
             read them, not as of {}. Only creation times are recorded; a production version \
             created after {} is named below (policy.point_in_time: {}).",
            config.as_of,
            config.as_of,
            match config.policy.point_in_time {
                crate::config::PointInTime::Warn => "warn — kept, and named",
                crate::config::PointInTime::Strict => "strict — left out",
            }
        ));
    }
    out.extend(notes.into_iter().map(|n| n.text));
    out
}

/// Every `--system` must name a registered model, an audited system or an exception's system.
fn check_scope(
    config: &Config,
    models: &[ModelKpis],
    audits: &[audits::AuditOut],
    exceptions: &[exceptions::ExceptionOut],
) -> Result<()> {
    let mut known: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    known.extend(audits.iter().map(|a| a.system.as_str()));
    known.extend(exceptions.iter().map(|e| e.system.as_str()));
    known.sort();
    known.dedup();
    let unknown: Vec<&str> = config
        .scope
        .systems
        .iter()
        .map(String::as_str)
        .filter(|s| !known.contains(s))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--system {}: no such system; known: {}",
        unknown.join(", "),
        known.join(", ")
    )))
}

/// Two stores registering the same model name would make "the production version" ambiguous.
fn check_unique_models(evidence: &Evidence) -> Result<()> {
    let mut seen: BTreeMap<&str, &std::path::Path> = BTreeMap::new();
    for store in &evidence.stores {
        for model in &store.models {
            if let Some(first) = seen.insert(&model.name, &store.path) {
                return Err(Error::Mlflow {
                    path: store.path.clone(),
                    message: format!(
                        "registered model `{}` is also in {}; a model must come from one store",
                        model.name,
                        first.display()
                    ),
                    hint: Some("list each registry once under sources.mlflow".into()),
                });
            }
        }
    }
    Ok(())
}
