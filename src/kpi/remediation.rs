//! Findings in, the prioritised remediation list of SPEC §4 out. One item per failing control of a
//! latest audit, per missing `has_*` fact of a production model, and per expired exception still
//! open at `as_of`, and, when logs were read, per production model under the logging minimum and
//! per unregistered version seen. Order: severity (critical > high > medium > low), blast radius (customers >
//! organisation > team > none), fix_days ascending, then id; an unknown value sorts after every
//! known one. Ranks are 1-based.

use serde::Serialize;

use super::audits::AuditOut;
use super::exceptions::ExceptionOut;
use super::inventory::ModelKpis;
use crate::vocab::{BlastRadius, ControlStatus, Severity};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Item {
    pub rank: usize,
    pub id: String,
    pub system: String,
    /// The control id, the KPI field, or the exception's control.
    pub source: String,
    pub finding: String,
    pub severity: Option<Severity>,
    pub blast_radius: Option<BlastRadius>,
    pub fix_days: Option<u32>,
    pub owner: Option<String>,
    /// Due date, status and management response (`kpi::tracking`); added keys.
    #[serde(flatten)]
    pub tracking: super::tracking::Tracking,
}

/// A production model's `has_*` facts: the field (the item's source), what a missing one means,
/// and how to read it.
type Fact = (&'static str, &'static str, fn(&ModelKpis) -> Option<bool>);

const MODEL_FACTS: [Fact; 5] = [
    (
        "has_model_card",
        "no model card among the source run's artifacts",
        |m| m.has_model_card,
    ),
    (
        "has_dataset_provenance",
        "the source run records no dataset input",
        |m| m.has_dataset_provenance,
    ),
    (
        "has_evaluation",
        "the source run has no evaluation metric",
        |m| m.has_evaluation,
    ),
    (
        "has_code_lineage",
        "the source run has no git commit (mlflow.source.git.commit)",
        |m| m.has_code_lineage,
    ),
    (
        "has_approval",
        "the production version carries no approval tag",
        |m| m.has_approval,
    ),
];

/// `logging_min`: the policy's minimum logging coverage, when log sources were read.
pub fn build(
    models: &[ModelKpis],
    audits: &[AuditOut],
    exceptions: &[ExceptionOut],
    logging_min: Option<f64>,
    max_age_days: Option<f64>,
) -> Vec<Item> {
    let mut items = Vec::new();
    for audit in audits {
        for c in audit
            .controls
            .iter()
            .filter(|c| c.status == ControlStatus::Fail)
        {
            items.push(Item {
                rank: 0,
                id: format!("{}:{}", audit.system, c.id),
                system: audit.system.clone(),
                source: c.id.clone(),
                finding: c.finding.clone().unwrap_or_else(|| {
                    format!(
                        "{} scored {} (pass {})",
                        c.title,
                        c.score.unwrap_or_default(),
                        audit.pass_score
                    )
                }),
                severity: c.severity,
                blast_radius: c.blast_radius,
                fix_days: c.fix_days,
                owner: c.owner.clone(),
                tracking: Default::default(),
            });
        }
    }
    for m in models.iter().filter(|m| m.in_production) {
        for (field, finding, fact) in MODEL_FACTS {
            if fact(m) == Some(false) {
                items.push(model_item(
                    m,
                    (format!("{}:{field}", m.name), field),
                    format!(
                        "{} version {}: {finding}",
                        m.name,
                        m.version.as_deref().unwrap_or("?")
                    ),
                ));
            }
        }
    }
    for m in models.iter().filter(|m| m.in_production) {
        items.extend(log_findings(m, logging_min));
        items.extend(age_finding(m, max_age_days));
    }
    for e in exceptions.iter().filter(|e| e.expired && e.open_at_as_of) {
        let model = models
            .iter()
            .find(|m| m.name == e.system && m.in_production);
        items.push(Item {
            rank: 0,
            id: e.id.clone(),
            system: e.system.clone(),
            source: e.control.clone(),
            finding: format!(
                "exception {} ({}) expired on {} and is still open",
                e.id, e.reason, e.expires_on
            ),
            severity: Some(Severity::High),
            blast_radius: Some(
                model.map_or(BlastRadius::Organisation, |m| m.risk_tier.blast_radius()),
            ),
            fix_days: None,
            // The system's owner closes it; without one, whoever approved the exception.
            owner: Some(
                model
                    .and_then(|m| m.owner.clone())
                    .unwrap_or_else(|| e.approved_by.clone()),
            )
            .filter(|o| !o.is_empty()),
            tracking: Default::default(),
        });
    }
    sort(&mut items);
    items
}

/// A production version older than `policy.targets.production_version_age_days` (issue 23).
fn age_finding(m: &ModelKpis, max: Option<f64>) -> Option<Item> {
    let (age, max) = (m.production_version_age_days?, max?);
    let field = "production_version_age_days";
    (age as f64 > max).then(|| {
        model_item(
            m,
            (format!("{}:{field}", m.name), field),
            format!(
                "{} version {}: in production {age} days after it was registered, more than \
                 the {max} days policy.targets.{field} allows (retrain or re-approve it)",
                m.name,
                m.version.as_deref().unwrap_or("?")
            ),
        )
    })
}

/// A model's own finding: the model's tier gives severity and blast radius (SPEC §4), its owner
/// the owner; fix days unknown.
fn model_item(m: &ModelKpis, (id, source): (String, &str), finding: String) -> Item {
    Item {
        rank: 0,
        id,
        system: m.name.clone(),
        source: source.to_string(),
        finding,
        severity: Some(m.risk_tier.severity()),
        blast_radius: Some(m.risk_tier.blast_radius()),
        fix_days: None,
        owner: m.owner.clone(),
        tracking: Default::default(),
    }
}

/// Low logging coverage and each unregistered version seen: model-level items.
fn log_findings(m: &ModelKpis, logging_min: Option<f64>) -> Vec<Item> {
    let item = |id: String, source: &str, finding: String| model_item(m, (id, source), finding);
    let mut out = Vec::new();
    if let (Some(min), Some(coverage)) = (logging_min, m.logging_coverage)
        && coverage < min
    {
        out.push(item(
            format!("{}:logging_coverage", m.name),
            "logging_coverage",
            format!(
                "{}: inference records on {} of the period's days ({:.1}%, minimum {:.1}%)",
                m.name,
                m.days_with_records.unwrap_or(0),
                coverage * 100.0,
                min * 100.0
            ),
        ));
    }
    out.extend(
        breaches(m).map(|(field, finding)| item(format!("{}:{field}", m.name), field, finding)),
    );
    for v in &m.unregistered_versions {
        let records = m.versions_in_logs.get(v).copied().unwrap_or(0);
        out.push(item(
            format!("{}:unregistered_versions:{v}", m.name),
            "unregistered_versions",
            format!(
                "{}: {records} inference record(s) from version {v}, which the registry does not have",
                m.name
            ),
        ));
    }
    out
}

/// A figure checked against its limit: field, value, limit, what it is, how it is written.
type Check = (
    &'static str,
    Option<f64>,
    Option<f64>,
    &'static str,
    fn(f64) -> String,
);

/// Each figure of `m` above its limit in `policy.thresholds`: (field, finding).
fn breaches(m: &ModelKpis) -> impl Iterator<Item = (&'static str, String)> + '_ {
    let limits = m.thresholds.unwrap_or_default();
    fn psi(v: f64) -> String {
        format!("{v:.3}")
    }
    fn percent(v: f64) -> String {
        format!("{:.2}%", v * 100.0)
    }
    fn ms(v: f64) -> String {
        format!("{v:.1} ms")
    }
    let checks: [Check; 3] = [
        (
            "score_psi",
            m.score_psi,
            limits.score_psi,
            "score PSI (first vs last 30 days)",
            psi,
        ),
        (
            "error_rate",
            m.error_rate,
            limits.error_rate,
            "error rate",
            percent,
        ),
        (
            "latency_p99_ms",
            m.latency_p99_ms,
            limits.latency_p99_ms,
            "p99 latency",
            ms,
        ),
    ];
    checks
        .into_iter()
        .filter_map(move |(field, value, limit, what, show)| {
            let (value, limit) = (value?, limit?);
            (value > limit).then(|| {
                let finding = format!(
                    "{}: {what} {} is above the threshold {} (policy.thresholds.{field})",
                    m.name,
                    show(value),
                    show(limit)
                );
                (field, finding)
            })
        })
}

pub fn sort(items: &mut [Item]) {
    // Enum order is the priority order; None (unknown) sorts after every known value.
    items.sort_by(|a, b| {
        let key = |i: &Item| {
            (
                i.severity.is_none(),
                i.severity,
                i.blast_radius.is_none(),
                i.blast_radius,
                i.fix_days.is_none(),
                i.fix_days,
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
    });
    for (i, item) in items.iter_mut().enumerate() {
        item.rank = i + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::RiskTier;
    use BlastRadius::{Customers, Team};
    use Severity::*;

    fn item(id: &str, s: Option<Severity>, b: Option<BlastRadius>, d: Option<u32>) -> Item {
        Item {
            rank: 0,
            id: id.into(),
            system: String::new(),
            source: String::new(),
            finding: String::new(),
            severity: s,
            blast_radius: b,
            fix_days: d,
            owner: None,
            tracking: Default::default(),
        }
    }

    #[test]
    fn ordering_rule_worked_by_hand() {
        let mut items = vec![
            item("g", None, Some(Customers), Some(1)),
            item("f", Some(Low), Some(Customers), Some(1)),
            item("e", Some(High), Some(Team), Some(1)),
            item("d", Some(High), Some(Customers), None),
            item("c", Some(High), Some(Customers), Some(30)),
            item("b2", Some(High), Some(Customers), Some(5)),
            item("b1", Some(High), Some(Customers), Some(5)),
            item("a", Some(Critical), Some(BlastRadius::None), Some(90)),
        ];
        sort(&mut items);
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        // critical first whatever its radius; among high: customers before team; among
        // high+customers: 5 days before 30 before unknown; equal keys by id; low; unknown last.
        assert_eq!(ids, ["a", "b1", "b2", "c", "d", "e", "f", "g"]);
        assert_eq!(
            items.iter().map(|i| i.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn a_figure_strictly_above_its_limit_is_a_finding_and_n_a_never_is() {
        let mut m = ModelKpis::named("agent");
        m.in_production = true;
        m.risk_tier = RiskTier::High;
        m.thresholds = Some(crate::config::Limits {
            score_psi: Some(0.25),
            error_rate: Some(0.05),
            latency_p99_ms: Some(2000.0),
        });
        // PSI exactly at its limit, error rate above, p99 above, as a finding each of the
        // model's tier; then every figure n/a.
        m.score_psi = Some(0.25);
        m.error_rate = Some(0.0625);
        m.latency_p99_ms = Some(2000.5);
        let ids: Vec<String> = log_findings(&m, None).into_iter().map(|i| i.id).collect();
        assert_eq!(ids, ["agent:error_rate", "agent:latency_p99_ms"]);
        let found = log_findings(&m, None);
        assert!(
            found[0]
                .finding
                .contains("6.25% is above the threshold 5.00%"),
            "{}",
            found[0].finding
        );
        assert!(
            found[1]
                .finding
                .contains("2000.5 ms is above the threshold 2000.0 ms")
        );
        assert_eq!(found[0].severity, Some(High));
        m.score_psi = None;
        m.error_rate = None;
        m.latency_p99_ms = None;
        assert!(log_findings(&m, None).is_empty());
    }

    #[test]
    fn model_findings_take_severity_and_radius_from_tier() {
        let mut m = ModelKpis::named("fraud");
        m.in_production = true;
        m.version = Some("2".into());
        m.risk_tier = RiskTier::High;
        m.has_model_card = Some(false);
        m.has_approval = Some(true);
        let items = build(&[m], &[], &[], None, None);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id, "fraud:has_model_card");
        assert_eq!(
            (items[0].severity, items[0].blast_radius, items[0].fix_days),
            (Some(High), Some(Customers), Option::None)
        );
    }
}
