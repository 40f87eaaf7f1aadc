//! MLflow stores in, the model inventory out (SPEC §4): every registered model, whether it is in
//! production and through which alias or stage, its risk tier, and for production models the five
//! documentation/lineage facts about the production version and its source run. A fact that
//! could not be established (source run missing, artifact folder not found) is `false` with a
//! warning saying why, so the gap shows in the ratios and in the report.

use std::collections::BTreeMap;

use serde::Serialize;

use chrono::NaiveDate;

use super::production::{AsOf, Note, production_version};
use crate::config::Policy;
use crate::ingest::mlflow::{self, RegisteredModel, Store};
use crate::vocab::RiskTier;

/// The git commit tag MLflow sets on runs launched from a repository.
pub const GIT_COMMIT_TAG: &str = "mlflow.source.git.commit";

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ModelKpis {
    pub name: String,
    pub in_production: bool,
    /// The production version, or `null`.
    pub version: Option<String>,
    /// How production was decided: `alias:<name>` or `stage:Production`.
    pub production_via: Option<String>,
    pub risk_tier: RiskTier,
    /// The registered model's `policy.owner_tag` value (the version's, if the model has none):
    /// who its remediation items go to (an added key).
    pub owner: Option<String>,
    pub source_run: Option<String>,
    /// The MLflow source the model was read from, as configured.
    pub store: String,
    pub has_model_card: Option<bool>,
    pub has_dataset_provenance: Option<bool>,
    pub has_evaluation: Option<bool>,
    pub has_code_lineage: Option<bool>,
    pub has_approval: Option<bool>,
    /// The model card file found, as a local path.
    pub model_card: Option<String>,
    /// The source run's artifact folder, where it was found on this machine.
    pub artifact_dir: Option<String>,
    /// `name@digest (source)` of each dataset input of the source run.
    pub datasets: Vec<String>,
    /// The configured evaluation metrics the source run has, with their latest values.
    pub evaluation_metrics: BTreeMap<String, f64>,
    pub git_commit: Option<String>,
    pub approved_by: Option<String>,
    /// Accepted log records of the period (null without log sources).
    pub requests: Option<u64>,
    /// Records with a status that is not a success value ÷ records with a status.
    pub error_rate: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// Days of the period with at least one record ÷ days in the period.
    pub logging_coverage: Option<f64>,
    /// Longest stretch without a record, period start and end as bounds.
    pub longest_gap_hours: Option<f64>,
    /// Versions seen in the logs that the registry does not have for this model.
    pub unregistered_versions: Vec<String>,
    pub score_psi: Option<f64>,
    /// Mean score of the period (for the baseline).
    pub score_mean: Option<f64>,
    /// The error rate's denominator and numerator.
    pub records_with_status: Option<u64>,
    pub errors: Option<u64>,
    pub days_with_records: Option<u64>,
    /// Accepted records per day of the period, first day first.
    pub daily_requests: Vec<u64>,
    /// Records per version seen in the logs.
    pub versions_in_logs: BTreeMap<String, u64>,
    /// The operational limits that apply to this production model (`policy.thresholds`; an
    /// added key, null when no log source is configured or the model is not in production).
    pub thresholds: Option<crate::config::Limits>,
    /// Newest `assessed_on` among the audits of this model (on or before as_of).
    pub last_audit: Option<String>,
    /// Versions registered in the period (`creation_timestamp` inside it): the update cadence
    /// (issue 23); null when the store records no creation times.
    pub versions_in_period: Option<u64>,
    /// Whole days from the production version's creation to as_of (issue 23); null when the
    /// model is not in production or the store records no creation time.
    pub production_version_age_days: Option<i64>,
}

impl ModelKpis {
    /// A model with nothing established yet.
    pub fn named(name: &str) -> Self {
        ModelKpis {
            name: name.to_string(),
            risk_tier: RiskTier::Unassessed,
            ..Default::default()
        }
    }
}

/// Build the inventory from every store; a model name in two stores is an error upstream.
/// `notes` gets what the registry could not say as of `as_of` (the report's limitations).
pub fn build(
    stores: &[Store],
    policy: &Policy,
    (period, as_of): (crate::config::Period, NaiveDate),
    warnings: &mut Vec<String>,
    notes: &mut Vec<Note>,
) -> Vec<ModelKpis> {
    let when = AsOf::new(as_of, policy.point_in_time);
    let mut out = Vec::new();
    for store in stores {
        for model in &store.models {
            let mut kpis = assess(store, model, (policy, when), warnings, notes);
            cadence(&mut kpis, model, (period, as_of));
            out.push(kpis);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The update cadence (issue 23): versions registered in the period, and the production
/// version's age at as_of, from MLflow's `creation_timestamp`.
fn cadence(
    kpis: &mut ModelKpis,
    model: &RegisteredModel,
    (period, as_of): (crate::config::Period, NaiveDate),
) {
    let day = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.date_naive());
    let created: Vec<Option<NaiveDate>> = model
        .versions
        .iter()
        .map(|v| v.created_ms.and_then(day))
        .collect();
    if created.iter().all(Option::is_some) {
        let inside = created
            .iter()
            .flatten()
            .filter(|d| **d >= period.start && **d <= period.end)
            .count();
        kpis.versions_in_period = Some(inside as u64);
    }
    kpis.production_version_age_days = kpis
        .version
        .as_ref()
        .filter(|_| kpis.in_production)
        .and_then(|v| model.versions.iter().find(|mv| &mv.version == v))
        .and_then(|v| v.created_ms)
        .and_then(day)
        .map(|d| (as_of - d).num_days());
}

/// Evidence recorded one place off from where it counts: an approval tag on the registered model
/// but not on the production version; evaluation metrics on the MLflow 3 logged model the version
/// was made from but not on its source run. Neither counts (SPEC §4 reads the version's tags and
/// the source run's metrics); each is named, so nobody finds out in an audit.
fn near_misses(
    store: &Store,
    model: &RegisteredModel,
    version: &mlflow::ModelVersion,
    policy: &Policy,
) -> Vec<String> {
    let mut out = Vec::new();
    let tag = &policy.approval_tag;
    if let (None, Some(value)) = (version.tags.get(tag), model.tags.get(tag)) {
        out.push(format!(
            "{} version {}: `{tag}` ({value}) is set on the registered model but not on the \
             production version, where approval is read; tag the version to count it",
            model.name, version.version
        ));
    }
    let logged = version
        .source
        .as_deref()
        .and_then(|s| s.strip_prefix("models:/"))
        .and_then(|id| store.logged_model_metrics.get(id).map(|m| (id, m)));
    let on_run = |name: &str| {
        version
            .run_id
            .as_ref()
            .and_then(|id| store.runs.get(id))
            .is_some_and(|run| run.metrics.contains_key(name))
    };
    if let Some((id, metrics)) = logged {
        let only_there: Vec<&str> = metrics
            .iter()
            .filter(|m| policy.evaluation_metrics.contains(m) && !on_run(m))
            .map(String::as_str)
            .collect();
        if !only_there.is_empty() {
            out.push(format!(
                "{} version {}: evaluation metric(s) {} are logged on its MLflow 3 logged model \
                 {id}, not on its source run; only the source run's count for has_evaluation \
                 (docs/decisions.md)",
                model.name,
                version.version,
                only_there.join(", ")
            ));
        }
    }
    out
}

fn assess(
    store: &Store,
    model: &RegisteredModel,
    (policy, as_of): (&Policy, AsOf),
    warnings: &mut Vec<String>,
    notes: &mut Vec<Note>,
) -> ModelKpis {
    let mut kpis = ModelKpis {
        risk_tier: RiskTier::from_tag(model.tags.get(&policy.risk_tier_tag).map(String::as_str)),
        store: store.path.display().to_string(),
        owner: model.tags.get(&policy.owner_tag).cloned(),
        ..ModelKpis::named(&model.name)
    };
    let candidate = production_version(
        model,
        &store.runs,
        (&policy.production_aliases, as_of),
        warnings,
        notes,
    );
    let Some((version, via)) = candidate else {
        return kpis;
    };
    kpis.in_production = true;
    kpis.version = Some(version.version.clone());
    kpis.production_via = Some(via);
    kpis.approved_by = version.tags.get(&policy.approval_tag).cloned();
    warnings.extend(near_misses(store, model, version, policy));
    if kpis.owner.is_none() {
        kpis.owner = version.tags.get(&policy.owner_tag).cloned();
    }
    kpis.has_approval = Some(kpis.approved_by.is_some());
    kpis.source_run = version.run_id.clone();

    let run = version.run_id.as_ref().and_then(|id| store.runs.get(id));
    let Some(run) = run else {
        warnings.push(format!(
            "{} version {}: source run {} not available; its model card, datasets, evaluation and \
             code lineage count as missing",
            model.name,
            version.version,
            version.run_id.as_deref().unwrap_or("(none recorded)")
        ));
        kpis.has_model_card = Some(false);
        kpis.has_dataset_provenance = Some(false);
        kpis.has_evaluation = Some(false);
        kpis.has_code_lineage = Some(false);
        return kpis;
    };
    kpis.artifact_dir = run.artifact_dir.as_ref().map(|d| d.display().to_string());
    kpis.model_card = run
        .artifact_dir
        .as_deref()
        .and_then(|dir| mlflow::find_named_file(dir, &policy.model_card_artifacts))
        .map(|p| p.display().to_string());
    kpis.has_model_card = Some(kpis.model_card.is_some());
    kpis.datasets = run
        .datasets
        .iter()
        .map(|d| format!("{}@{} ({})", d.name, d.digest, d.source_type))
        .collect();
    kpis.has_dataset_provenance = Some(!run.datasets.is_empty());
    kpis.evaluation_metrics = run
        .metrics
        .iter()
        .filter(|(k, _)| policy.evaluation_metrics.contains(k))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    kpis.has_evaluation = Some(!kpis.evaluation_metrics.is_empty());
    kpis.git_commit = run.tags.get(GIT_COMMIT_TAG).cloned();
    kpis.has_code_lineage = Some(kpis.git_commit.is_some());
    kpis
}
