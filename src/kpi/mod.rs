//! Evidence and config in, the machine-output document of SPEC §4 out (`Document`): the same
//! document `dossier kpis --format json` prints, the bundle stores and the report template reads.
//! Guarantees: a ratio with an empty denominator is `null` (n/a), never 0 or 1; every ratio also
//! carries its numerator and denominator so a reader can check it; nothing is rounded here.

pub mod audits;
pub mod baseline;
pub mod exceptions;
pub mod inventory;
pub mod operations;
pub mod remediation;

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
pub use inventory::ModelKpis;

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

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kpi {
    /// `null` when the denominator is empty (n/a).
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// `null` when there is no target or no value.
    pub met: Option<bool>,
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
}

/// KPIs in the fixed order of SPEC §4, serialised as a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiTable(pub Vec<(String, Kpi)>);

impl KpiTable {
    pub fn get(&self, name: &str) -> Option<&Kpi> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, k)| k)
    }
}

impl Serialize for KpiTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, kpi) in &self.0 {
            map.serialize_entry(name, kpi)?;
        }
        map.end()
    }
}

/// A share of `numerator` in `denominator`, compared with its target (a minimum).
pub fn ratio(numerator: u64, denominator: u64, target: Option<f64>) -> Kpi {
    let value = (denominator > 0).then(|| numerator as f64 / denominator as f64);
    Kpi {
        value,
        target,
        met: value.zip(target).map(|(v, t)| v >= t),
        numerator: Some(numerator),
        denominator: Some(denominator),
    }
}

/// A count compared with its target (a maximum).
pub fn count(n: u64, target: Option<f64>) -> Kpi {
    let value = n as f64;
    Kpi {
        value: Some(value),
        target,
        met: target.map(|t| value <= t),
        numerator: None,
        denominator: None,
    }
}

/// The documentation/lineage ratios over production models (SPEC §4), in the spec's order.
type HasField = fn(&ModelKpis) -> Option<bool>;
const INVENTORY_RATIOS: [(&str, HasField); 5] = [
    ("documentation_completeness", |m| m.has_model_card),
    ("dataset_provenance_completeness", |m| {
        m.has_dataset_provenance
    }),
    ("evaluation_completeness", |m| m.has_evaluation),
    ("code_lineage_completeness", |m| m.has_code_lineage),
    ("approval_coverage", |m| m.has_approval),
];

/// The five documentation/lineage ratios over the production models among `models`.
fn inventory_ratios<'a>(
    models: impl Iterator<Item = &'a ModelKpis>,
    targets: &BTreeMap<String, f64>,
) -> Vec<(String, Kpi)> {
    let production: Vec<&ModelKpis> = models.filter(|m| m.in_production).collect();
    let denominator = production.len() as u64;
    INVENTORY_RATIOS
        .iter()
        .map(|(name, field)| {
            let numerator = production.iter().filter(|m| field(m) == Some(true)).count() as u64;
            (
                name.to_string(),
                ratio(numerator, denominator, targets.get(*name).copied()),
            )
        })
        .collect()
}

/// Every portfolio KPI over one slice of the estate (all of it, or the high tier).
struct Slice<'a> {
    models: Vec<&'a ModelKpis>,
    audits: Vec<&'a audits::AuditOut>,
    exceptions: Vec<&'a exceptions::ExceptionOut>,
    logs_configured: bool,
    rejected_records: u64,
}

fn portfolio(slice: &Slice<'_>, config: &Config) -> KpiTable {
    let targets = &config.policy.targets;
    let target = |name: &str| targets.get(name).copied();
    let production: Vec<&ModelKpis> = slice
        .models
        .iter()
        .copied()
        .filter(|m| m.in_production)
        .collect();
    let mut table = inventory_ratios(production.iter().copied(), targets);
    table.push((
        "logging_health".into(),
        logging_health(&production, slice.logs_configured, config),
    ));
    let as_of = config.as_of;
    let max_age = config.policy.audit_max_age_days;
    table.push((
        "audit_coverage".into(),
        audits::audit_coverage(
            production.iter().copied(),
            as_of,
            max_age,
            target("audit_coverage"),
        ),
    ));
    table.push((
        "control_pass_rate".into(),
        audits::control_pass_rate(slice.audits.iter().copied(), target("control_pass_rate")),
    ));
    table.push((
        "exception_expiry_adherence".into(),
        exceptions::expiry_adherence(
            slice.exceptions.iter().copied(),
            target("exception_expiry_adherence"),
        ),
    ));
    table.push((
        "expired_open_exceptions_count".into(),
        exceptions::expired_open_count(
            slice.exceptions.iter().copied(),
            target("expired_open_exceptions_count"),
        ),
    ));
    if slice.logs_configured {
        table.push((
            "rejected_log_records_count".into(),
            count(slice.rejected_records, target("rejected_log_records_count")),
        ));
    } else {
        table.push((
            "rejected_log_records_count".into(),
            na(target("rejected_log_records_count")),
        ));
    }
    KpiTable(table)
}

/// Share of production models whose logging coverage reaches the policy minimum; n/a without
/// log sources (no logs read says nothing about logging).
fn logging_health(production: &[&ModelKpis], configured: bool, config: &Config) -> Kpi {
    let target = config.policy.targets.get("logging_health").copied();
    if !configured {
        return na(target);
    }
    let min = config.policy.logging_min_coverage;
    let healthy = production
        .iter()
        .filter(|m| m.logging_coverage.is_some_and(|c| c >= min))
        .count();
    ratio(healthy as u64, production.len() as u64, target)
}

/// A KPI that could not be computed at all.
fn na(target: Option<f64>) -> Kpi {
    Kpi {
        value: None,
        target,
        met: None,
        numerator: None,
        denominator: None,
    }
}

pub fn build(config: &Config, evidence: &Evidence) -> Result<Document> {
    let mut warnings = evidence.warnings.clone();
    check_unique_models(evidence)?;
    let mut models = inventory::build(&evidence.stores, &config.policy, &mut warnings);
    let mut audits = audits::latest(&evidence.audits, config.as_of, &mut warnings)?;
    let mut exceptions: Vec<exceptions::ExceptionOut> = evidence
        .exceptions
        .iter()
        .map(|e| exceptions::assess(e, config.as_of))
        .collect();
    exceptions.sort_by(|a, b| a.id.cmp(&b.id));
    if !config.scope.systems.is_empty() {
        check_scope(config, &models, &audits, &exceptions)?;
        let in_scope = |s: &String| config.scope.systems.contains(s);
        models.retain(|m| in_scope(&m.name));
        audits.retain(|a| in_scope(&a.system));
        exceptions.retain(|e| in_scope(&e.system));
    }
    for m in &mut models {
        m.last_audit = audits::last_audit(&audits, &m.name);
    }
    let registered = operations::registered_versions(&evidence.stores);
    let unknown_models_in_logs =
        operations::apply(&evidence.logs, config.period, &mut models, &registered)?;
    for u in &unknown_models_in_logs {
        warnings.push(format!(
            "{} log record(s) in the period name model `{}`, which no MLflow store registers",
            u.records, u.model
        ));
    }
    let logs_configured = evidence.logs.configured;
    let rejected_records: u64 = evidence.logs.rejected.iter().map(|r| r.count).sum();
    let high: Vec<&str> = models
        .iter()
        .filter(|m| m.in_production && m.risk_tier == "high")
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
        models: models.iter().filter(|m| m.risk_tier == "high").collect(),
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
    let remediation = remediation::build(
        &models,
        &audits,
        &exceptions,
        logs_configured.then_some(config.policy.logging_min_coverage),
    );
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
        unknown_models_in_logs,
        rejected: evidence.logs.rejected.clone(),
        log_files: evidence.logs.files.clone(),
        baseline: snapshot,
        trend,
        warnings,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, tier: &str, prod: bool, card: bool, approval: bool) -> ModelKpis {
        ModelKpis {
            in_production: prod,
            risk_tier: tier.into(),
            has_model_card: prod.then_some(card),
            has_dataset_provenance: prod.then_some(false),
            has_evaluation: prod.then_some(true),
            has_code_lineage: prod.then_some(false),
            has_approval: prod.then_some(approval),
            ..ModelKpis::named(name)
        }
    }

    #[test]
    fn ratios_count_production_models_only() {
        // 3 production models (2 with a card), 1 not in production with a card: 2/3.
        let models = [
            model("a", "high", true, true, true),
            model("b", "high", true, false, false),
            model("c", "low", true, true, false),
            model("d", "low", false, true, true),
        ];
        let targets = BTreeMap::from([("documentation_completeness".to_string(), 0.85)]);
        let t = KpiTable(inventory_ratios(models.iter(), &targets));
        let doc = t.get("documentation_completeness").unwrap();
        assert_eq!((doc.numerator, doc.denominator), (Some(2), Some(3)));
        assert!((doc.value.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(doc.met, Some(false));
        let approval = t.get("approval_coverage").unwrap();
        assert_eq!(approval.value, Some(1.0 / 3.0));
        assert_eq!(approval.met, None, "no target, no verdict");
        assert_eq!(t.get("evaluation_completeness").unwrap().value, Some(1.0));
        assert_eq!(
            t.get("dataset_provenance_completeness").unwrap().value,
            Some(0.0)
        );
        let high = KpiTable(inventory_ratios(
            models.iter().filter(|m| m.risk_tier == "high"),
            &targets,
        ));
        assert_eq!(
            high.get("documentation_completeness").unwrap().value,
            Some(0.5)
        );
    }

    #[test]
    fn empty_denominator_is_na_not_zero_or_one() {
        let models = [model("d", "low", false, true, true)];
        let targets = BTreeMap::from([("documentation_completeness".to_string(), 0.85)]);
        let t = KpiTable(inventory_ratios(models.iter(), &targets));
        let doc = t.get("documentation_completeness").unwrap();
        assert_eq!(doc.value, None);
        assert_eq!(doc.met, None);
        assert_eq!(doc.denominator, Some(0));
        let json = serde_json::to_value(&t).unwrap();
        assert!(json["documentation_completeness"]["value"].is_null());
    }

    #[test]
    fn target_is_met_at_equality() {
        assert_eq!(ratio(17, 20, Some(0.85)).met, Some(true));
        assert_eq!(ratio(16, 20, Some(0.85)).met, Some(false));
    }
}
