//! The KPI document in, text for stdout out: a table for people (`table`), JSON (the document
//! itself, SPEC §4) or CSV for machines. CSV is long-form, one row per figure —
//! `scope,subject,kpi,value,target,met,numerator,denominator` — so every figure of the table is
//! there and a spreadsheet can pivot it. Values are printed in full here; only the table rounds.

mod table;

pub use table::{kpi_figure, kpi_target, table};

use crate::error::{Error, Result};
use crate::kpi::{Document, ModelKpis};

pub fn json(doc: &Document) -> Result<String> {
    let mut text = serde_json::to_string_pretty(doc)
        .map_err(|e| Error::Internal(format!("cannot serialise the KPI document: {e}")))?;
    text.push('\n');
    Ok(text)
}

pub fn csv(doc: &Document) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Internal(format!("cannot write CSV: {e}"));
    w.write_record([
        "scope",
        "subject",
        "kpi",
        "value",
        "target",
        "met",
        "numerator",
        "denominator",
    ])
    .map_err(fail)?;
    for (scope, subject, table) in [
        ("portfolio", "all", &doc.portfolio),
        ("portfolio_high", "high", &doc.portfolio_high),
    ] {
        for (name, k) in &table.0 {
            w.write_record([
                scope.to_string(),
                subject.to_string(),
                name.name().to_string(),
                opt(k.value),
                opt(k.target),
                opt(k.met),
                opt(k.numerator),
                opt(k.denominator),
            ])
            .map_err(fail)?;
        }
    }
    for m in &doc.models {
        for (field, value) in model_fields(m) {
            w.write_record(["model", &m.name, field, &value, "", "", "", ""])
                .map_err(fail)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("cannot write CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn model_fields(m: &ModelKpis) -> Vec<(&'static str, String)> {
    vec![
        ("in_production", m.in_production.to_string()),
        ("version", m.version.clone().unwrap_or_default()),
        (
            "production_via",
            m.production_via.clone().unwrap_or_default(),
        ),
        ("risk_tier", m.risk_tier.to_string()),
        ("source_run", m.source_run.clone().unwrap_or_default()),
        ("has_model_card", opt(m.has_model_card)),
        ("has_dataset_provenance", opt(m.has_dataset_provenance)),
        ("has_evaluation", opt(m.has_evaluation)),
        ("has_code_lineage", opt(m.has_code_lineage)),
        ("has_approval", opt(m.has_approval)),
        ("requests", opt(m.requests)),
        ("error_rate", opt(m.error_rate)),
        ("latency_p50_ms", opt(m.latency_p50_ms)),
        ("latency_p95_ms", opt(m.latency_p95_ms)),
        ("latency_p99_ms", opt(m.latency_p99_ms)),
        ("logging_coverage", opt(m.logging_coverage)),
        ("longest_gap_hours", opt(m.longest_gap_hours)),
        ("unregistered_versions", m.unregistered_versions.join(";")),
        ("score_psi", opt(m.score_psi)),
        ("versions_in_period", opt(m.versions_in_period)),
        (
            "production_version_age_days",
            opt(m.production_version_age_days),
        ),
    ]
}

pub(crate) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The snake_case name serde gives an enum value, or `-`.
pub(crate) fn label<T: serde::Serialize>(v: &Option<T>) -> String {
    match v.as_ref().map(serde_json::to_value) {
        Some(Ok(serde_json::Value::String(s))) => s,
        _ => "-".into(),
    }
}
