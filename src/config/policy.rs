//! The `policy:` section of SPEC §2 resolved: every key defaulted, every KPI target named by a
//! `Kpi` and in range (ratios 0..1, counts ≥ 0), a `null` target removing a default. In: the raw
//! section. Out: `Policy`, or the key path and message of the first rule broken.

use std::collections::BTreeMap;

use super::raw::RawPolicy;
use crate::vocab::{Kpi, Severity};

#[derive(Debug, Clone)]
pub struct Policy {
    pub production_aliases: Vec<String>,
    pub risk_tier_tag: String,
    pub model_card_artifacts: Vec<String>,
    pub evaluation_metrics: Vec<String>,
    pub approval_tag: String,
    /// The registered-model (or version) tag naming the model's owner (`policy.owner_tag`).
    pub owner_tag: String,
    pub logging_min_coverage: f64,
    pub audit_max_age_days: u32,
    pub point_in_time: PointInTime,
    /// Days to fix a finding of each severity when its audit gives no `fix_days`
    /// (`policy.remediation_due_days`; defaults critical 14, high 30, medium 90, low 180).
    pub remediation_due_days: BTreeMap<Severity, u32>,
    /// Operational limits whose breach is a remediation item (`policy.thresholds`).
    pub thresholds: super::thresholds::Thresholds,
    /// KPI → target: a minimum for ratios, a maximum for counts (`Kpi::direction`).
    pub targets: BTreeMap<Kpi, f64>,
    /// The KPIs whose target `policy.targets` sets (or removes), as opposed to the default.
    pub configured_targets: std::collections::BTreeSet<Kpi>,
    /// `policy.targets.production_version_age_days`: the oldest a production version may be at
    /// `as_of`, in days (none by default).
    pub max_version_age_days: Option<f64>,
}

/// What to do with a production version (or its source run) that MLflow says was created after
/// `as_of`, so it cannot have been in production then: MLflow keeps no alias or stage history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointInTime {
    /// Keep it, and name it in a warning and in the report's limitations.
    Warn,
    /// Leave it out; the next candidate created on or before `as_of` applies.
    Strict,
}

/// The defaults, each replaced by the config's value where it gives one.
fn due_days(configured: BTreeMap<Severity, u32>) -> BTreeMap<Severity, u32> {
    let mut days = BTreeMap::from([
        (Severity::Critical, 14),
        (Severity::High, 30),
        (Severity::Medium, 90),
        (Severity::Low, 180),
    ]);
    days.extend(configured);
    days
}

/// `policy.targets` key of the per-model maximum age of a production version, in days.
pub const MAX_AGE_KEY: &str = "production_version_age_days";

pub(super) fn resolve_policy(raw: RawPolicy) -> std::result::Result<Policy, (String, String)> {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut targets: BTreeMap<Kpi, f64> = Kpi::ALL
        .into_iter()
        .filter_map(|k| k.default_target().map(|t| (k, t)))
        .collect();
    let mut configured_targets = std::collections::BTreeSet::new();
    let mut max_version_age_days = None;
    for (name, value) in raw.targets {
        // Not a portfolio KPI: a per-model maximum, each model above it a finding (issue 23).
        if name == MAX_AGE_KEY {
            max_version_age_days = match value {
                Some(v) if !v.is_finite() || v < 0.0 => {
                    return Err((
                        format!("policy.targets.{name}"),
                        format!("{v} is not a number of days"),
                    ));
                }
                other => other,
            };
            continue;
        }
        let Some(kpi) = Kpi::from_name(&name) else {
            return Err((
                format!("policy.targets.{name}"),
                format!("unknown KPI `{name}`; known: {}", Kpi::names()),
            ));
        };
        configured_targets.insert(kpi);
        match value {
            Some(v) if !v.is_finite() || v < 0.0 || (!kpi.is_count() && v > 1.0) => {
                return Err((
                    format!("policy.targets.{name}"),
                    format!("{v} is not a valid target (ratios are 0..1, counts ≥ 0)"),
                ));
            }
            Some(v) => {
                targets.insert(kpi, v);
            }
            None => {
                targets.remove(&kpi);
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
        max_version_age_days,
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
        owner_tag: raw.owner_tag.unwrap_or_else(|| "owner".into()),
        logging_min_coverage: min_coverage,
        audit_max_age_days: raw.audit_max_age_days.unwrap_or(365),
        point_in_time: raw.point_in_time.unwrap_or(PointInTime::Warn),
        remediation_due_days: due_days(raw.remediation_due_days),
        thresholds: super::thresholds::resolve_thresholds(raw.thresholds)?,
        configured_targets,
        targets,
    })
}
