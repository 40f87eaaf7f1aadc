//! Production models, latest audits and assessed exceptions of one slice of the estate (all of it,
//! or the high tier) in, the portfolio KPIs of SPEC §4 out (`KpiTable`, in the order of `Kpi::ALL`).
//! Guarantees: a ratio with an empty denominator is `null` (n/a), never 0 or 1; every ratio carries
//! its numerator and denominator; a KPI about logs is n/a when no log source is configured; a
//! target is compared in the KPI's own direction (a minimum for ratios, a maximum for counts).

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::{ModelKpis, audits, exceptions};
use crate::config::Config;
use crate::vocab::Kpi;

/// One KPI's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KpiValue {
    /// `null` when the denominator is empty (n/a).
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// `null` when there is no target or no value.
    pub met: Option<bool>,
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
}

/// KPIs in the fixed order of SPEC §4, serialised as a JSON object keyed by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiTable(pub Vec<(Kpi, KpiValue)>);

impl KpiTable {
    pub fn get(&self, kpi: Kpi) -> Option<&KpiValue> {
        self.0.iter().find(|(k, _)| *k == kpi).map(|(_, v)| v)
    }
}

impl Serialize for KpiTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        /// A KPI's figures with a count's value and target as integers.
        #[derive(Serialize)]
        struct Out<'a> {
            value: Option<serde_json::Value>,
            target: Option<serde_json::Value>,
            met: Option<bool>,
            numerator: &'a Option<u64>,
            denominator: &'a Option<u64>,
        }
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (kpi, v) in &self.0 {
            let out = Out {
                value: v.value.map(|x| kpi.json_number(x)),
                target: v.target.map(|x| kpi.json_number(x)),
                met: v.met,
                numerator: &v.numerator,
                denominator: &v.denominator,
            };
            map.serialize_entry(kpi.name(), &out)?;
        }
        map.end()
    }
}

/// A share of `numerator` in `denominator`, compared with its target (a minimum).
pub fn ratio(numerator: u64, denominator: u64, target: Option<f64>) -> KpiValue {
    let value = (denominator > 0).then(|| numerator as f64 / denominator as f64);
    KpiValue {
        value,
        target,
        met: value.zip(target).map(|(v, t)| v >= t),
        numerator: Some(numerator),
        denominator: Some(denominator),
    }
}

/// A count compared with its target (a maximum).
pub fn count(n: u64, target: Option<f64>) -> KpiValue {
    let value = n as f64;
    KpiValue {
        value: Some(value),
        target,
        met: target.map(|t| value <= t),
        numerator: None,
        denominator: None,
    }
}

/// A KPI that could not be computed at all.
fn na(target: Option<f64>) -> KpiValue {
    KpiValue {
        value: None,
        target,
        met: None,
        numerator: None,
        denominator: None,
    }
}

/// The documentation/lineage ratios: shares of production models with a `has_*` fact.
const INVENTORY_RATIOS: [Kpi; 5] = [
    Kpi::DocumentationCompleteness,
    Kpi::DatasetProvenanceCompleteness,
    Kpi::EvaluationCompleteness,
    Kpi::CodeLineageCompleteness,
    Kpi::ApprovalCoverage,
];

/// The `has_*` fact of a model behind an inventory ratio.
fn model_fact(kpi: Kpi, m: &ModelKpis) -> Option<bool> {
    match kpi {
        Kpi::DocumentationCompleteness => m.has_model_card,
        Kpi::DatasetProvenanceCompleteness => m.has_dataset_provenance,
        Kpi::EvaluationCompleteness => m.has_evaluation,
        Kpi::CodeLineageCompleteness => m.has_code_lineage,
        Kpi::ApprovalCoverage => m.has_approval,
        _ => None,
    }
}

/// The five documentation/lineage ratios over the production models among `models`.
pub(super) fn inventory_ratios<'a>(
    models: impl Iterator<Item = &'a ModelKpis>,
    targets: &BTreeMap<Kpi, f64>,
) -> Vec<(Kpi, KpiValue)> {
    let production: Vec<&ModelKpis> = models.filter(|m| m.in_production).collect();
    let denominator = production.len() as u64;
    INVENTORY_RATIOS
        .into_iter()
        .map(|kpi| {
            let numerator = production
                .iter()
                .filter(|m| model_fact(kpi, m) == Some(true))
                .count() as u64;
            (
                kpi,
                ratio(numerator, denominator, targets.get(&kpi).copied()),
            )
        })
        .collect()
}

/// Every portfolio KPI over one slice of the estate (all of it, or the high tier).
pub(super) struct Slice<'a> {
    pub models: Vec<&'a ModelKpis>,
    pub audits: Vec<&'a audits::AuditOut>,
    pub exceptions: Vec<&'a exceptions::ExceptionOut>,
    pub logs_configured: bool,
    pub rejected_records: u64,
}

pub(super) fn portfolio(slice: &Slice<'_>, config: &Config) -> KpiTable {
    let targets = &config.policy.targets;
    let target = |kpi: Kpi| targets.get(&kpi).copied();
    let production: Vec<&ModelKpis> = slice
        .models
        .iter()
        .copied()
        .filter(|m| m.in_production)
        .collect();
    let mut table = inventory_ratios(production.iter().copied(), targets);
    table.push((
        Kpi::LoggingHealth,
        logging_health(&production, slice.logs_configured, config),
    ));
    table.push((
        Kpi::AuditCoverage,
        audits::audit_coverage(
            production.iter().copied(),
            config.as_of,
            config.policy.audit_max_age_days,
            target(Kpi::AuditCoverage),
        ),
    ));
    table.push((
        Kpi::ControlPassRate,
        audits::control_pass_rate(slice.audits.iter().copied(), target(Kpi::ControlPassRate)),
    ));
    table.push((
        Kpi::ExceptionExpiryAdherence,
        exceptions::expiry_adherence(
            slice.exceptions.iter().copied(),
            target(Kpi::ExceptionExpiryAdherence),
        ),
    ));
    table.push((
        Kpi::ExpiredOpenExceptionsCount,
        exceptions::expired_open_count(
            slice.exceptions.iter().copied(),
            target(Kpi::ExpiredOpenExceptionsCount),
        ),
    ));
    let rejected = target(Kpi::RejectedLogRecordsCount);
    table.push((
        Kpi::RejectedLogRecordsCount,
        if slice.logs_configured {
            count(slice.rejected_records, rejected)
        } else {
            na(rejected)
        },
    ));
    table.push((
        Kpi::DriftMonitoringCoverage,
        drift_monitoring(
            &production,
            slice.logs_configured,
            target(Kpi::DriftMonitoringCoverage),
        ),
    ));
    let (start, end) = (
        config.period.start.to_string(),
        config.period.end.to_string(),
    );
    let granted = slice
        .exceptions
        .iter()
        .filter(|e| e.granted_on >= start && e.granted_on <= end)
        .count() as u64;
    table.push((
        Kpi::ExceptionsGrantedCount,
        count(granted, target(Kpi::ExceptionsGrantedCount)),
    ));
    let failing = slice
        .audits
        .iter()
        .flat_map(|a| a.controls.iter())
        .filter(|c| c.status == crate::vocab::ControlStatus::Fail)
        .count() as u64;
    table.push((
        Kpi::FailingControlsCount,
        count(failing, target(Kpi::FailingControlsCount)),
    ));
    KpiTable(table)
}

/// Share of production models with a computed PSI; n/a without log sources.
fn drift_monitoring(production: &[&ModelKpis], configured: bool, target: Option<f64>) -> KpiValue {
    if !configured {
        return na(target);
    }
    let measured = production.iter().filter(|m| m.score_psi.is_some()).count();
    ratio(measured as u64, production.len() as u64, target)
}

/// Share of production models whose logging coverage reaches the policy minimum; n/a without
/// log sources (no logs read says nothing about logging).
fn logging_health(production: &[&ModelKpis], configured: bool, config: &Config) -> KpiValue {
    let target = config.policy.targets.get(&Kpi::LoggingHealth).copied();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::RiskTier;

    fn model(name: &str, tier: RiskTier, prod: bool, card: bool, approval: bool) -> ModelKpis {
        ModelKpis {
            in_production: prod,
            risk_tier: tier,
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
            model("a", RiskTier::High, true, true, true),
            model("b", RiskTier::High, true, false, false),
            model("c", RiskTier::Low, true, true, false),
            model("d", RiskTier::Low, false, true, true),
        ];
        let targets = BTreeMap::from([(Kpi::DocumentationCompleteness, 0.85)]);
        let t = KpiTable(inventory_ratios(models.iter(), &targets));
        assert_eq!(t.0.len(), 5);
        let doc = t.get(Kpi::DocumentationCompleteness).unwrap();
        assert_eq!((doc.numerator, doc.denominator), (Some(2), Some(3)));
        assert!((doc.value.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(doc.met, Some(false));
        let approval = t.get(Kpi::ApprovalCoverage).unwrap();
        assert_eq!(approval.value, Some(1.0 / 3.0));
        assert_eq!(approval.met, None, "no target, no verdict");
        assert_eq!(t.get(Kpi::EvaluationCompleteness).unwrap().value, Some(1.0));
        assert_eq!(
            t.get(Kpi::DatasetProvenanceCompleteness).unwrap().value,
            Some(0.0)
        );
        let high = KpiTable(inventory_ratios(
            models.iter().filter(|m| m.risk_tier.is_high()),
            &targets,
        ));
        assert_eq!(
            high.get(Kpi::DocumentationCompleteness).unwrap().value,
            Some(0.5)
        );
    }

    #[test]
    fn empty_denominator_is_na_not_zero_or_one() {
        let models = [model("d", RiskTier::Low, false, true, true)];
        let targets = BTreeMap::from([(Kpi::DocumentationCompleteness, 0.85)]);
        let t = KpiTable(inventory_ratios(models.iter(), &targets));
        let doc = t.get(Kpi::DocumentationCompleteness).unwrap();
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
        assert_eq!(count(0, Some(0.0)).met, Some(true));
        assert_eq!(count(1, Some(0.0)).met, Some(false));
    }
}
