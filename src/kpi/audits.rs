//! Validated audits in, the scored-audit section of the KPI document out: the latest audit per
//! (system, framework) with every control of the framework listed as pass / fail /
//! not_applicable / not_assessed, and the audit KPIs of SPEC §4 (`audit_coverage`,
//! `control_pass_rate`). Audits dated after `as_of` are not evidence for that date and are left
//! out with a warning; two audits of one system and framework on the same day are an error.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{KpiValue, ModelKpis, ratio};
use crate::error::{Error, Result};
use crate::ingest::audits::{Assessment, Audit};
use crate::vocab::{BlastRadius, ControlStatus, Severity};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditOut {
    pub system: String,
    pub framework: String,
    pub framework_title: String,
    pub assessed_on: String,
    pub assessor: String,
    pub file: String,
    /// The framework's pass mark, so a reader can check each status.
    pub pass_score: f64,
    pub controls: Vec<ControlOut>,
    /// Older audits of the same system and framework, ignored in favour of this one.
    pub superseded: Vec<String>,
    /// Days from `assessed_on` to `as_of` (an added key).
    pub age_days: i64,
    /// Older than `policy.audit_max_age_days` at `as_of`: it no longer counts for
    /// `audit_coverage` (an added key).
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ControlOut {
    pub id: String,
    pub title: String,
    pub score: Option<f64>,
    pub status: ControlStatus,
    pub finding: Option<String>,
    pub evidence: Vec<String>,
    pub missing_evidence: Vec<String>,
    pub severity: Option<Severity>,
    pub blast_radius: Option<BlastRadius>,
    pub fix_days: Option<u32>,
    pub owner: Option<String>,
    pub maps_to: Vec<String>,
}

/// The latest audit of each (system, framework) on or before `as_of`, sorted by system then
/// framework, with every control of its framework.
pub fn latest(
    audits: &[Audit],
    (as_of, max_age_days): (NaiveDate, u32),
    warnings: &mut Vec<String>,
) -> Result<Vec<AuditOut>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Audit>> = BTreeMap::new();
    for a in audits {
        if a.assessed_on > as_of {
            warnings.push(format!(
                "{}: audit of {} dated {} is after as_of {as_of}; left out",
                a.file.display(),
                a.system,
                a.assessed_on
            ));
            continue;
        }
        groups
            .entry((&a.system, &a.framework.id))
            .or_default()
            .push(a);
    }
    let mut out = Vec::new();
    for ((system, framework), mut list) in groups {
        list.sort_by_key(|a| a.assessed_on);
        let newest = list[list.len() - 1];
        if let Some(twin) = list
            .iter()
            .rev()
            .nth(1)
            .filter(|a| a.assessed_on == newest.assessed_on)
        {
            return Err(Error::Audit {
                path: newest.file.clone(),
                at: None,
                message: format!(
                    "{system} is audited against {framework} twice on {} (also in {}); keep one",
                    newest.assessed_on,
                    twin.file.display()
                ),
            });
        }
        let superseded = list[..list.len() - 1]
            .iter()
            .map(|a| format!("{} ({})", a.assessed_on, a.file.display()))
            .collect();
        let age_days = (as_of - newest.assessed_on).num_days();
        out.push(AuditOut {
            superseded,
            age_days,
            stale: age_days > i64::from(max_age_days),
            ..score(newest)
        });
    }
    Ok(out)
}

fn score(audit: &Audit) -> AuditOut {
    let pass = audit.framework.scale.pass;
    let controls = audit
        .framework
        .controls
        .iter()
        .map(|def| {
            let scored = audit.controls.iter().find(|c| c.id == def.id);
            let status = match scored.map(|c| (c.status, c.score)) {
                Some((Assessment::Assessed, Some(s))) if s >= pass => ControlStatus::Pass,
                Some((Assessment::Assessed, Some(_))) => ControlStatus::Fail,
                Some((Assessment::NotApplicable, _)) => ControlStatus::NotApplicable,
                _ => ControlStatus::NotAssessed,
            };
            ControlOut {
                id: def.id.clone(),
                title: def.title.clone(),
                score: scored.and_then(|c| c.score),
                status,
                finding: scored.and_then(|c| c.finding.clone()),
                evidence: scored.map(|c| c.evidence.clone()).unwrap_or_default(),
                missing_evidence: scored
                    .map(|c| c.missing_evidence.clone())
                    .unwrap_or_default(),
                severity: scored.and_then(|c| c.severity),
                blast_radius: scored.and_then(|c| c.blast_radius),
                fix_days: scored.and_then(|c| c.fix_days),
                owner: scored.and_then(|c| c.owner.clone()),
                maps_to: def.maps_to.clone(),
            }
        })
        .collect();
    AuditOut {
        system: audit.system.clone(),
        framework: audit.framework.id.clone(),
        framework_title: audit.framework.title.clone(),
        assessed_on: audit.assessed_on.to_string(),
        assessor: audit.assessor.clone(),
        file: audit.file.display().to_string(),
        pass_score: pass,
        controls,
        superseded: Vec::new(),
        age_days: 0,
        stale: false,
    }
}

/// Newest `assessed_on` among the audits of `system` (any framework), as strings sort by date.
pub fn last_audit(audits: &[AuditOut], system: &str) -> Option<String> {
    audits
        .iter()
        .filter(|a| a.system == system)
        .map(|a| a.assessed_on.clone())
        .max()
}

/// SPEC §4 `control_pass_rate`: controls with score ≥ pass ÷ assessed controls.
pub fn control_pass_rate<'a>(
    audits: impl Iterator<Item = &'a AuditOut>,
    target: Option<f64>,
) -> KpiValue {
    let (mut passed, mut assessed) = (0, 0);
    for c in audits.flat_map(|a| a.controls.iter()) {
        match c.status {
            ControlStatus::Pass => {
                passed += 1;
                assessed += 1;
            }
            ControlStatus::Fail => assessed += 1,
            _ => {}
        }
    }
    ratio(passed, assessed, target)
}

/// SPEC §4 `audit_coverage`: production models audited within `max_age_days` before `as_of`.
/// An audit exactly `max_age_days` old still counts.
pub fn audit_coverage<'a>(
    models: impl Iterator<Item = &'a ModelKpis>,
    as_of: NaiveDate,
    max_age_days: u32,
    target: Option<f64>,
) -> KpiValue {
    let (mut covered, mut total) = (0, 0);
    for m in models.filter(|m| m.in_production) {
        total += 1;
        let recent = m
            .last_audit
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .is_some_and(|d| d <= as_of && (as_of - d).num_days() <= i64::from(max_age_days));
        if recent {
            covered += 1;
        }
    }
    ratio(covered, total, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::audits::{ControlScore, builtin};
    use std::path::PathBuf;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn audit(system: &str, date: &str, scores: &[(&str, Option<f64>, Assessment)]) -> Audit {
        Audit {
            file: PathBuf::from(format!("{system}-{date}.yaml")),
            framework: builtin("incident-readiness-12").unwrap(),
            system: system.into(),
            assessed_on: day(date),
            assessor: "R. Osei".into(),
            controls: scores
                .iter()
                .map(|(id, score, status)| ControlScore {
                    id: id.to_string(),
                    score: *score,
                    status: *status,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn latest_audit_wins_and_every_control_is_listed() {
        use Assessment::*;
        let old = audit("triage", "2026-03-01", &[("IR-01", Some(3.0), Assessed)]);
        let new = audit(
            "triage",
            "2026-09-12",
            &[
                ("IR-01", Some(1.0), Assessed),
                ("IR-02", Some(2.0), Assessed),
                ("IR-03", Some(3.0), Assessed),
                ("IR-04", None, NotApplicable),
                ("IR-05", None, NotAssessed),
            ],
        );
        let future = audit("triage", "2026-11-01", &[("IR-01", Some(3.0), Assessed)]);
        let mut w = Vec::new();
        let out = latest(&[new, old, future], (day("2026-10-01"), 365), &mut w).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].assessed_on, "2026-09-12");
        // 12 → 30 September is 18 days, and 1 October one more.
        assert_eq!((out[0].age_days, out[0].stale), (19, false));
        assert_eq!(out[0].superseded.len(), 1);
        assert_eq!(w.len(), 1, "the future audit is left out with a warning");
        let statuses: Vec<&str> = out[0].controls.iter().map(|c| c.status.as_str()).collect();
        // IR-01 fails (1 < 2), IR-02 passes at the mark, IR-03 passes, IR-04 n/a, IR-05..IR-12 not assessed.
        assert_eq!(
            statuses[..5],
            ["fail", "pass", "pass", "not_applicable", "not_assessed"]
        );
        assert_eq!(statuses.len(), 12);
        assert!(statuses[5..].iter().all(|s| *s == "not_assessed"));
        // 2 passed of 3 assessed; n/a and not assessed are outside the ratio.
        let k = control_pass_rate(out.iter(), Some(0.9));
        assert_eq!(
            (k.numerator, k.denominator, k.met),
            (Some(2), Some(3), Some(false))
        );
    }

    #[test]
    fn an_audit_older_than_the_maximum_age_is_stale() {
        let a = audit("s", "2025-09-30", &[]);
        let at = |max| {
            latest(
                std::slice::from_ref(&a),
                (day("2026-10-01"), max),
                &mut Vec::new(),
            )
        };
        // 2025-09-30 → 2026-10-01 is 366 days: stale at 365, not at 366.
        assert_eq!(at(365).unwrap()[0].age_days, 366);
        assert!(at(365).unwrap()[0].stale);
        assert!(!at(366).unwrap()[0].stale);
    }

    #[test]
    fn same_day_twin_audits_are_an_error() {
        let a = audit("s", "2026-09-12", &[]);
        let mut b = audit("s", "2026-09-12", &[]);
        b.file = PathBuf::from("other.csv");
        let err = latest(&[a, b], (day("2026-10-01"), 365), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("twice on 2026-09-12"), "{err}");
    }

    #[test]
    fn audit_coverage_boundary_is_inclusive() {
        let model = |last: Option<&str>| ModelKpis {
            in_production: true,
            last_audit: last.map(String::from),
            ..ModelKpis::named("m")
        };
        let as_of = day("2026-10-01");
        // 2025-10-01 is exactly 365 days before 2026-10-01; 2025-09-30 is 366.
        let models = [
            model(Some("2025-10-01")),
            model(Some("2025-09-30")),
            model(None),
            model(Some("2026-10-01")),
        ];
        let k = audit_coverage(models.iter(), as_of, 365, Some(1.0));
        assert_eq!((k.numerator, k.denominator), (Some(2), Some(4)));
        assert_eq!(k.met, Some(false));
    }
}
