//! The evidence of a log source summarised on Spark (`engine: spark`, docs/spark.md). In: the
//! log stage's Spark runs. Out: per source, the file of statements an auditor reruns
//! (`evidence/logs/spark-summary-N.sql`) and its rows in `sources.csv`: every file Spark read,
//! with the size and time its file system gave; and, when asked (`excerpt_rows`), the records
//! Spark brought back (`evidence/logs/spark-excerpt-N.ndjson`), minimised and redacted as any
//! log extract. Guarantees: no hash is claimed for a file whose bytes dossier never read (the
//! records stay on the cluster): its `sha256` is empty; the statements say how many records the
//! excerpt holds of how many, and its size.

use super::generated::Generated;
use super::inputs::Described;
use super::minimise::{Field, Minimise};
use crate::config::{Config, LogFormat};
use crate::error::{Error, Result};
use crate::ingest::Evidence;
use crate::vocab::{InputRole, layout};

/// Where the statements of the `n`th log source go, under `data/`.
fn summary_dest(n: usize) -> String {
    format!("evidence/logs/spark-summary-{n}.sql")
}

/// Where the excerpt of the `n`th log source goes, under `data/`.
fn excerpt_dest(n: usize) -> String {
    format!("evidence/logs/spark-excerpt-{n}.ndjson")
}

/// The excerpts Spark brought back, as minimised extracts: one object per record, `file` the
/// source, `rank` its place in time order, then its mapped fields (those in `bundle.redact` as
/// `hmac-sha256:` with `key`).
pub(super) fn excerpts(
    config: &Config,
    evidence: &Evidence,
    key: [u8; 32],
) -> Result<Vec<Generated>> {
    let mut out = Vec::new();
    for (n, file) in evidence.logs.files.iter().enumerate() {
        let Some(records) = file.spark.as_ref().and_then(|r| r.excerpt.as_ref()) else {
            continue;
        };
        let Some(source) = config.logs.get(file.source) else {
            continue;
        };
        let plan = Minimise {
            format: LogFormat::Parquet,
            fields: source.fields.clone(),
            rows: None,
            bad_lines: Vec::new(),
            redact: config.bundle.redact.clone(),
            key,
            shown: file.account.path.clone(),
        };
        let mut bytes = Vec::new();
        for (rank, text) in records.iter().enumerate() {
            // What Spark sends is input like any other: an error naming the source, not a bug.
            let record: serde_json::Value =
                serde_json::from_str(text).map_err(|e| Error::Logs {
                    path: file.account.path.clone().into(),
                    line: None,
                    message: format!("Spark sent an excerpt record that is not JSON ({e})"),
                })?;
            plan.record_into(&mut bytes, ("rank", rank as u64), |name, _| {
                record.get(name).cloned().map(Field::Value)
            });
        }
        out.push(Generated {
            dest: excerpt_dest(n),
            bytes,
            system: None,
        });
    }
    Ok(out)
}

/// For each log source summarised on Spark, what an auditor needs to rerun it: the engine, its
/// version and master, the source and the files Spark read, the records by code, then every
/// statement in the order it ran (`evidence/logs/spark-summary-N.sql`).
pub(super) fn statements(
    config: &Config,
    evidence: &Evidence,
    excerpts: &[Generated],
) -> Vec<Generated> {
    let mut out = Vec::new();
    for (n, file) in evidence.logs.files.iter().enumerate() {
        let Some(run) = &file.spark else {
            continue;
        };
        let master = config
            .logs
            .get(file.source)
            .and_then(|s| s.spark.as_ref())
            .map(|s| s.master.clone())
            .unwrap_or_default();
        let a = &file.account;
        let bytes: u64 = run.files.iter().filter_map(|f| f.size).sum();
        let mut text = format!(
            "-- dossier log summary run on Spark {} (master {master}), {} to {}\n\
             -- source: {}\n-- records {}: accepted {}, outside the period {}, rejected {}\n",
            run.version,
            run.started,
            run.finished,
            a.path,
            a.records,
            a.accepted,
            a.outside_period,
            a.rejected,
        );
        for (fact, value) in &run.table {
            let value = value.replace('\n', " ");
            text.push_str(&format!("-- table {fact}: {value}\n"));
        }
        text.push_str(&format!(
            "-- files read ({}, {bytes} bytes; a size is `?` where the file system gave none):\n",
            run.files.len()
        ));
        for f in &run.files {
            let size = f.size.map_or("?".into(), |s| s.to_string());
            text.push_str(&format!("--   {size}\t{}\n", f.path.replace('\n', " ")));
        }
        if let Some(records) = &run.excerpt {
            let dest = excerpt_dest(n);
            let bytes = excerpts
                .iter()
                .find(|g| g.dest == dest)
                .map_or(0, |g| g.bytes.len());
            text.push_str(&format!(
                "-- excerpt (statement `excerpt`): the first {} of the {} accepted records in \
                 scope, by time, minimised in {dest} ({bytes} bytes)\n",
                records.len(),
                a.accepted,
            ));
        }
        text.push_str("-- The source is registered as the view dossier_logs; then, in order:\n\n");
        for (name, sql) in &run.sql {
            text.push_str(&format!("-- {name}\n{sql};\n\n"));
        }
        out.push(Generated {
            dest: summary_dest(n),
            bytes: text.into_bytes(),
            system: None,
        });
    }
    out
}

/// The rows of `sources.csv` for the sources summarised on Spark: each file Spark read, pointing
/// at the statements that summarised it; the source itself when Spark named no file (a table
/// not backed by files).
pub(super) fn described(evidence: &Evidence) -> Vec<Described> {
    let mut out = Vec::new();
    for (n, file) in evidence.logs.files.iter().enumerate() {
        let Some(run) = &file.spark else {
            continue;
        };
        let bundle_path = format!("{}{}", layout::DATA, summary_dest(n));
        let row = |path: &str, size: Option<u64>, modified_ms: Option<i64>| Described {
            role: InputRole::LogSummary,
            path: path.into(),
            size,
            mtime: modified_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            sha256: String::new(),
            bundle_path: bundle_path.clone(),
        };
        match run.files.is_empty() {
            true => out.push(row(&file.account.path, None, None)),
            false => out.extend(
                run.files
                    .iter()
                    .map(|f| row(&f.path, f.size, f.modified_ms)),
            ),
        }
    }
    out
}
