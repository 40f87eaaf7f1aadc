//! The one pass over every log file. In: the files to read (`Input`s) and the config. Out:
//! `Gathered` — per (file, code) counts with the first row of each, the lines that are not JSON,
//! the accepted records per file and model, a scoped build's in-scope rows, and the per-model
//! tallies (in a scoped build only the named systems'). JSON-lines files go to `jsonl` (8 MiB
//! slices of whole lines, every core). Small CSV files with the same header share one Polars
//! reader; big CSVs and Parquet are scanned whole, up to 256 to a query. A query costs
//! milliseconds however small its input, so thousands of hourly files cost about what one file of
//! their size does. Two sinks per query only: a third makes Polars parse the input twice.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;

use super::batch::{Batch, MAX_BATCH_FILES, csv_group_key, flush_csv};
use super::classify::{ACCEPTED, canonical, period_bounds_ns};
use super::read::scan_file;
use super::tally::{Gathered, Window};
use super::{Input, is_json};
use crate::config::Config;
use crate::error::{Error, Result, contain};

/// Every file read once: JSON-lines files by `jsonl` on every core, CSV and Parquet files by
/// Polars in as few queries as their count allows.
pub(super) fn scan_all(config: &Config, inputs: &[Input]) -> Result<Gathered> {
    let (start, end) = period_bounds_ns(config.period);
    let mut out = Gathered::default();
    let sizes: Vec<u64> = inputs
        .iter()
        .map(|i| std::fs::metadata(&i.path).map_or(0, |m| m.len()))
        .collect();
    let bar = crate::progress::Bar::bytes("reading logs", sizes.iter().sum());
    if inputs.iter().any(|i| is_json(i.format)) {
        super::jsonl::read_all(config, inputs, &mut out, &bar)?;
    }
    let mut whole = Batch::default();
    let mut csv: BTreeMap<(usize, Vec<u8>), Vec<usize>> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        if is_json(input.format) {
            continue;
        }
        // CSV and Parquet files are read by Polars whole: counted when they are queued.
        bar.inc(sizes.get(i).copied().unwrap_or(0));
        let source = &config.logs[input.source];
        if let Some(header) = csv_group_key(input)? {
            let group = csv.entry((input.source, header)).or_default();
            group.push(i);
            if group.len() >= MAX_BATCH_FILES {
                let members = std::mem::take(group);
                flush_csv(config, inputs, (&members, (start, end)), &mut out)?;
            }
            continue;
        }
        let lf = contain(&input.path, "reading the log file", || {
            scan_file(input, source)
        })?;
        whole.push(canonical(lf, source, Some(i as u32), start, end), input);
        if whole.is_full() {
            whole.flush(config, inputs, &mut out)?;
        }
    }
    whole.flush(config, inputs, &mut out)?;
    for members in csv.into_values().filter(|m| !m.is_empty()) {
        flush_csv(config, inputs, (&members, (start, end)), &mut out)?;
    }
    bar.finish();
    for rows in out.rows.values_mut() {
        rows.sort_unstable();
    }
    Ok(out)
}

/// How much of a JSON-lines file a worker is given at a time: 8 MiB, or
/// `DOSSIER_LOG_SLICE_BYTES` (for tests that cross slice boundaries on small files).
pub(super) fn slice_bytes() -> usize {
    std::env::var("DOSSIER_LOG_SLICE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(8 << 20)
}

/// One streaming query over `frames`: per-file reject counts and the accepted records.
pub(super) fn collect_into(
    config: &Config,
    inputs: &[Input],
    frames: Vec<LazyFrame>,
    out: &mut Gathered,
) -> Result<()> {
    let mut all = concat(frames, UnionArgs::default()).map_err(|e| polars_error(inputs, e))?;
    if config.scope.is_scoped() {
        // A scoped request sees the named systems' records, and rejects no system can be told for.
        let in_scope = config
            .scope
            .systems
            .iter()
            .map(|s| col("model").eq(lit(s.as_str())))
            .fold(col("model").is_null(), |a, b| a.or(b));
        all = all.filter(in_scope);
    }
    // Two sinks only: a third makes Polars parse the input twice. Counts are per model too (the
    // per-file model account); a scoped build's records carry their file and row for excerpts.
    let counts = all
        .clone()
        .group_by([col("file"), col("code"), col("model")])
        .agg([
            len().cast(DataType::UInt64).alias("n"),
            col("row").min().alias("first_row"),
        ]);
    let scoped = config.scope.is_scoped();
    let mut columns: Vec<Expr> = RECORD_COLUMNS.map(col).to_vec();
    if scoped {
        columns.extend([col("file"), col("row")]);
    }
    let accepted = all.filter(col("code").eq(lit(ACCEPTED))).select(columns);
    let mut frames = LazyFrame::collect_all_with_engine(
        vec![counts.logical_plan, accepted.logical_plan],
        Engine::Streaming,
        OptFlags::default(),
    )
    .map_err(|e| polars_error(inputs, e))?;
    let window = Window::of(config.period);
    if let Some(records) = frames.pop() {
        if scoped {
            add_rows(&records, out).map_err(|e| polars_error(inputs, e))?;
        }
        out.add_frame(&records, &window)
            .map_err(|e| polars_error(inputs, e))?;
    }
    if let Some(counts) = frames.pop() {
        add_counts(&counts, out).map_err(|e| polars_error(inputs, e))?;
    }
    Ok(())
}

/// A query's counts per (file, code, model): the account's counts, and accepted per model.
fn add_counts(df: &DataFrame, out: &mut Gathered) -> PolarsResult<()> {
    let file = df.column("file")?.u32()?;
    let code = df.column("code")?.u32()?;
    let model = df.column("model")?.str()?;
    let n = df.column("n")?.u64()?;
    let first = df.column("first_row")?.cast(&DataType::UInt64)?;
    let first = first.u64()?;
    for i in 0..df.height() {
        let (Some(f), Some(c), Some(k)) = (file.get(i), code.get(i), n.get(i)) else {
            continue;
        };
        out.count((f, c), k, first.get(i).unwrap_or(0));
        if let (ACCEPTED, Some(m)) = (c, model.get(i)) {
            *out.models
                .entry(f)
                .or_default()
                .entry(m.to_string())
                .or_default() += k;
        }
    }
    Ok(())
}

/// A scoped build's accepted records' (file, row).
fn add_rows(df: &DataFrame, out: &mut Gathered) -> PolarsResult<()> {
    let file = df.column("file")?.u32()?;
    let row = df.column("row")?.u64()?;
    for (f, r) in file.iter().zip(row.iter()) {
        if let (Some(f), Some(r)) = (f, r) {
            out.rows.entry(f).or_default().push(r);
        }
    }
    Ok(())
}

const RECORD_COLUMNS: [&str; 7] = [
    "model",
    "version",
    "ts",
    "latency",
    "score",
    "has_status",
    "is_error",
];

/// Name the file when there is one; Polars' own message says what went wrong.
pub(super) fn polars_error(inputs: &[Input], e: PolarsError) -> Error {
    let path = match inputs {
        [one] => one.path.clone(),
        _ => PathBuf::from("sources.logs"),
    };
    Error::Logs {
        path,
        line: None,
        message: e.to_string(),
    }
}
