//! What goes under `data/` from the KPI document: the document itself, its CSV tables, the
//! baseline, and each (in-scope) registered model's MLflow lineage extract — the store itself is
//! copied only with `bundle.include_stores: true` in an unscoped build (a store holds every
//! experiment, deleted runs, trace payloads and, in 3.x, a `secrets` table). In: the evidence and the document. Out: (path under
//! `data/`, bytes) pairs. Guarantees: generated from the same document the report reads.

use std::collections::BTreeMap;

use super::inputs::{Described, sanitize, segment};
use super::tables;
use crate::config::Scope;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
pub use crate::ingest::mlflow::LINEAGE_FORMAT;
use crate::ingest::mlflow::{RegisteredModel, Run, StoreKind};
use crate::kpi::Document;
use crate::vocab::layout;

/// A file generated for the bag.
pub struct Generated {
    /// Path under `data/`.
    pub dest: String,
    pub bytes: Vec<u8>,
    /// The registered model a lineage extract describes.
    pub system: Option<String>,
}

fn file(path: &str, bytes: Vec<u8>) -> Generated {
    Generated {
        dest: layout::in_data(path).to_string(),
        bytes,
        system: None,
    }
}

/// The files generated from the document.
pub fn generated_files(
    req: &super::Request<'_>,
    described: &[Described],
    kpis_json: &[u8],
) -> Result<Vec<Generated>> {
    let (config, evidence, doc) = (req.config, req.evidence, req.doc);
    let mut baseline = serde_json::to_string_pretty(&doc.baseline)
        .map_err(|e| Error::Internal(format!("cannot serialise the baseline: {e}")))?;
    baseline.push('\n');
    let mut files = vec![
        file(layout::KPIS_JSON, kpis_json.to_vec()),
        file(layout::MODELS_CSV, tables::models_csv(doc)?),
        file(layout::PORTFOLIO_CSV, tables::portfolio_csv(doc)?),
        file(layout::SCORES_CSV, tables::scores_csv(doc)?),
        file(layout::REMEDIATION_CSV, tables::remediation_csv(doc)?),
        file(layout::EXCEPTIONS_CSV, tables::exceptions_csv(doc)?),
        file(layout::BASELINE_JSON, baseline.into_bytes()),
    ];
    if config.scope.is_scoped() || !config.bundle.include_stores {
        files.extend(lineage_files(&config.scope, (evidence, described), doc)?);
    }
    let excerpts = super::spark::excerpts(config, evidence, req.redact_key)?;
    files.extend(super::spark::statements(config, evidence, &excerpts));
    files.extend(excerpts);
    Ok(files)
}

/// The MLflow evidence of a minimised build: for each (in-scope) registered model, what its store
/// says about it and the source runs of its versions, as `evidence/mlflow/lineage/<model>.json`
/// (`LINEAGE_FORMAT`; dossier reads such a folder back as an MLflow source). `artifacts` says,
/// per run, where this bundle keeps its model card, relative to the extract.
fn lineage_files(
    scope: &Scope,
    (evidence, described): (&Evidence, &[Described]),
    doc: &Document,
) -> Result<Vec<Generated>> {
    #[derive(serde::Serialize)]
    struct Lineage<'a> {
        format: &'static str,
        store: StoreRef,
        model: &'a RegisteredModel,
        runs: BTreeMap<&'a str, &'a Run>,
        artifacts: BTreeMap<&'a str, String>,
    }
    #[derive(serde::Serialize)]
    struct StoreRef {
        path: String,
        kind: &'static str,
        /// A SQLite store's SHA-256, so the extract can be checked against the store it came from.
        sha256: Option<String>,
    }
    let mut out = Vec::new();
    for store in &evidence.stores {
        let named: Vec<_> = store
            .models
            .iter()
            .filter(|m| scope.admits(&m.name))
            .collect();
        if named.is_empty() {
            continue;
        }
        // A SQLite store's hash, as sources.csv records it (hashed once, in described_stores).
        let sha256 = match store.kind {
            StoreKind::Sqlite => described
                .iter()
                .find(|d| store.metadata_files.first() == Some(&d.path))
                .map(|d| d.sha256.clone()),
            _ => None,
        };
        for model in named {
            let runs = model
                .versions
                .iter()
                .filter_map(|v| v.run_id.as_deref())
                .filter_map(|id| store.runs.get_key_value(id))
                .map(|(k, v)| (k.as_str(), v))
                .collect();
            let artifacts = doc
                .models
                .iter()
                .filter(|m| m.name == model.name && m.model_card.is_some())
                .filter_map(|m| m.source_run.as_deref())
                .map(|run| (run, format!("../../model-cards/{}", segment(&model.name))))
                .collect();
            let lineage = Lineage {
                format: LINEAGE_FORMAT,
                artifacts,
                store: StoreRef {
                    path: store.path.display().to_string(),
                    kind: store.kind.label(),
                    sha256: sha256.clone(),
                },
                model,
                runs,
            };
            let mut text = serde_json::to_string_pretty(&lineage)
                .map_err(|e| Error::Internal(format!("cannot serialise the lineage: {e}")))?;
            text.push('\n');
            let path = format!("{}{}.json", layout::LINEAGE_DIR, segment(&model.name));
            out.push(Generated {
                dest: sanitize(layout::in_data(&path)),
                bytes: text.into_bytes(),
                system: Some(model.name.clone()),
            });
        }
    }
    Ok(out)
}
