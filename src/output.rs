//! The KPI document in, text for stdout out: a table for people, JSON (the document itself, SPEC
//! §4) or CSV for machines. CSV is long-form, one row per figure —
//! `scope,subject,kpi,value,target,met,numerator,denominator` — so every figure of the table is
//! there and a spreadsheet can pivot it. Values are printed in full here; only the table rounds.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::kpi::{Document, Kpi, KpiTable, ModelKpis};

pub fn json(doc: &Document) -> Result<String> {
    let mut text = serde_json::to_string_pretty(doc)
        .map_err(|e| Error::Usage(format!("cannot serialise the KPI document: {e}")))?;
    text.push('\n');
    Ok(text)
}

pub fn csv(doc: &Document) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Usage(format!("cannot write CSV: {e}"));
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
                name.clone(),
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
        .map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn model_fields(m: &ModelKpis) -> Vec<(&'static str, String)> {
    vec![
        ("in_production", m.in_production.to_string()),
        ("version", m.version.clone().unwrap_or_default()),
        (
            "production_via",
            m.production_via.clone().unwrap_or_default(),
        ),
        ("risk_tier", m.risk_tier.clone()),
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
    ]
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub fn table(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", doc.organization, doc.title);
    let _ = writeln!(
        out,
        "period {} to {}, as of {}{}",
        doc.period.start,
        doc.period.end,
        doc.as_of,
        doc.scope
            .request_id
            .as_deref()
            .map(|r| format!(", request {r}"))
            .unwrap_or_default()
    );
    if !doc.scope.systems.is_empty() {
        let _ = writeln!(out, "scope: {}", doc.scope.systems.join(", "));
    }
    out.push('\n');
    out.push_str(&kpi_table(&doc.portfolio, &doc.portfolio_high));
    out.push('\n');
    out.push_str(&model_table(&doc.models));
    if !doc.log_files.is_empty() {
        out.push_str(&operations_table(doc));
    }
    if let Some(trend) = &doc.trend {
        let _ = writeln!(
            out,
            "\nChange since {} (baseline {})",
            trend.previous_as_of, trend.source
        );
        let mut rows = vec![
            ["KPI", "before", "now", "change"]
                .map(String::from)
                .to_vec(),
        ];
        for k in &trend.kpis {
            rows.push(vec![
                k.kpi.clone(),
                pct(k.previous),
                pct(k.current),
                k.change
                    .map(|c| format!("{:+.1} pts", c * 100.0))
                    .unwrap_or_else(|| "n/a".into()),
            ]);
        }
        out.push_str(&render(&rows));
    }
    for audit in &doc.audits {
        let _ = writeln!(
            out,
            "\nAudit: {} against {} on {} by {}{}",
            audit.system,
            audit.framework,
            audit.assessed_on,
            audit.assessor,
            if audit.superseded.is_empty() {
                String::new()
            } else {
                format!(" (supersedes {})", audit.superseded.len())
            }
        );
        let mut rows = vec![
            ["control", "score", "status", "title"]
                .map(String::from)
                .to_vec(),
        ];
        for c in &audit.controls {
            rows.push(vec![
                c.id.clone(),
                c.score.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                c.status.to_string(),
                c.title.clone(),
            ]);
        }
        out.push_str(&render(&rows));
    }
    if !doc.exceptions.is_empty() {
        let _ = writeln!(out, "\nExceptions register");
        let mut rows = vec![
            [
                "id",
                "system",
                "control",
                "expires_on",
                "status",
                "closed_on",
                "expired",
                "adherent",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for e in &doc.exceptions {
            rows.push(vec![
                e.id.clone(),
                e.system.clone(),
                e.control.clone(),
                e.expires_on.clone(),
                format!("{:?}", e.status).to_lowercase(),
                e.closed_on.clone().unwrap_or_else(|| "-".into()),
                yes_no(Some(e.expired)),
                yes_no(e.adherent),
            ]);
        }
        out.push_str(&render(&rows));
    }
    let _ = writeln!(out, "\nRemediation plan ({} items)", doc.remediation.len());
    let mut rows = vec![
        ["#", "id", "severity", "blast radius", "fix days", "finding"]
            .map(String::from)
            .to_vec(),
    ];
    for item in &doc.remediation {
        rows.push(vec![
            item.rank.to_string(),
            item.id.clone(),
            label(&item.severity),
            label(&item.blast_radius),
            item.fix_days
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            item.finding.clone(),
        ]);
    }
    out.push_str(&render(&rows));
    if !doc.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n{} warning(s), listed on stderr and in --format json",
            doc.warnings.len()
        );
    }
    out
}

/// Per production model figures from the logs, then the account of every log file.
fn operations_table(doc: &Document) -> String {
    let mut out = String::from("\nOperations (inference logs)\n");
    let mut rows = vec![
        [
            "model",
            "requests",
            "errors",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "coverage",
            "gap h",
            "PSI",
            "unregistered",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let num = |v: Option<f64>, digits: usize| {
        v.map(|v| format!("{v:.digits$}"))
            .unwrap_or_else(|| "n/a".into())
    };
    for m in doc.models.iter().filter(|m| m.in_production) {
        rows.push(vec![
            m.name.clone(),
            opt(m.requests),
            pct(m.error_rate),
            num(m.latency_p50_ms, 1),
            num(m.latency_p95_ms, 1),
            num(m.latency_p99_ms, 1),
            pct(m.logging_coverage),
            num(m.longest_gap_hours, 1),
            num(m.score_psi, 3),
            if m.unregistered_versions.is_empty() {
                "-".into()
            } else {
                m.unregistered_versions.join(", ")
            },
        ]);
    }
    out.push_str(&render(&rows));
    let _ = writeln!(out, "\nLog files read");
    let mut rows = vec![
        [
            "file",
            "format",
            "records",
            "accepted",
            "outside period",
            "rejected",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for f in &doc.log_files {
        rows.push(vec![
            f.path.clone(),
            f.format.to_string(),
            f.records.to_string(),
            f.accepted.to_string(),
            f.outside_period.to_string(),
            f.rejected.to_string(),
        ]);
    }
    out.push_str(&render(&rows));
    if !doc.rejected.is_empty() {
        let _ = writeln!(out, "\nRejected log records");
        let mut rows = vec![
            ["file", "reason", "count", "first line"]
                .map(String::from)
                .to_vec(),
        ];
        for r in &doc.rejected {
            rows.push(vec![
                r.source.clone(),
                r.reason.to_string(),
                r.count.to_string(),
                opt(r.first_line),
            ]);
        }
        out.push_str(&render(&rows));
    }
    if !doc.unknown_models_in_logs.is_empty() {
        let _ = writeln!(out, "\nModels in the logs that no store registers");
        let mut rows = vec![["model", "records"].map(String::from).to_vec()];
        for u in &doc.unknown_models_in_logs {
            rows.push(vec![u.model.clone(), u.records.to_string()]);
        }
        out.push_str(&render(&rows));
    }
    out
}

fn kpi_table(all: &KpiTable, high: &KpiTable) -> String {
    let mut rows = vec![[
        "KPI".to_string(),
        "value".into(),
        "n/d".into(),
        "target".into(),
        "met".into(),
        "high tier".into(),
    ]];
    for (name, k) in &all.0 {
        let h = high.get(name);
        let is_count = name.ends_with("_count");
        let shown = |v: Option<f64>| {
            if is_count {
                v.map(|v| v.to_string()).unwrap_or_else(|| "n/a".into())
            } else {
                pct(v)
            }
        };
        rows.push([
            name.clone(),
            shown(k.value),
            fraction(k),
            k.target
                .map(|t| shown(Some(t)))
                .unwrap_or_else(|| "-".into()),
            verdict(k.met),
            h.map(|h| format!("{} ({})", shown(h.value), fraction(h)))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    render(&rows)
}

fn model_table(models: &[ModelKpis]) -> String {
    let mut rows = vec![
        [
            "model", "tier", "prod", "version", "card", "data", "eval", "git", "approval",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for m in models {
        rows.push(vec![
            m.name.clone(),
            m.risk_tier.clone(),
            if m.in_production { "yes" } else { "no" }.into(),
            m.version.clone().unwrap_or_else(|| "-".into()),
            yes_no(m.has_model_card),
            yes_no(m.has_dataset_provenance),
            yes_no(m.has_evaluation),
            yes_no(m.has_code_lineage),
            yes_no(m.has_approval),
        ]);
    }
    render(&rows)
}

fn render<R: AsRef<[String]>>(rows: &[R]) -> String {
    let cols = rows.first().map(|r| r.as_ref().len()).unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.as_ref()[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The snake_case name serde gives an enum value, or `-`.
fn label<T: serde::Serialize>(v: &Option<T>) -> String {
    match v.as_ref().map(serde_json::to_value) {
        Some(Ok(serde_json::Value::String(s))) => s,
        _ => "-".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

fn fraction(k: &Kpi) -> String {
    match (k.numerator, k.denominator) {
        (Some(n), Some(d)) => format!("{n}/{d}"),
        _ => "-".into(),
    }
}

fn verdict(met: Option<bool>) -> String {
    match met {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    }
    .into()
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
    .into()
}

// ---- the bundle's CSV files (SPEC §6) -------------------------------------------------------

fn csv_table(header: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| Error::Usage(format!("cannot write CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(fail)?;
    for row in rows {
        w.write_record(&row).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))
}

/// One row per registered model.
pub fn models_csv(doc: &Document) -> Result<Vec<u8>> {
    let mut header = vec!["name"];
    let rows: Vec<Vec<String>> = doc
        .models
        .iter()
        .map(|m| {
            let mut row = vec![m.name.clone()];
            row.extend(model_fields(m).into_iter().map(|(_, v)| v));
            row.push(m.last_audit.clone().unwrap_or_default());
            row
        })
        .collect();
    if let Some(m) = doc.models.first() {
        header.extend(model_fields(m).into_iter().map(|(k, _)| k));
    } else {
        header.extend(
            model_fields(&ModelKpis::default())
                .into_iter()
                .map(|(k, _)| k),
        );
    }
    header.push("last_audit");
    csv_table(&header, rows)
}

/// The portfolio KPIs, overall and high tier.
pub fn portfolio_csv(doc: &Document) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for (scope, table) in [("all", &doc.portfolio), ("high", &doc.portfolio_high)] {
        for (name, k) in &table.0 {
            rows.push(vec![
                scope.to_string(),
                name.clone(),
                opt(k.value),
                opt(k.target),
                opt(k.met),
                opt(k.numerator),
                opt(k.denominator),
            ]);
        }
    }
    csv_table(
        &[
            "tier",
            "kpi",
            "value",
            "target",
            "met",
            "numerator",
            "denominator",
        ],
        rows,
    )
}

/// Every control of every latest audit.
pub fn scores_csv(doc: &Document) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for a in &doc.audits {
        for c in &a.controls {
            rows.push(vec![
                a.system.clone(),
                a.framework.clone(),
                a.assessed_on.clone(),
                a.assessor.clone(),
                c.id.clone(),
                c.title.clone(),
                opt(c.score),
                c.status.to_string(),
                c.finding.clone().unwrap_or_default(),
                c.evidence.join(";"),
                c.missing_evidence.join(";"),
                label(&c.severity),
                label(&c.blast_radius),
                opt(c.fix_days),
                c.owner.clone().unwrap_or_default(),
                c.maps_to.join(";"),
            ]);
        }
    }
    let header = [
        "system",
        "framework",
        "assessed_on",
        "assessor",
        "control",
        "title",
        "score",
        "status",
        "finding",
        "evidence",
        "missing_evidence",
        "severity",
        "blast_radius",
        "fix_days",
        "owner",
        "maps_to",
    ];
    csv_table(&header, rows)
}

pub fn remediation_csv(doc: &Document) -> Result<Vec<u8>> {
    let rows = doc
        .remediation
        .iter()
        .map(|i| {
            vec![
                i.rank.to_string(),
                i.id.clone(),
                i.system.clone(),
                i.source.clone(),
                i.finding.clone(),
                label(&i.severity),
                label(&i.blast_radius),
                opt(i.fix_days),
                i.owner.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "rank",
        "id",
        "system",
        "source",
        "finding",
        "severity",
        "blast_radius",
        "fix_days",
        "owner",
    ];
    csv_table(&header, rows)
}

pub fn exceptions_csv(doc: &Document) -> Result<Vec<u8>> {
    let rows = doc
        .exceptions
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.system.clone(),
                e.control.clone(),
                e.reason.clone(),
                e.approved_by.clone(),
                e.granted_on.clone(),
                e.expires_on.clone(),
                label(&Some(e.status)),
                e.closed_on.clone().unwrap_or_default(),
                e.expired.to_string(),
                opt(e.adherent),
                e.open_at_as_of.to_string(),
            ]
        })
        .collect();
    let header = [
        "id",
        "system",
        "control",
        "reason",
        "approved_by",
        "granted_on",
        "expires_on",
        "status",
        "closed_on",
        "expired",
        "adherent",
        "open_at_as_of",
    ];
    csv_table(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_na() {
        assert_eq!(pct(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(pct(None), "n/a");
        assert_eq!(
            render(&[
                vec!["a".to_string(), "bb".into()],
                vec!["ccc".into(), "d".into()]
            ]),
            "a    bb\nccc  d\n"
        );
    }
}
