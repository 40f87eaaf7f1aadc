//! Log data from more than one engine, put together (issue 22): the sources read here in one
//! pass, and each `engine: spark` source summarised on its cluster. In: each part's log data.
//! Out: one, with every part's files and rejects, in config order (the sources read here first).
//! Guarantees: a model's summary comes from exactly one part — exact quantiles, the longest gap
//! and PSI bins cannot be put together from two summaries, so a model with accepted records in
//! two parts is an error naming it and both, never an approximation.

use std::collections::BTreeMap;

use super::{FileRead, LogData, LogFile, Reason, Rejected, SparkRun, spark};
use crate::config::{Config, LogFormat, SparkSource};
use crate::error::{Error, Result};

/// The parts as one: files and rejects in order; each model's summary from its one part.
pub(super) fn merge(parts: Vec<LogData>) -> Result<LogData> {
    let mut out = LogData::default();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for part in parts {
        let name = part_name(&part);
        for (model, summary) in part.models {
            if let Some(first) = owner.get(&model) {
                return Err(Error::Logs {
                    path: "sources.logs".into(),
                    line: None,
                    message: format!(
                        "model `{model}` has records in {first} and in {name}: its exact \
                         quantiles, longest gap and drift bins cannot be put together from two \
                         summaries; read its records with one engine (or give each engine's \
                         sources other models)"
                    ),
                });
            }
            owner.insert(model.clone(), name.clone());
            out.models.insert(model, summary);
        }
        out.configured |= part.configured;
        out.files.extend(part.files);
        out.rejected.extend(part.rejected);
    }
    Ok(out)
}

/// How a part is named in an error: its Spark source, or the sources read here.
fn part_name(part: &LogData) -> String {
    match part.files.first() {
        Some(f) if f.spark.is_some() => f.account.path.clone(),
        _ => "the log files read here".into(),
    }
}

/// Log source `index`, summarised on Spark: the summary, and the source's account (its records
/// by code; Spark has no lines, so no reject names one).
pub(super) fn read_on_spark(config: &Config, index: usize, spark: &SparkSource) -> Result<LogData> {
    let Some(source) = config.logs.get(index) else {
        return Err(Error::Internal(format!("no log source {index}")));
    };
    let shown = spark.shown();
    let scope = &config.scope.systems;
    let summary = spark::summarise(
        spark,
        (&source.fields, &source.success),
        config.period,
        scope,
    )
    .map_err(|message| Error::Logs {
        path: shown.clone().into(),
        line: None,
        message,
    })?;
    let asked = spark.excerpt_rows.is_some();
    let mut data = spark_data(shown, (index, asked), summary);
    if config.scope.is_scoped() {
        // As for files: a source with no record of the named systems is no part of the account.
        data.files
            .retain(|f| f.account.accepted + f.account.outside_period > 0);
        if data.files.is_empty() {
            data.rejected.clear();
        }
    }
    Ok(data)
}

/// A Spark run as the log stage's output.
fn spark_data(
    shown: String,
    (index, asked): (usize, bool),
    summary: spark::SparkSummary,
) -> LogData {
    let code = |c: &str| summary.codes.get(c).copied().unwrap_or(0);
    let rejected: Vec<Rejected> = Reason::ALL
        .iter()
        .filter(|r| code(r.label()) > 0)
        .map(|r| Rejected {
            source: shown.clone(),
            reason: *r,
            count: code(r.label()),
            first_line: None,
        })
        .collect();
    let records: u64 = summary.codes.values().sum();
    let account = LogFile {
        path: shown.clone(),
        format: "spark",
        records,
        accepted: code(spark::ACCEPTED),
        outside_period: code(spark::OUTSIDE),
        rejected: rejected.iter().map(|r| r.count).sum(),
        non_records: BTreeMap::new(),
        lines: records,
        models: summary
            .models
            .iter()
            .map(|(m, s)| (m.clone(), s.requests))
            .collect(),
    };
    LogData {
        configured: true,
        models: summary.models,
        files: vec![FileRead {
            path: shown.into(),
            format: LogFormat::Parquet,
            source: index,
            account,
            scoped_rows: None,
            bad_lines: Vec::new(),
            materialised: None,
            spark: Some(SparkRun {
                sql: summary.sql,
                version: summary.version,
                files: summary.files,
                started: summary.started,
                finished: summary.finished,
                excerpt: asked.then_some(summary.excerpt),
                table: summary.table,
            }),
        }],
        rejected,
    }
}
