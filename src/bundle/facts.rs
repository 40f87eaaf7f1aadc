//! What the report template receives about the bundle, as `/bundle.json`
//! (docs/report-data.md). In: the staged bag and the build's request. Out: the JSON bytes —
//! id, signer, build time, evidence index, sources, where each path the KPI document names is
//! shown and carried, each model's registry evidence, the KPI definitions and document control.
//! Guarantees: computed from the staged bag itself, so every bundle path it names is in the bag.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::Prepared;
use super::index;
use super::stage::{Indexed, Location, SourceRow};
use crate::error::{Error, Result};
use crate::vocab::kpi::Definition;
use crate::vocab::{Kpi, layout};

/// What the report template receives about the bundle, as `/bundle.json` (docs/report-data.md).
#[derive(Serialize)]
struct Facts<'a> {
    bundle_id: &'a str,
    build_time: String,
    version: &'static str,
    fingerprint: Option<&'a str>,
    evidence: Vec<Indexed>,
    sources: Vec<SourceRow>,
    /// Every path the KPI document names → how the report shows it and its bundle path.
    paths: BTreeMap<String, Location>,
    /// Registered model → the bundle path of the file that evidences its registry facts (its
    /// lineage extract, or the store the bag carries).
    lineage: BTreeMap<String, String>,
    /// Regulator requests only (a scope or a request id); empty otherwise.
    request_index: &'a [index::IndexRow],
    /// Every portfolio KPI's definition and formula, in the document's order.
    kpis: Vec<Definition>,
    /// How each per-model inference figure is computed.
    figures: &'static [crate::vocab::figure::Figure],
    /// How each per-model update-cadence figure is computed (issue 23).
    cadence: &'static [crate::vocab::figure::Figure],
    /// Where each KPI's target comes from: `policy.targets` or `default`.
    target_set_in: BTreeMap<&'static str, &'static str>,
    /// What the build cannot vouch for (after the KPI document's own limitations).
    limitations: &'a [String],
    /// The time-stamp authority that will stamp the signature (null: none).
    tsa: Option<&'a str>,
    /// Sign-off and document control from `report:`.
    document: &'a crate::config::DocumentControl,
    /// Evidence-retrieval time in seconds; null in a reproducible build.
    retrieval_seconds: Option<f64>,
    /// The previous bundle this one links to (the ledger, issue 23); null without one.
    previous: Option<&'a crate::ingest::previous::Link>,
}

/// The bundle's facts for the report: id, signer, build time, evidence index, sources.
pub(super) fn facts_json(p: &Prepared<'_>) -> Result<Vec<u8>> {
    let staged = p.staged.locations();
    let facts = Facts {
        bundle_id: &p.name,
        build_time: p.req.build_time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        version: env!("CARGO_PKG_VERSION"),
        fingerprint: p.req.fingerprint.as_deref(),
        evidence: p.staged.evidence_index(),
        sources: p.staged.sources(),
        paths: locations(p, &staged),
        lineage: lineage(p, &staged),
        request_index: &p.request_index,
        kpis: Kpi::ALL.map(Kpi::describe).to_vec(),
        figures: &crate::vocab::figure::FIGURES,
        cadence: &crate::vocab::figure::CADENCE,
        target_set_in: Kpi::ALL
            .into_iter()
            .map(|k| {
                let configured = p.req.config.policy.configured_targets.contains(&k);
                (
                    k.name(),
                    if configured {
                        "policy.targets"
                    } else {
                        "default"
                    },
                )
            })
            .collect(),
        limitations: &p.limitations,
        tsa: p
            .req
            .config
            .tsa
            .as_ref()
            .filter(|_| p.req.trusted_time)
            .map(|t| t.url.as_str()),
        document: &p.req.config.control,
        retrieval_seconds: p.retrieval_seconds,
        previous: p.req.evidence.previous.as_ref().map(|b| &b.link),
    };
    serde_json::to_vec_pretty(&facts)
        .map_err(|e| Error::Internal(format!("cannot serialise bundle facts: {e}")))
}

/// `Staged::locations`, with the paths the document names that are not inputs: audit
/// evidence as the audit wrote it (relative to the config folder), stores and artifact
/// folders.
fn locations(p: &Prepared<'_>, staged: &BTreeMap<String, Location>) -> BTreeMap<String, Location> {
    let mut paths = staged.clone();
    let config = p.req.config;
    let doc = p.req.doc;
    let written = doc
        .audits
        .iter()
        .flat_map(|a| &a.controls)
        .flat_map(|c| &c.evidence);
    for item in written {
        let full = config.base_dir.join(item).display().to_string();
        let bundle = paths.get(&full).and_then(|l| l.bundle.clone());
        let shown = item.clone();
        paths.insert(item.clone(), Location { shown, bundle });
    }
    let folders = doc
        .models
        .iter()
        .flat_map(|m| [Some(m.store.as_str()), m.artifact_dir.as_deref()])
        .flatten()
        .chain(doc.mlflow_sources.iter().map(|s| s.path.as_str()));
    for folder in folders {
        paths.entry(folder.to_string()).or_insert_with(|| Location {
            shown: config.shown(Path::new(folder)),
            bundle: None,
        });
    }
    paths
}

/// Each registered model's registry evidence in the bag: its lineage extract, else (a
/// whole-store build) the store's file.
fn lineage(p: &Prepared<'_>, paths: &BTreeMap<String, Location>) -> BTreeMap<String, String> {
    let extracts = p.staged.generated.iter().filter_map(|g| {
        let model = g.system.clone()?;
        Some((model, format!("{}{}", layout::DATA, g.dest)))
    });
    let mut out: BTreeMap<String, String> = extracts.collect();
    for m in &p.req.doc.models {
        let carried = paths.get(&m.store).and_then(|l| l.bundle.clone());
        if let (false, Some(store)) = (out.contains_key(&m.name), carried) {
            out.insert(m.name.clone(), store);
        }
    }
    out
}
