//! The bundle's CSV tables (SPEC §6) as serde row structs: one struct a table, whose field names
//! are its header. In: the KPI document (and, for `sources.csv` and the request index, the bundle's
//! own lists). Out: CSV bytes. Cells are text formatted as the table for people formats them
//! (`fmt::opt`), not by the CSV writer's float formatting, so `1` stays `1` and never becomes `1.0`.
//! A table with no rows still has its header line.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::kpi::{Document, ModelKpis};
use crate::output::{label, model_fields, opt};

/// Rows of one table as CSV, header first (from `T::default()` when there are no rows).
pub fn write_csv<T: Serialize + Default>(rows: &[T], table: &str) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| Error::Internal(format!("cannot write {table}: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        // The csv writer writes a header with the first row; write a blank one and keep the header.
        w.serialize(T::default()).map_err(fail)?;
        let bytes = w.into_inner().map_err(|e| fail(e.into_error().into()))?;
        let end = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        return Ok(bytes.get(..end).unwrap_or_default().to_vec());
    }
    for row in rows {
        w.serialize(row).map_err(fail)?;
    }
    w.into_inner().map_err(|e| fail(e.into_error().into()))
}

/// `data/kpis/models.csv`: one row per registered model, the long-form CSV's fields as columns.
pub fn models_csv(doc: &Document) -> Result<Vec<u8>> {
    let rows: Vec<Vec<(&'static str, String)>> = doc.models.iter().map(model_row).collect();
    let header: Vec<&str> = match rows.first() {
        Some(r) => r.iter().map(|(k, _)| *k).collect(),
        None => model_row(&ModelKpis::default())
            .iter()
            .map(|(k, _)| *k)
            .collect(),
    };
    let fail = |e: csv::Error| Error::Internal(format!("cannot write models.csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(fail)?;
    for row in &rows {
        w.write_record(row.iter().map(|(_, v)| v)).map_err(fail)?;
    }
    w.into_inner().map_err(|e| fail(e.into_error().into()))
}

/// `name`, the model fields of the long-form CSV, `last_audit`.
fn model_row(m: &ModelKpis) -> Vec<(&'static str, String)> {
    let mut row = vec![("name", m.name.clone())];
    row.extend(model_fields(m));
    row.push(("last_audit", m.last_audit.clone().unwrap_or_default()));
    row
}

#[derive(Serialize, Default)]
struct PortfolioRow {
    tier: &'static str,
    kpi: &'static str,
    value: String,
    target: String,
    met: String,
    numerator: String,
    denominator: String,
}

/// `data/kpis/portfolio.csv`: the portfolio KPIs, overall and high tier.
pub fn portfolio_csv(doc: &Document) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for (tier, table) in [("all", &doc.portfolio), ("high", &doc.portfolio_high)] {
        for (kpi, k) in &table.0 {
            rows.push(PortfolioRow {
                tier,
                kpi: kpi.name(),
                value: opt(k.value),
                target: opt(k.target),
                met: opt(k.met),
                numerator: opt(k.numerator),
                denominator: opt(k.denominator),
            });
        }
    }
    write_csv(&rows, "portfolio.csv")
}

#[derive(Serialize, Default)]
struct ScoreRow {
    system: String,
    framework: String,
    assessed_on: String,
    assessor: String,
    control: String,
    title: String,
    score: String,
    status: String,
    finding: String,
    evidence: String,
    missing_evidence: String,
    severity: String,
    blast_radius: String,
    fix_days: String,
    owner: String,
    maps_to: String,
}

/// `data/audits/scores.csv`: every control of every latest audit.
pub fn scores_csv(doc: &Document) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for a in &doc.audits {
        for c in &a.controls {
            rows.push(ScoreRow {
                system: a.system.clone(),
                framework: a.framework.clone(),
                assessed_on: a.assessed_on.clone(),
                assessor: a.assessor.clone(),
                control: c.id.clone(),
                title: c.title.clone(),
                score: opt(c.score),
                status: c.status.to_string(),
                finding: c.finding.clone().unwrap_or_default(),
                evidence: c.evidence.join(";"),
                missing_evidence: c.missing_evidence.join(";"),
                severity: label(&c.severity),
                blast_radius: label(&c.blast_radius),
                fix_days: opt(c.fix_days),
                owner: c.owner.clone().unwrap_or_default(),
                maps_to: c.maps_to.join(";"),
            });
        }
    }
    write_csv(&rows, "scores.csv")
}

#[derive(Serialize, Default)]
struct RemediationRow {
    rank: usize,
    id: String,
    system: String,
    source: String,
    finding: String,
    severity: String,
    blast_radius: String,
    fix_days: String,
    owner: String,
    due: String,
    due_basis: String,
    status: String,
    response: String,
    responder: String,
    target_date: String,
}

/// `data/audits/remediation.csv`: the ranked plan, with due dates and management responses.
pub fn remediation_csv(doc: &Document) -> Result<Vec<u8>> {
    let rows: Vec<RemediationRow> = doc
        .remediation
        .iter()
        .map(|i| RemediationRow {
            rank: i.rank,
            id: i.id.clone(),
            system: i.system.clone(),
            source: i.source.clone(),
            finding: i.finding.clone(),
            severity: label(&i.severity),
            blast_radius: label(&i.blast_radius),
            fix_days: opt(i.fix_days),
            owner: i.owner.clone().unwrap_or_default(),
            due: i.tracking.due.clone().unwrap_or_default(),
            due_basis: i.tracking.due_basis.clone().unwrap_or_default(),
            status: label(&Some(i.tracking.status)),
            response: i.tracking.response.clone().unwrap_or_default(),
            responder: i.tracking.responder.clone().unwrap_or_default(),
            target_date: i.tracking.target_date.clone().unwrap_or_default(),
        })
        .collect();
    write_csv(&rows, "remediation.csv")
}

#[derive(Serialize, Default)]
struct ExceptionRow {
    id: String,
    system: String,
    control: String,
    reason: String,
    approved_by: String,
    granted_on: String,
    expires_on: String,
    status: String,
    closed_on: String,
    expired: bool,
    adherent: String,
    open_at_as_of: bool,
}

/// `data/audits/exceptions.csv`: the register, assessed at as_of.
pub fn exceptions_csv(doc: &Document) -> Result<Vec<u8>> {
    let rows: Vec<ExceptionRow> = doc
        .exceptions
        .iter()
        .map(|e| ExceptionRow {
            id: e.id.clone(),
            system: e.system.clone(),
            control: e.control.clone(),
            reason: e.reason.clone(),
            approved_by: e.approved_by.clone(),
            granted_on: e.granted_on.clone(),
            expires_on: e.expires_on.clone(),
            status: label(&Some(e.status)),
            closed_on: e.closed_on.clone().unwrap_or_default(),
            expired: e.expired,
            adherent: opt(e.adherent),
            open_at_as_of: e.open_at_as_of,
        })
        .collect();
    write_csv(&rows, "exceptions.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Default)]
    struct Two {
        a: String,
        b: u32,
    }

    #[test]
    fn empty_tables_keep_their_header() {
        assert_eq!(write_csv::<Two>(&[], "t").unwrap(), b"a,b\n");
        let rows = [Two {
            a: "x,y".into(),
            b: 3,
        }];
        assert_eq!(write_csv(&rows, "t").unwrap(), b"a,b\n\"x,y\",3\n");
    }
}
