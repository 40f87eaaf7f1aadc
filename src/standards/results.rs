//! `assessment-results.json`: one `result` per audit (system × framework, the latest, as the
//! KPI document holds them) and one for dossier's own KPIs. An audit's result reviews its
//! framework's controls; each assessed control (scored pass or fail) is an observation (method
//! EXAMINE, its evidence files as relevant evidence pointing at back-matter resources that carry
//! the file's bundle path and SHA-256) and a finding whose target is the control's statement,
//! `satisfied` or `not-satisfied`; a failing control is also a risk. Each portfolio KPI is an
//! observation (method TEST) of the KPI result. Ids are shared with the POA&M, which links here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::model::{
    BackMatter, Hash, Metadata, ObservationRef, Prop, Resource, Risk, Rlink, day_start, local,
};
use super::oscal::{
    Href, ReviewedControls, State, SubjectRef, component_uuid, control_review, metadata, relative,
    selected_controls, statement_id,
};
use super::{Basis, label, pretty};
use crate::error::Result;
use crate::kpi::audits::{AuditOut, ControlOut};
use crate::vocab::{ControlStatus, InputRole};

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ResultsDoc {
    assessment_results: Results,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Results {
    uuid: String,
    metadata: Metadata,
    import_ap: Href,
    results: Vec<AuditResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    back_matter: Option<BackMatter>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct AuditResult {
    uuid: String,
    title: String,
    description: String,
    start: String,
    props: Vec<Prop>,
    reviewed_controls: ReviewedControls,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observations: Vec<Observation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    risks: Vec<Risk>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<Finding>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct Observation {
    pub(super) uuid: String,
    pub(super) title: String,
    pub(super) description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) props: Vec<Prop>,
    pub(super) methods: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) subjects: Vec<SubjectRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) relevant_evidence: Vec<Evidence>,
    pub(super) collected: String,
}

#[derive(Serialize)]
pub(super) struct Evidence {
    pub(super) href: String,
    pub(super) description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Finding {
    uuid: String,
    title: String,
    description: String,
    target: Target,
    related_observations: Vec<ObservationRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_risks: Vec<RiskRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Target {
    #[serde(rename = "type")]
    kind: &'static str,
    target_id: String,
    status: State,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct RiskRef {
    risk_uuid: String,
}

/// The stable names of an audit control's ids, shared with the POA&M.
pub(super) fn control_key(audit: &AuditOut, control: &str) -> String {
    format!("{}:{}:{control}", audit.system, audit.framework)
}

pub(super) fn observation_uuid(basis: &Basis<'_>, key: &str) -> String {
    basis.uuid(&format!("observation:{key}"))
}

pub(super) fn finding_uuid(basis: &Basis<'_>, key: &str) -> String {
    basis.uuid(&format!("finding:{key}"))
}

pub(super) fn assessment_results(basis: &Basis<'_>, plan_sha256: &str) -> Result<Vec<u8>> {
    let doc = basis.doc;
    // Evidence files by bundle path: one back-matter resource each.
    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();
    let mut results: Vec<AuditResult> = doc
        .audits
        .iter()
        .map(|a| audit_result(basis, a, &mut resources))
        .collect();
    results.push(kpi_result(basis));
    let mut metadata = metadata(basis, format!("Assessment results: {}", doc.title));
    metadata.props = vec![
        Prop::ours("scope", basis.config.scope.label()),
        Prop::ours("assessment-plan-sha256", plan_sha256),
    ];
    let resources: Vec<Resource> = resources.into_values().collect();
    let out = Results {
        uuid: basis.uuid("assessment-results"),
        metadata,
        import_ap: Href {
            href: "assessment-plan.json".into(),
        },
        results,
        back_matter: (!resources.is_empty()).then_some(BackMatter { resources }),
    };
    pretty(
        &ResultsDoc {
            assessment_results: out,
        },
        "OSCAL assessment results",
    )
}

fn audit_result(
    basis: &Basis<'_>,
    audit: &AuditOut,
    resources: &mut BTreeMap<String, Resource>,
) -> AuditResult {
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    let mut risks = Vec::new();
    let assessed = audit
        .controls
        .iter()
        .filter(|c| matches!(c.status, ControlStatus::Pass | ControlStatus::Fail));
    for control in assessed {
        let key = control_key(audit, &control.id);
        let observation = observation_uuid(basis, &key);
        let failing = control.status == ControlStatus::Fail;
        let evidence = control_evidence(basis, control, resources);
        observations.push(Observation {
            uuid: observation.clone(),
            title: format!("{}: {}", control.id, control.title),
            description: observed(audit, control),
            props: Vec::new(),
            methods: vec!["EXAMINE"],
            subjects: vec![SubjectRef {
                subject_uuid: component_uuid(basis, &audit.system),
                kind: "component",
            }],
            relevant_evidence: evidence,
            collected: day_start(&audit.assessed_on),
        });
        let risk = failing.then(|| basis.uuid(&format!("risk:{key}")));
        if let Some(risk) = &risk {
            let finding = control
                .finding
                .clone()
                .unwrap_or_else(|| observed(audit, control));
            risks.push(Risk {
                uuid: risk.clone(),
                title: format!("{} fails {}", audit.system, control.id),
                description: finding.clone(),
                statement: finding,
                props: control
                    .severity
                    .map(|s| vec![Prop::ours("severity", label(&s))])
                    .unwrap_or_default(),
                status: "open",
                deadline: None,
                remediations: Vec::new(),
                related_observations: vec![ObservationRef {
                    observation_uuid: observation.clone(),
                }],
            });
        }
        findings.push(Finding {
            uuid: finding_uuid(basis, &key),
            title: format!("{} {}: {}", audit.system, control.id, control.status),
            description: control
                .finding
                .clone()
                .unwrap_or_else(|| observed(audit, control)),
            target: Target {
                kind: "statement-id",
                target_id: statement_id(&control.id),
                status: State {
                    state: if failing {
                        "not-satisfied"
                    } else {
                        "satisfied"
                    },
                },
            },
            related_observations: vec![ObservationRef {
                observation_uuid: observation,
            }],
            related_risks: risk
                .map(|risk_uuid| vec![RiskRef { risk_uuid }])
                .unwrap_or_default(),
        });
    }
    AuditResult {
        uuid: basis.uuid(&format!("result:{}:{}", audit.system, audit.framework)),
        title: format!("{} — {}", audit.framework_title, audit.system),
        description: format!(
            "The latest audit of {} against {} ({}), assessed on {} by {}.",
            audit.system, audit.framework_title, audit.framework, audit.assessed_on, audit.assessor
        ),
        start: day_start(&audit.assessed_on),
        props: vec![
            Prop::ours("system", audit.system.clone()),
            Prop::ours("framework", audit.framework.clone()),
            Prop::ours("stale", audit.stale.to_string()),
        ],
        reviewed_controls: control_review(selected_controls(
            audit.controls.iter().map(|c| c.id.clone()),
        )),
        observations,
        risks,
        findings,
    }
}

/// What the auditor saw: the score against the framework's pass mark.
fn observed(audit: &AuditOut, control: &ControlOut) -> String {
    let score = control
        .score
        .map_or_else(|| "no score".to_string(), |s| format!("score {s}"));
    format!(
        "{} {} on {}: {score} (pass at {} or more), {}.",
        audit.system, control.id, audit.assessed_on, audit.pass_score, control.status
    )
}

/// A control's evidence files the bundle carries, each a back-matter resource.
fn control_evidence(
    basis: &Basis<'_>,
    control: &ControlOut,
    resources: &mut BTreeMap<String, Resource>,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    for item in control
        .evidence
        .iter()
        .filter(|e| !control.missing_evidence.contains(e))
    {
        let source: PathBuf = basis.config.base_dir.join(item);
        let Some(carried) = basis.carried_for(InputRole::AuditEvidence, &source) else {
            continue;
        };
        let resource = resources
            .entry(carried.path.clone())
            .or_insert_with(|| Resource {
                uuid: basis.uuid(&format!("evidence:{}", carried.path)),
                title: carried.path.clone(),
                description: Some(format!("Audit evidence {item}, as the bundle carries it.")),
                rlinks: vec![Rlink {
                    href: relative(&carried.path),
                    media_type: None,
                    hashes: vec![Hash::sha256(&carried.sha256)],
                }],
            });
        out.push(Evidence {
            href: local(&resource.uuid),
            description: carried.path.clone(),
        });
    }
    out
}

/// The KPI result: each portfolio KPI against its target.
fn kpi_result(basis: &Basis<'_>) -> AuditResult {
    let doc = basis.doc;
    let observations = doc
        .portfolio
        .0
        .iter()
        .map(|(kpi, v)| {
            let value = v.value.map_or_else(|| "n/a".to_string(), |x| x.to_string());
            let against = match (v.target, v.met) {
                (Some(t), Some(true)) => format!("; target {t}: met"),
                (Some(t), Some(false)) => format!("; target {t}: not met"),
                (Some(t), None) => format!("; target {t}"),
                (None, _) => String::new(),
            };
            let mut props = vec![
                Prop::ours("kpi", kpi.name()),
                Prop::ours("value", value.clone()),
            ];
            if let (Some(n), Some(d)) = (v.numerator, v.denominator) {
                props.push(Prop::ours("numerator", n.to_string()));
                props.push(Prop::ours("denominator", d.to_string()));
            }
            Observation {
                uuid: observation_uuid(basis, &format!("kpi:{}", kpi.name())),
                title: kpi.name().to_string(),
                description: format!("{}: {value}{against}. {}", kpi.name(), kpi.definition()),
                props,
                methods: vec!["TEST"],
                subjects: Vec::new(),
                relevant_evidence: vec![Evidence {
                    href: "../kpis/kpis.json".into(),
                    description: "data/kpis/kpis.json".into(),
                }],
                collected: basis.time(),
            }
        })
        .collect();
    AuditResult {
        uuid: basis.uuid("result:kpis"),
        title: "dossier coverage KPIs".into(),
        description: format!(
            "The portfolio KPIs dossier computed for {}, {} to {}, against their targets.",
            doc.organization, doc.period.start, doc.period.end
        ),
        start: day_start(&doc.period.start),
        props: vec![Prop::ours("as-of", doc.as_of.clone())],
        reviewed_controls: ReviewedControls {
            description: Some("The KPI assessment reviews no catalog control.".into()),
            ..control_review(Vec::new())
        },
        observations,
        risks: Vec::new(),
        findings: Vec::new(),
    }
}
