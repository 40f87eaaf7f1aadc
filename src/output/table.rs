//! The KPI document as a table for people (`dossier kpis`, the default format): portfolio KPIs
//! with the high tier beside them, the models, operations and log accounts, the trend, audits,
//! exceptions and the remediation plan. Ratios are shown as percentages with one decimal, counts
//! as whole numbers; n/a stays n/a.

use std::fmt::Write as _;

use super::{label, opt};
use crate::kpi::{Document, KpiTable, KpiValue, ModelKpis};

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
                k.kpi.name().to_string(),
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
    for (kpi, k) in &all.0 {
        let h = high.get(*kpi);
        let is_count = kpi.is_count();
        let shown = |v: Option<f64>| {
            if is_count {
                v.map(|v| v.to_string()).unwrap_or_else(|| "n/a".into())
            } else {
                pct(v)
            }
        };
        rows.push([
            kpi.name().to_string(),
            shown(k.value),
            fraction(k),
            k.target
                .map(|t| shown(Some(t)))
                .unwrap_or_else(|| "-".into()),
            verdict(k.met),
            h.map(|h| kpi_figure(*kpi, h.value, h))
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
            m.risk_tier.to_string(),
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

/// A KPI's figure as people read it: a count as a whole number, a ratio as a percentage with
/// its numerator and denominator (`66.7% (2/3)`); `n/a` without a value.
pub fn kpi_figure(kpi: crate::vocab::Kpi, value: Option<f64>, k: &KpiValue) -> String {
    match value {
        None => "n/a".into(),
        Some(v) if kpi.is_count() => v.to_string(),
        Some(_) => match (k.numerator, k.denominator) {
            (Some(n), Some(d)) => format!("{} ({n}/{d})", pct(value)),
            _ => pct(value),
        },
    }
}

/// A KPI's target as people read it: a count's as a whole number, a ratio's as a percentage.
pub fn kpi_target(kpi: crate::vocab::Kpi, target: f64) -> String {
    if kpi.is_count() {
        target.to_string()
    } else {
        pct(Some(target))
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

fn fraction(k: &KpiValue) -> String {
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
