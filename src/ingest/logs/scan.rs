//! The one streaming pass over every log file. In: the files to read (`Input`s) and the config.
//! Out: `Scanned` — per (file, code, model) counts with the first row of each, the accepted
//! records of the period (in a scoped build only the named systems', with their file and row for
//! the excerpts), and the accepted records per file and model. JSON-lines files reach Polars in
//! 64 MiB slices of whole lines, because a file Polars scans is memory-mapped and every page it
//! has touched stays resident until the scan ends; small files' slices share one buffer (up to
//! 64 MiB or 256 slices), their rows mapped back to each file's own. Small CSV files with the same
//! header share one reader; big CSVs and Parquet are scanned whole, up to 256 to a query. A query
//! costs milliseconds however small its input, so thousands of hourly files cost about what one
//! file of their size does. Two sinks per query only: a third makes Polars parse the input twice.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;

use super::batch::{Batch, JsonBatch, MAX_BATCH_FILES, csv_group_key, flush_csv};
use super::classify::{ACCEPTED, canonical, period_bounds_ns};
use super::lines::LineSlices;
use super::read::scan_file;
use super::{Input, is_json};
use crate::config::Config;
use crate::error::{Error, Result, contain};

/// One streaming query over every file: per (file, code) counts with the first row of each, and
/// the accepted records of the period.
pub(super) fn scan_all(config: &Config, inputs: &[Input]) -> Result<Scanned> {
    let (start, end) = period_bounds_ns(config.period);
    let mut out = Collected::default();
    let mut json = JsonBatch::default();
    let mut whole = Batch::default();
    let mut csv: BTreeMap<(usize, Vec<u8>), Vec<usize>> = BTreeMap::new();
    let sizes: Vec<u64> = inputs
        .iter()
        .map(|i| std::fs::metadata(scan_path(i)).map_or(0, |m| m.len()))
        .collect();
    let bar = crate::progress::Bar::bytes("reading logs", sizes.iter().sum());
    for (i, input) in inputs.iter().enumerate() {
        if !is_json(input.format) {
            // CSV and Parquet files are read by Polars whole: counted when they are queued.
            bar.inc(sizes.get(i).copied().unwrap_or(0));
        }
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
        if !is_json(input.format) {
            let lf = contain(&input.path, "reading the log file", || {
                scan_file(input, source, None)
            })?;
            whole.push(canonical(lf, source, Some(i as u32), start, end), input);
            if whole.is_full() {
                whole.flush(config, inputs, &mut out)?;
            }
            continue;
        }
        // Polars memory-maps a file it scans, and every page it touches stays resident until
        // the scan ends; feeding it slices of whole lines keeps memory to a slice or so. Small
        // files share one buffer: a query per file costs milliseconds each.
        if json.key() != Some((input.source, input.format)) {
            json.flush(config, inputs, (start, end), &mut out)?;
        }
        let path = scan_path(input);
        let mut slices = LineSlices::open(&path, slice_bytes())?;
        while let Some((bytes, rows)) = slices.next_slice()? {
            bar.inc(bytes.len() as u64);
            json.push(
                (i, (input.source, input.format)),
                (&bytes, slices.rows_before, rows),
            );
            slices.rows_before += rows;
            if json.is_full(slice_bytes()) {
                json.flush(config, inputs, (start, end), &mut out)?;
            }
        }
    }
    json.flush(config, inputs, (start, end), &mut out)?;
    whole.flush(config, inputs, &mut out)?;
    for members in csv.into_values().filter(|m| !m.is_empty()) {
        flush_csv(config, inputs, (&members, (start, end)), &mut out)?;
    }
    bar.finish();
    out.finish(inputs)
}

/// How much of a JSON-lines file Polars is given at a time: 64 MiB, or
/// `DOSSIER_LOG_SLICE_BYTES` (for tests that cross slice boundaries on small files).
fn slice_bytes() -> usize {
    std::env::var("DOSSIER_LOG_SLICE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(64 << 20)
}

/// The reject counts and accepted records of every scan so far.
#[derive(Default)]
pub(super) struct Collected {
    counts: Vec<DataFrame>,
    records: Option<DataFrame>,
    /// Scoped builds only: `file`, `row` of every accepted in-scope record.
    rows: Vec<DataFrame>,
}

/// Reject counts, accepted records, accepted records per file and model, and (scoped builds)
/// the in-scope rows of each input.
pub(super) struct Scanned {
    pub counts: DataFrame,
    pub records: DataFrame,
    pub models: BTreeMap<u32, BTreeMap<String, u64>>,
    pub rows: BTreeMap<u32, Vec<u64>>,
}

impl Collected {
    /// Counts summed over the slices of a file; records appended chunk by chunk, never copied.
    fn finish(self, inputs: &[Input]) -> Result<Scanned> {
        let rows = scoped_rows(inputs, &self.rows)?;
        let models = models_per_file(inputs, &self.counts)?;
        let records = self.records.unwrap_or_else(empty_records);
        if self.counts.is_empty() {
            return Ok(Scanned {
                counts: empty_counts(),
                records,
                models,
                rows,
            });
        }
        let frames: Vec<LazyFrame> = self.counts.into_iter().map(DataFrame::lazy).collect();
        let counts = concat(frames, UnionArgs::default())
            .and_then(|lf| {
                lf.group_by([col("file"), col("code")])
                    .agg([col("n").sum(), col("first_row").min()])
                    .collect()
            })
            .map_err(|e| polars_error(inputs, e))?;
        Ok(Scanned {
            counts,
            records,
            models,
            rows,
        })
    }
}

fn models_per_file(
    inputs: &[Input],
    frames: &[DataFrame],
) -> Result<BTreeMap<u32, BTreeMap<String, u64>>> {
    let mut out: BTreeMap<u32, BTreeMap<String, u64>> = BTreeMap::new();
    for df in frames {
        let file = df.column("file").and_then(|c| c.u32().cloned());
        let code = df.column("code").and_then(|c| c.u32().cloned());
        let model = df.column("model").and_then(|c| c.str().cloned());
        let n = df.column("n").and_then(|c| c.u64().cloned());
        let code = code.map_err(|e| polars_error(inputs, e))?;
        let (file, model, n) = match (file, model, n) {
            (Ok(f), Ok(m), Ok(n)) => (f, m, n),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return Err(polars_error(inputs, e));
            }
        };
        for i in 0..df.height() {
            if code.get(i) != Some(ACCEPTED) {
                continue;
            }
            if let (Some(f), Some(m), Some(n)) = (file.get(i), model.get(i), n.get(i)) {
                *out.entry(f).or_default().entry(m.to_string()).or_default() += n;
            }
        }
    }
    Ok(out)
}

fn scoped_rows(inputs: &[Input], frames: &[DataFrame]) -> Result<BTreeMap<u32, Vec<u64>>> {
    let mut out: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for df in frames {
        let file = df.column("file").and_then(|c| c.u32().cloned());
        let row = df.column("row").and_then(|c| c.u64().cloned());
        let (file, row) = match (file, row) {
            (Ok(f), Ok(r)) => (f, r),
            (Err(e), _) | (_, Err(e)) => return Err(polars_error(inputs, e)),
        };
        for (f, r) in file.iter().zip(row.iter()) {
            if let (Some(f), Some(r)) = (f, r) {
                out.entry(f).or_default().push(r);
            }
        }
    }
    for rows in out.values_mut() {
        rows.sort_unstable();
    }
    Ok(out)
}

/// One streaming query over `frames`: per-file reject counts and the accepted records.
pub(super) fn collect_into(
    config: &Config,
    inputs: &[Input],
    frames: Vec<LazyFrame>,
    out: &mut Collected,
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
    if let Some(mut records) = frames.pop() {
        if scoped {
            let where_from = records
                .select(["file", "row"])
                .map_err(|e| polars_error(inputs, e))?;
            out.rows.push(where_from);
            records = records
                .select(RECORD_COLUMNS)
                .map_err(|e| polars_error(inputs, e))?;
        }
        match out.records.as_mut() {
            Some(all) => {
                all.vstack_mut_owned(records)
                    .map_err(|e| polars_error(inputs, e))?;
            }
            None => out.records = Some(records),
        }
    }
    out.counts.extend(frames.pop());
    Ok(())
}

pub(super) fn scan_path(input: &Input) -> PathBuf {
    input
        .cleaned
        .as_ref()
        .map(|c| c.path().to_path_buf())
        .unwrap_or_else(|| input.path.clone())
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

fn empty_counts() -> DataFrame {
    DataFrame::empty()
}

fn empty_records() -> DataFrame {
    DataFrame::new_infer_height(vec![
        Column::new_empty("model".into(), &DataType::String),
        Column::new_empty("version".into(), &DataType::String),
        Column::new_empty("ts".into(), &DataType::Int64),
        Column::new_empty("latency".into(), &DataType::Float64),
        Column::new_empty("score".into(), &DataType::Float64),
        Column::new_empty("has_status".into(), &DataType::Boolean),
        Column::new_empty("is_error".into(), &DataType::Boolean),
    ])
    .unwrap_or_default()
}

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
