//! The request index of a regulator request (`data/request-index.csv`): each payload file and
//! what it evidences — MLflow lineage, inference records (record-keeping), audits and their
//! evidence, exceptions, the generated figures. In: the config, the evidence, the document, the
//! inputs and generated files. Out: `IndexRow`s sorted by path, and their CSV.

use std::path::Path;

use super::generated::Generated;
use super::inputs::Input;
use super::tables::write_csv;
use crate::config::Config;
use crate::error::Result;
use crate::ingest::Evidence;
use crate::kpi::Document;
use crate::vocab::{InputRole, layout};

/// One line of the request index: a bundle file and what it evidences.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IndexRow {
    /// Path inside the bag, `data/…`.
    pub path: String,
    pub system: String,
    pub evidences: &'static str,
    pub detail: String,
}

/// What each payload file evidences, for a regulator request: MLflow lineage, inference records
/// (record-keeping), audits and their evidence, exceptions, and the generated figures.
pub fn request_index(
    config: &Config,
    evidence: &Evidence,
    doc: &Document,
    inputs: &[Input],
    generated: &[Generated],
) -> Vec<IndexRow> {
    let scope = config.scope.label();
    let row = |path: &str, system: &str, evidences: &'static str, detail: String| IndexRow {
        path: format!("data/{path}"),
        system: system.to_string(),
        evidences,
        detail,
    };
    let mut out: Vec<IndexRow> = Vec::new();
    for g in generated {
        if let Some(name) = &g.system {
            let detail = doc
                .models
                .iter()
                .find(|m| &m.name == name)
                .map(lineage_chain)
                .unwrap_or_default();
            out.push(row(&g.dest, name, "MLflow lineage", detail));
            continue;
        }
        let (what, detail) = describe_generated(&format!("{}{}", layout::DATA, g.dest));
        out.push(row(&g.dest, &scope, what, detail.into()));
    }
    let canonical_of = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    for input in inputs {
        let source = input.origin.as_ref().map_or(&input.source, |o| &o.path);
        let model = input.system.clone().unwrap_or_default();
        let r = match input.role {
            InputRole::Config => row(
                &input.dest,
                &scope,
                "configuration",
                "the build's config".into(),
            ),
            InputRole::Responses => row(
                &input.dest,
                &scope,
                "remediation tracking",
                "management responses to remediation items".into(),
            ),
            InputRole::Mlflow => row(
                &input.dest,
                &scope,
                "MLflow lineage",
                "MLflow store metadata: registered models, versions, runs, datasets".into(),
            ),
            InputRole::ModelCard => row(
                &input.dest,
                &model,
                "model documentation",
                "model card".into(),
            ),
            InputRole::EvaluationArtifact => {
                let run = doc
                    .models
                    .iter()
                    .find(|x| x.name == model)
                    .and_then(|x| x.source_run.clone())
                    .unwrap_or_default();
                row(
                    &input.dest,
                    &model,
                    "evaluation",
                    format!("artifact of source run {run}"),
                )
            }
            InputRole::LogExtract | InputRole::LogExcerpt => {
                let display = source.display().to_string();
                let models = doc
                    .log_files
                    .iter()
                    .find(|f| f.path == display)
                    .map(|f| f.models.clone())
                    .unwrap_or_default();
                let systems = models.keys().cloned().collect::<Vec<_>>().join(", ");
                let counts = if models.is_empty() {
                    "no records".to_string()
                } else {
                    models
                        .iter()
                        .map(|(m, n)| format!("{n} of {m}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                // Shown as sources.csv shows it: no build machine's folder in the index.
                let shown = config.shown(source);
                let detail = if input.role == InputRole::LogExcerpt {
                    format!(
                        "the period's accepted inference records of the scope ({counts}), \
                         cut from {shown}"
                    )
                } else {
                    format!("inference-log extract; accepted in the period: {counts}")
                };
                row(
                    &input.dest,
                    &systems,
                    "inference records (record-keeping)",
                    detail,
                )
            }
            InputRole::Audit => {
                let audits: Vec<_> = evidence
                    .audits
                    .iter()
                    .filter(|a| &a.file == source)
                    .collect();
                let system = audits
                    .iter()
                    .map(|a| a.system.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let detail = audits
                    .iter()
                    .map(|a| format!("{} audit of {}", a.framework.id, a.assessed_on))
                    .collect::<Vec<_>>()
                    .join("; ");
                row(&input.dest, &system, "audits", detail)
            }
            InputRole::AuditEvidence => {
                let real = canonical_of(source);
                let (mut systems, mut cited) = (Vec::<&str>::new(), Vec::new());
                for a in &doc.audits {
                    for c in &a.controls {
                        let cites = c
                            .evidence
                            .iter()
                            .any(|e| canonical_of(&config.base_dir.join(e)) == real);
                        if cites {
                            if !systems.contains(&a.system.as_str()) {
                                systems.push(&a.system);
                            }
                            cited.push(format!("{} {} ({})", a.framework, c.id, a.system));
                        }
                    }
                }
                row(
                    &input.dest,
                    &systems.join(", "),
                    "audit evidence",
                    format!("cited by {}", cited.join(", ")),
                )
            }
            InputRole::Exceptions => row(
                &input.dest,
                &scope,
                "exceptions",
                "the exceptions register as filed".into(),
            ),
            // Records summarised on Spark are never carried: their statements are generated.
            InputRole::LogSummary => continue,
        };
        out.push(r);
    }
    out.push(row(
        layout::in_data(layout::SOURCES),
        &scope,
        "chain of custody",
        "every input's original path, size, time and SHA-256".into(),
    ));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// What a generated file of the bag evidences, by its path.
fn describe_generated(path: &str) -> (&'static str, &'static str) {
    match path {
        layout::KPIS_JSON => ("KPIs", "every KPI, per model and portfolio (SPEC §4)"),
        layout::MODELS_CSV => ("KPIs", "per-model KPIs, one row per model"),
        layout::PORTFOLIO_CSV => ("KPIs", "portfolio KPIs against their targets"),
        layout::SCORES_CSV => ("audits", "every scored control of the latest audits"),
        layout::REMEDIATION_CSV => ("audits", "the ranked remediation plan"),
        layout::EXCEPTIONS_CSV => ("exceptions", "the exceptions register, assessed"),
        layout::BASELINE_JSON => ("KPIs", "figures for the next period's trend"),
        p if p.starts_with("data/evidence/logs/spark-summary-") => (
            "logs",
            "the Spark SQL that summarised a log source, and the files it read",
        ),
        p if p.starts_with("data/evidence/logs/spark-excerpt-") => (
            "logs",
            "records of a Spark log source: the first accepted in scope, by time (minimised)",
        ),
        _ => ("generated", ""),
    }
}

/// version ↔ run ↔ dataset ↔ git commit ↔ evaluation ↔ approval, as the inventory found them.
fn lineage_chain(m: &crate::kpi::ModelKpis) -> String {
    let or_none = |v: Option<&str>| v.unwrap_or("none").to_string();
    format!(
        "version {} ↔ run {} ↔ datasets {} ↔ git commit {} ↔ evaluation {} ↔ approval {}",
        or_none(m.version.as_deref()),
        or_none(m.source_run.as_deref()),
        if m.datasets.is_empty() {
            "none".to_string()
        } else {
            m.datasets.join(", ")
        },
        or_none(m.git_commit.as_deref()),
        if m.evaluation_metrics.is_empty() {
            "none".to_string()
        } else {
            m.evaluation_metrics
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        },
        or_none(m.approved_by.as_deref()),
    )
}

/// The request index as CSV.
pub fn request_index_csv(rows: &[IndexRow]) -> Result<Vec<u8>> {
    write_csv(rows, layout::REQUEST_INDEX)
}
