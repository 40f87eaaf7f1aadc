//! OSCAL catalogs and the assessment plan. In: the frameworks the audits use, the systems in
//! scope, the period. Out: one catalog per framework — each control with its id (as an OSCAL
//! token; the id as written is its `label`), title, description as its statement, and every
//! `maps_to` reference as a `maps-to` property — and `assessment-plan.json`, which names the
//! catalogs (back-matter resources with their bundle path and SHA-256), the systems (components,
//! the assessment subjects), the controls and the period (a task's date range).

use serde::Serialize;

use super::model::{
    BackMatter, Hash, Metadata, OSCAL_VERSION, Part, Prop, Resource, Rlink, Task, Timing, day_end,
    day_start, local, token,
};
use super::{Basis, pretty};
use crate::error::Result;
use crate::ingest::audits::framework::Framework;

pub(super) fn metadata(basis: &Basis<'_>, title: String) -> Metadata {
    Metadata {
        title,
        last_modified: basis.time(),
        version: basis
            .config
            .control
            .version
            .clone()
            .unwrap_or_else(|| "1".into()),
        oscal_version: OSCAL_VERSION,
        props: Vec::new(),
        roles: Vec::new(),
        parties: Vec::new(),
    }
}

#[derive(Serialize)]
struct CatalogDoc {
    catalog: Catalog,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Catalog {
    uuid: String,
    metadata: Metadata,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    controls: Vec<Control>,
}

#[derive(Serialize)]
struct Control {
    id: String,
    title: String,
    props: Vec<Prop>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parts: Vec<Part>,
}

/// The statement part's id of a control: what findings target.
pub(super) fn statement_id(control: &str) -> String {
    format!("{}_smt", token(control))
}

pub(super) fn catalog(basis: &Basis<'_>, framework: &Framework) -> Result<Vec<u8>> {
    let controls = framework
        .controls
        .iter()
        .map(|c| {
            let mut props = vec![Prop {
                name: "label".into(),
                ns: None,
                value: c.id.clone(),
            }];
            props.extend(c.maps_to.iter().map(|m| Prop::ours("maps-to", m.clone())));
            let prose = if c.description.trim().is_empty() {
                c.title.clone()
            } else {
                c.description.trim().to_string()
            };
            Control {
                id: token(&c.id),
                title: c.title.clone(),
                props,
                parts: vec![Part {
                    id: statement_id(&c.id),
                    name: "statement",
                    prose,
                }],
            }
        })
        .collect();
    let mut metadata = metadata(basis, framework.title.clone());
    metadata.props = vec![
        Prop::ours("framework-id", framework.id.clone()),
        Prop::ours(
            "scale",
            format!(
                "{} to {}, pass at {} or more",
                framework.scale.min, framework.scale.max, framework.scale.pass
            ),
        ),
    ];
    let doc = CatalogDoc {
        catalog: Catalog {
            uuid: basis.uuid(&format!("catalog:{}", framework.id)),
            metadata,
            controls,
        },
    };
    pretty(&doc, "OSCAL catalog")
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct PlanDoc {
    assessment_plan: Plan,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Plan {
    uuid: String,
    metadata: Metadata,
    import_ssp: Href,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_definitions: Option<LocalDefinitions>,
    reviewed_controls: ReviewedControls,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    assessment_subjects: Vec<SubjectSelection>,
    tasks: Vec<Task>,
    back_matter: BackMatter,
}

#[derive(Serialize)]
pub(super) struct Href {
    pub(super) href: String,
}

#[derive(Serialize)]
struct LocalDefinitions {
    components: Vec<Component>,
}

#[derive(Serialize)]
struct Component {
    uuid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    description: String,
    status: State,
}

#[derive(Serialize)]
pub(super) struct State {
    pub(super) state: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct ReviewedControls {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    pub(super) control_selections: Vec<ControlSelection>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct ControlSelection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) include_all: Option<Empty>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) include_controls: Vec<ControlId>,
}

#[derive(Serialize)]
pub(super) struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct ControlId {
    pub(super) control_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SubjectSelection {
    #[serde(rename = "type")]
    kind: &'static str,
    include_subjects: Vec<SubjectRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct SubjectRef {
    pub(super) subject_uuid: String,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
}

/// The systems the document's audits and production models name, sorted.
pub(super) fn systems(basis: &Basis<'_>) -> Vec<String> {
    let mut out: Vec<String> = basis
        .doc
        .audits
        .iter()
        .map(|a| a.system.clone())
        .chain(
            basis
                .doc
                .models
                .iter()
                .filter(|m| m.in_production)
                .map(|m| m.name.clone()),
        )
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A system's component uuid, the same in every document.
pub(super) fn component_uuid(basis: &Basis<'_>, system: &str) -> String {
    basis.uuid(&format!("component:{system}"))
}

/// The controls of the document's audits, as the plan and results select them.
pub(super) fn selected_controls(controls: impl Iterator<Item = String>) -> Vec<ControlId> {
    let mut ids: Vec<String> = controls.map(|c| token(&c)).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|control_id| ControlId { control_id })
        .collect()
}

/// `catalogs`: (framework id, bundle path, SHA-256) of each catalog.
pub(super) fn assessment_plan(
    basis: &Basis<'_>,
    catalogs: &[(String, String, String)],
) -> Result<Vec<u8>> {
    let doc = basis.doc;
    let systems = systems(basis);
    let ssp = basis.uuid("system-description");
    let mut resources = vec![Resource {
        uuid: ssp.clone(),
        title: "System description".into(),
        description: Some(format!(
            "No system security plan: the systems are the registered models and audited \
             systems of {}, described by the MLflow registry extracts and the KPI document \
             (data/kpis/kpis.json) of this bundle.",
            doc.organization
        )),
        rlinks: vec![Rlink {
            href: "../kpis/kpis.json".into(),
            media_type: Some("application/json"),
            hashes: Vec::new(),
        }],
    }];
    resources.extend(catalogs.iter().map(|(id, path, sha)| Resource {
        uuid: basis.uuid(&format!("catalog-resource:{id}")),
        title: format!("Catalog {id}"),
        description: None,
        rlinks: vec![Rlink {
            href: relative(path),
            media_type: Some("application/json"),
            hashes: vec![Hash::sha256(sha)],
        }],
    }));
    let components: Vec<Component> = systems
        .iter()
        .map(|s| Component {
            uuid: component_uuid(basis, s),
            kind: "software",
            title: s.clone(),
            description: format!("The AI system `{s}`."),
            status: State {
                state: "operational",
            },
        })
        .collect();
    let include_controls = selected_controls(
        doc.audits
            .iter()
            .flat_map(|a| a.controls.iter().map(|c| c.id.clone())),
    );
    let mut metadata = metadata(basis, format!("Assessment plan: {}", doc.title));
    metadata.props = vec![Prop::ours("scope", basis.config.scope.label())];
    let plan = Plan {
        uuid: basis.uuid("assessment-plan"),
        metadata,
        import_ssp: Href { href: local(&ssp) },
        local_definitions: (!components.is_empty()).then_some(LocalDefinitions { components }),
        reviewed_controls: control_review(include_controls),
        // OSCAL lists at least one subject; a build with no system in scope names none.
        assessment_subjects: (!systems.is_empty())
            .then(|| SubjectSelection {
                kind: "component",
                include_subjects: systems
                    .iter()
                    .map(|s| SubjectRef {
                        subject_uuid: component_uuid(basis, s),
                        kind: "component",
                    })
                    .collect(),
            })
            .into_iter()
            .collect(),
        tasks: vec![Task {
            uuid: basis.uuid("task:period"),
            kind: "action",
            title: format!(
                "Assess the period {} to {}",
                doc.period.start, doc.period.end
            ),
            timing: Timing::WithinDateRange {
                start: day_start(&doc.period.start),
                end: day_end(&doc.period.end),
            },
            responsible_roles: Vec::new(),
        }],
        back_matter: BackMatter { resources },
    };
    pretty(
        &PlanDoc {
            assessment_plan: plan,
        },
        "OSCAL assessment plan",
    )
}

/// The selected controls, or every control when none was scored (OSCAL wants one selection).
pub(super) fn control_review(include_controls: Vec<ControlId>) -> ReviewedControls {
    if include_controls.is_empty() {
        return ReviewedControls {
            description: Some("No audit in scope: no catalog control was reviewed.".into()),
            control_selections: vec![ControlSelection {
                include_all: Some(Empty {}),
                include_controls: Vec::new(),
            }],
        };
    }
    ReviewedControls {
        description: None,
        control_selections: vec![ControlSelection {
            include_all: None,
            include_controls,
        }],
    }
}

/// A `data/…` bag path as seen from a document in `data/oscal/`, as a URI reference.
pub(super) fn relative(bag_path: &str) -> String {
    let inside = bag_path.strip_prefix("data/").unwrap_or(bag_path);
    let path = match inside.strip_prefix("oscal/") {
        Some(rest) => rest.to_string(),
        None => format!("../{inside}"),
    };
    super::uri_path(&path)
}
