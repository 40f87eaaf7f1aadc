//! `poam.json`: the remediation list as an OSCAL plan of action and milestones. Each item is a
//! `poam-item` with its rank, severity, blast radius and status, and a risk of its own whose
//! deadline is the item's due date, whose status is the management response's, and whose planned
//! remediation has a milestone task on the due date for the owner (a party, in the role
//! `remediation-owner`). An item from a failing control links to that control's finding and
//! observation in `assessment-results.json`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{
    Link, Metadata, Party, Prop, Response, ResponsibleRole, Risk, Role, Task, Timing, day_end,
};
use super::oscal::metadata;
use super::results::{control_key, finding_uuid, observation_uuid};
use super::{Basis, label, pretty};
use crate::error::Result;
use crate::kpi::remediation::Item;
use crate::vocab::ResponseStatus;

const OWNER_ROLE: &str = "remediation-owner";

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct PoamDoc {
    plan_of_action_and_milestones: Poam,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Poam {
    uuid: String,
    metadata: Metadata,
    system_id: SystemId,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    risks: Vec<Risk>,
    poam_items: Vec<PoamItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SystemId {
    identifier_type: &'static str,
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct PoamItem {
    uuid: String,
    title: String,
    description: String,
    props: Vec<Prop>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
    related_risks: Vec<RiskRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct RiskRef {
    risk_uuid: String,
}

/// OSCAL's risk status for where management says an item stands.
fn risk_status(status: ResponseStatus) -> &'static str {
    match status {
        ResponseStatus::Open => "open",
        ResponseStatus::InProgress => "remediating",
        ResponseStatus::RiskAccepted => "deviation-approved",
        ResponseStatus::Closed => "closed",
    }
}

/// `None` when the remediation list is empty: OSCAL wants at least one `poam-item`, and an item
/// saying "nothing to do" would be read as an item by every platform that imports it.
pub(super) fn poam(basis: &Basis<'_>) -> Result<Option<Vec<u8>>> {
    let doc = basis.doc;
    if doc.remediation.is_empty() {
        return Ok(None);
    }
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for owner in doc.remediation.iter().filter_map(|i| i.owner.as_ref()) {
        owners
            .entry(owner.clone())
            .or_insert_with(|| basis.uuid(&format!("party:{owner}")));
    }
    let (risks, items) = doc
        .remediation
        .iter()
        .map(|item| entry(basis, item, &owners))
        .unzip();
    let mut metadata = metadata(
        basis,
        format!("Plan of action and milestones: {}", doc.title),
    );
    metadata.props = vec![Prop::ours("scope", basis.config.scope.label())];
    if !owners.is_empty() {
        metadata.roles = vec![Role {
            id: OWNER_ROLE.into(),
            title: "Remediation owner".into(),
        }];
        metadata.parties = owners
            .iter()
            .map(|(name, uuid)| Party {
                uuid: uuid.clone(),
                kind: "organization",
                name: name.clone(),
            })
            .collect();
    }
    let out = Poam {
        uuid: basis.uuid("poam"),
        metadata,
        system_id: SystemId {
            identifier_type: "http://ietf.org/rfc/rfc4122",
            id: basis.uuid("system"),
        },
        risks,
        poam_items: items,
    };
    pretty(
        &PoamDoc {
            plan_of_action_and_milestones: out,
        },
        "OSCAL POA&M",
    )
    .map(Some)
}

fn entry(basis: &Basis<'_>, item: &Item, owners: &BTreeMap<String, String>) -> (Risk, PoamItem) {
    let risk_uuid = basis.uuid(&format!("poam-risk:{}", item.id));
    let due = item.tracking.due.as_deref().map(day_end);
    let mut props = vec![
        Prop::ours("remediation-id", item.id.clone()),
        Prop::ours("rank", item.rank.to_string()),
        Prop::ours("system", item.system.clone()),
        Prop::ours("source", item.source.clone()),
        Prop::ours("status", label(&item.tracking.status)),
    ];
    if let Some(s) = item.severity {
        props.push(Prop::ours("severity", label(&s)));
    }
    if let Some(b) = item.blast_radius {
        props.push(Prop::ours("blast-radius", label(&b)));
    }
    if let Some(d) = &item.tracking.due {
        props.push(Prop::ours("due", d.clone()));
    }
    let tasks = due
        .iter()
        .map(|date| Task {
            uuid: basis.uuid(&format!("milestone:{}", item.id)),
            kind: "milestone",
            title: format!("{} remediated", item.id),
            timing: Timing::OnDate { date: date.clone() },
            responsible_roles: item
                .owner
                .as_ref()
                .and_then(|o| owners.get(o))
                .map(|uuid| {
                    vec![ResponsibleRole {
                        role_id: OWNER_ROLE,
                        party_uuids: vec![uuid.clone()],
                    }]
                })
                .unwrap_or_default(),
        })
        .collect();
    let risk = Risk {
        uuid: risk_uuid.clone(),
        title: item.id.clone(),
        description: item.finding.clone(),
        statement: item.finding.clone(),
        props: props.clone(),
        status: risk_status(item.tracking.status),
        deadline: due,
        related_observations: Vec::new(),
        remediations: vec![Response {
            uuid: basis.uuid(&format!("remediation:{}", item.id)),
            lifecycle: "planned",
            title: format!("Remediate {}", item.id),
            description: item
                .tracking
                .response
                .clone()
                .unwrap_or_else(|| "No management response recorded.".into()),
            tasks,
        }],
    };
    // An item from a failing control points at the control's finding and observation.
    let links = basis
        .doc
        .audits
        .iter()
        .filter(|a| a.system == item.system)
        .find(|a| a.controls.iter().any(|c| c.id == item.source))
        .map(|audit| {
            let key = control_key(audit, &item.source);
            vec![
                Link {
                    href: format!("assessment-results.json#{}", finding_uuid(basis, &key)),
                    rel: "related",
                    text: Some("finding".into()),
                },
                Link {
                    href: format!("assessment-results.json#{}", observation_uuid(basis, &key)),
                    rel: "related",
                    text: Some("observation".into()),
                },
            ]
        })
        .unwrap_or_default();
    let poam_item = PoamItem {
        uuid: basis.uuid(&format!("poam-item:{}", item.id)),
        title: item.id.clone(),
        description: item.finding.clone(),
        props,
        links,
        related_risks: vec![RiskRef { risk_uuid }],
    };
    (risk, poam_item)
}
