//! The conversation with the Spark driver (issue 22): it reports Spark's version, the source's
//! schema, files and (for a table) catalog facts; dossier hands it the statements for that schema
//! through the shared folder; it sends back every result row. In: the driver's stdout. Out: the
//! run's summary. Guarantees: only lines that start `DOSSIER\t` are replies; a reply that is not
//! JSON, an error reply, a row of an unexpected shape or a stop before `done` is an error, never a
//! figure; statements are written whole and renamed, so the driver never reads half a file.

use std::io::{BufRead, BufReader};

use serde_json::Value;

use super::{SparkFile, SparkSummary, sql};
use crate::config::{FieldMap, Period};
use crate::ingest::logs::summary::{PSI_BINS, PSI_MIN_PERIOD_DAYS, PsiBins};

/// The conversation with the driver: the source's schema, the statements, the rows.
pub(super) fn talk(
    child: &mut std::process::Child,
    folder: &std::path::Path,
    (fields, success): (&FieldMap, &[String]),
    (period, scope, excerpt): (Period, &[String], Option<u64>),
) -> Result<SparkSummary, String> {
    let stdout = child.stdout.take().ok_or("no pipe from the Spark driver")?;
    let mut replies = BufReader::new(stdout).lines();
    let mut next = || -> Result<Value, String> {
        for line in replies.by_ref() {
            let line = line.map_err(|e| format!("cannot read the Spark driver's reply: {e}"))?;
            if let Some(json) = line.strip_prefix("DOSSIER\t") {
                let reply: Value = serde_json::from_str(json)
                    .map_err(|e| format!("the Spark driver's reply is not JSON: {e}"))?;
                if reply["kind"] == "error" {
                    return Err(format!(
                        "Spark: {}",
                        reply["message"].as_str().unwrap_or("?")
                    ));
                }
                return Ok(reply);
            }
        }
        Err("Spark stopped before it replied".into())
    };
    let about = next()?;
    let mut statements = sql::statements(&about["schema"], (fields, success), period, scope)?;
    statements.extend(excerpt.map(sql::excerpt));
    // Written whole, then renamed: the driver never reads half a file.
    let queries = serde_json::json!({"queries": statements});
    let partial = folder.join("statements.partial");
    std::fs::write(&partial, queries.to_string())
        .and_then(|_| std::fs::rename(&partial, folder.join("statements.json")))
        .map_err(|e| format!("cannot hand the Spark driver its statements: {e}"))?;
    let mut out = SparkSummary {
        version: about["version"].as_str().unwrap_or_default().to_string(),
        files: about["files"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|v| {
                        Some(SparkFile {
                            path: v.get(0)?.as_str()?.to_string(),
                            size: v.get(1).and_then(Value::as_u64),
                            modified_ms: v.get(2).and_then(Value::as_i64),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        table: about["table"]
            .as_array()
            .map(|facts| {
                facts
                    .iter()
                    .filter_map(|f| Some((f.get(0)?.as_str()?.into(), f.get(1)?.as_str()?.into())))
                    .collect()
            })
            .unwrap_or_default(),
        sql: statements
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect(),
        ..SparkSummary::default()
    };
    loop {
        let reply = next()?;
        match reply["kind"].as_str() {
            Some("done") => break,
            Some("row") => add_row(&mut out, &reply["query"], &reply["row"], period)?,
            _ => {
                return Err(format!(
                    "an unexpected reply from the Spark driver: {reply}"
                ));
            }
        }
    }
    Ok(out)
}

/// One result row into the summary.
fn add_row(
    out: &mut SparkSummary,
    query: &Value,
    row: &Value,
    period: Period,
) -> Result<(), String> {
    let bad = || format!("an unexpected row from Spark ({query}): {row}");
    let text = |k: &str| row[k].as_str().map(String::from);
    let count = |k: &str| row[k].as_u64().ok_or_else(bad);
    if query == "excerpt" {
        out.excerpt.push(text("record").ok_or_else(bad)?);
        return Ok(());
    }
    if query == "codes" {
        *out.codes.entry(text("code").ok_or_else(bad)?).or_default() += count("n")?;
        return Ok(());
    }
    let model = out
        .models
        .entry(text("model").ok_or_else(bad)?)
        .or_default();
    match query.as_str().unwrap_or_default() {
        "models" => {
            model.requests = count("requests")?;
            model.with_status = count("with_status")?;
            model.errors = count("errors")?;
            let q = |i: usize| row["latency_q"].get(i).and_then(Value::as_f64);
            (
                model.latency_p50_ms,
                model.latency_p95_ms,
                model.latency_p99_ms,
            ) = (q(0), q(1), q(2));
            model.score_mean = row["score_mean"].as_f64();
            model.first_ts = row["first_ts"].as_i64();
            model.last_ts = row["last_ts"].as_i64();
        }
        "gaps" => model.longest_inner_gap_ns = row["gap"].as_i64(),
        "daily" => {
            let day = row["day"].as_i64().ok_or_else(bad)?;
            model.daily.insert(day, count("n")?);
        }
        "versions" => {
            model
                .versions
                .insert(text("version").ok_or_else(bad)?, count("n")?);
        }
        "psi" if period.days() >= PSI_MIN_PERIOD_DAYS => {
            let bins = model.psi_bins.get_or_insert_with(PsiBins::default);
            let window = if row["w"].as_u64() == Some(0) {
                &mut bins.first
            } else {
                &mut bins.last
            };
            let bin = usize::try_from(count("bin")?)
                .unwrap_or(PSI_BINS)
                .min(PSI_BINS - 1);
            if let Some(slot) = window.get_mut(bin) {
                *slot += count("n")?;
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
}
