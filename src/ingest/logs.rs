//! Inference-log extracts in (SPEC §3.2: Splunk exports, Elasticsearch dumps, NDJSON, CSV,
//! Parquet), one Polars table of the period's accepted records out, with every record accounted
//! for: each file's records are either accepted inside the period, outside the period, or
//! rejected with a reason, and the three add up to what the file holds. Polars scans the files
//! lazily with only the mapped fields projected, and one streaming query feeds both the reject
//! counts and the accepted records, so memory follows those columns, not the size of the file.
//! JSON-lines files reach Polars in 64 MiB slices of whole lines, because a file Polars scans is
//! memory-mapped and every page it has touched stays resident until the scan ends.
//! A line that is not JSON at all is found by a second, line-by-line pass over that file only
//! (Polars refuses the whole file), counted with its line number, and the rest is read as usual.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use crate::config::{Config, FieldMap, LogFormat, LogSource, Period};
use crate::error::{Error, Result};

/// Why a record was not accepted. The numbers are the `code` column of the scan.
pub const OUTSIDE_PERIOD: u8 = 1;
const REASONS: [(u8, &str); 6] = [
    (2, "not JSON"),
    (3, "no timestamp"),
    (4, "unparseable timestamp"),
    (5, "no model"),
    (6, "non-numeric latency"),
    (7, "non-numeric score"),
];
const NOT_JSON: u8 = 2;

const NS_PER_SEC: i64 = 1_000_000_000;
pub const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

/// The accepted records of the period and the account of every file read.
#[derive(Debug, Clone, Default)]
pub struct LogData {
    /// `false` when the config lists no log source: operational KPIs are then n/a, not zero.
    pub configured: bool,
    /// Columns: `model` (str), `version` (str), `ts` (i64 ns since the epoch, UTC), `latency`
    /// (f64), `score` (f64), `has_status` (bool), `is_error` (bool).
    pub records: DataFrame,
    pub files: Vec<LogFile>,
    pub rejected: Vec<Rejected>,
}

/// One file read, as the data-quality section reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogFile {
    pub path: String,
    pub format: &'static str,
    pub records: u64,
    pub accepted: u64,
    pub outside_period: u64,
    pub rejected: u64,
    /// Accepted records of the period per model name.
    pub models: BTreeMap<String, u64>,
    /// In a scoped build, the rows (0-based, as Polars numbers them) of the in-scope records
    /// accepted in the period: what goes into the bundle's excerpt of this file.
    #[serde(skip)]
    pub scoped_rows: Option<Vec<u64>>,
    #[serde(skip)]
    pub format_kind: Option<LogFormat>,
    /// The lines Polars could not read (not JSON), which an excerpt must skip as it did.
    #[serde(skip)]
    pub bad_lines: Vec<u64>,
}

/// SPEC §4 `rejected[]`: records of one file rejected for one reason.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    pub source: String,
    pub reason: &'static str,
    pub count: u64,
    /// The first such record's line in the file (1-based; a CSV header is line 1).
    pub first_line: Option<u64>,
}

/// A file to scan, its format decided, and how many lines were not JSON.
struct Input {
    path: PathBuf,
    format: LogFormat,
    source: usize,
    /// Lines that are not JSON (1-based line numbers), found only when Polars refused the file.
    bad_lines: Vec<u64>,
    /// A copy without the bad lines, scanned in the file's place.
    cleaned: Option<tempfile::NamedTempFile>,
}

pub fn read_all(config: &Config, warnings: &mut Vec<String>) -> Result<LogData> {
    if config.logs.is_empty() {
        return Ok(LogData::default());
    }
    let mut inputs = Vec::new();
    for (i, source) in config.logs.iter().enumerate() {
        let what = format!("sources.logs[{i}].path");
        let files = super::expand_globs(std::slice::from_ref(&source.pattern), &what, warnings)?;
        for path in files {
            let format = match source.format {
                Some(f) => f,
                None => detect_format(&path)?,
            };
            inputs.push(Input {
                path,
                format,
                source: i,
                bad_lines: Vec::new(),
                cleaned: None,
            });
        }
    }
    let scanned = match scan_all(config, &inputs) {
        Ok(out) => out,
        Err(first) => {
            // Polars stops at the first line that is not JSON; find such lines, set them aside and
            // scan again. If there are none, the failure was something else: report it.
            let mut found = false;
            for input in inputs.iter_mut().filter(|i| is_json(i.format)) {
                found |= set_aside_bad_lines(input)?;
            }
            if !found {
                return Err(first);
            }
            scan_all(config, &inputs)?
        }
    };
    let (mut files, mut rejected) = account(&inputs, &scanned.counts)?;
    for (i, file) in files.iter_mut().enumerate() {
        let i = i as u32;
        file.models = scanned.models.get(&i).cloned().unwrap_or_default();
        if !config.scope.systems.is_empty() {
            file.scoped_rows = Some(scanned.rows.get(&i).cloned().unwrap_or_default());
        }
    }
    if !config.scope.systems.is_empty() {
        // Only files holding records of the named systems belong to a scoped account.
        files.retain(|f| f.accepted + f.outside_period > 0);
        rejected.retain(|r| files.iter().any(|f| f.path == r.source));
    }
    if config.strict
        && let Some(r) = rejected.first()
    {
        return Err(Error::Logs {
            path: PathBuf::from(&r.source),
            line: r.first_line,
            message: format!("record rejected: {} (--strict)", r.reason),
        });
    }
    Ok(LogData {
        configured: true,
        records: scanned.records,
        files,
        rejected,
    })
}

fn is_json(format: LogFormat) -> bool {
    matches!(
        format,
        LogFormat::Splunk | LogFormat::Elasticsearch | LogFormat::Ndjson
    )
}

pub fn format_label(format: LogFormat) -> &'static str {
    match format {
        LogFormat::Splunk => "splunk",
        LogFormat::Elasticsearch => "elasticsearch",
        LogFormat::Ndjson => "ndjson",
        LogFormat::Csv => "csv",
        LogFormat::Parquet => "parquet",
    }
}

/// From the extension; a JSON file's first record tells a Splunk export (`result` object) and an
/// Elasticsearch dump (`_source` object) from plain NDJSON.
fn detect_format(path: &Path) -> Result<LogFormat> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => return Ok(LogFormat::Csv),
        "parquet" | "pq" => return Ok(LogFormat::Parquet),
        "json" | "jsonl" | "ndjson" | "log" => {}
        _ => {
            return Err(Error::Logs {
                path: path.to_path_buf(),
                line: None,
                message: "cannot tell the log format from the extension; set `format`".into(),
            });
        }
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    for line in BufReader::new(file).lines().take(100) {
        let line = line.map_err(|e| Error::io("cannot read", path, e))?;
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_str(&line) else {
            continue;
        };
        return Ok(if obj.get("result").is_some_and(|v| v.is_object()) {
            LogFormat::Splunk
        } else if obj.get("_source").is_some_and(|v| v.is_object()) {
            LogFormat::Elasticsearch
        } else {
            LogFormat::Ndjson
        });
    }
    Ok(LogFormat::Ndjson)
}

// ---- the scan --------------------------------------------------------------------------------

/// One streaming query over every file: per (file, code) counts with the first row of each, and
/// the accepted records of the period.
fn scan_all(config: &Config, inputs: &[Input]) -> Result<Scanned> {
    let (start, end) = period_bounds_ns(config.period);
    let mut out = Collected::default();
    let mut whole_files = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let source = &config.logs[input.source];
        if !is_json(input.format) {
            let lf = scan_file(input, source, None)?;
            whole_files.push(canonical(lf, source, i as u32, start, end));
            continue;
        }
        // Polars memory-maps a file it scans, and every page it touches stays resident until
        // the scan ends; feeding it slices of whole lines keeps memory to one slice.
        let path = scan_path(input);
        let mut slices = LineSlices::open(&path, slice_bytes())?;
        while let Some((bytes, rows)) = slices.next_slice()? {
            let lf = scan_file(input, source, Some((bytes, slices.rows_before)))?;
            let lf = canonical(lf, source, i as u32, start, end);
            collect_into(config, inputs, vec![lf], &mut out)?;
            slices.rows_before += rows;
        }
    }
    if !whole_files.is_empty() {
        collect_into(config, inputs, whole_files, &mut out)?;
    }
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
struct Collected {
    counts: Vec<DataFrame>,
    records: Option<DataFrame>,
    /// Scoped builds only: `file`, `row` of every accepted in-scope record.
    rows: Vec<DataFrame>,
}

/// Reject counts, accepted records, accepted records per file and model, and (scoped builds)
/// the in-scope rows of each input.
struct Scanned {
    counts: DataFrame,
    records: DataFrame,
    models: BTreeMap<u32, BTreeMap<String, u64>>,
    rows: BTreeMap<u32, Vec<u64>>,
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
            if code.get(i) != Some(0) {
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
fn collect_into(
    config: &Config,
    inputs: &[Input],
    frames: Vec<LazyFrame>,
    out: &mut Collected,
) -> Result<()> {
    let mut all = concat(frames, UnionArgs::default()).map_err(|e| polars_error(inputs, e))?;
    if !config.scope.systems.is_empty() {
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
    let scoped = !config.scope.systems.is_empty();
    let mut columns: Vec<Expr> = RECORD_COLUMNS.map(col).to_vec();
    if scoped {
        columns.extend([col("file"), col("row")]);
    }
    let accepted = all.filter(col("code").eq(lit(0u32))).select(columns);
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

/// A JSON-lines file as consecutive slices of whole lines, each with its count of non-blank
/// lines (the rows Polars sees).
struct LineSlices {
    file: std::fs::File,
    path: PathBuf,
    size: usize,
    carry: Vec<u8>,
    done: bool,
    rows_before: u64,
}

impl LineSlices {
    fn open(path: &Path, size: usize) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            size,
            carry: Vec::new(),
            done: false,
            rows_before: 0,
        })
    }

    /// The next slice of whole lines holding at least one row, and its row count.
    fn next_slice(&mut self) -> Result<Option<(Vec<u8>, u64)>> {
        use std::io::Read;
        while !self.done {
            let mut buf = std::mem::take(&mut self.carry);
            let want = buf.len() + self.size;
            buf.reserve(self.size);
            while buf.len() < want {
                let n = (&mut self.file)
                    .take((want - buf.len()) as u64)
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::io("cannot read", &self.path, e))?;
                if n == 0 {
                    self.done = true;
                    break;
                }
            }
            if !self.done {
                // Keep the unfinished last line for the next slice; a slice without a line end
                // is one very long line, and grows until it has one.
                match buf.iter().rposition(|&b| b == b'\n') {
                    Some(i) => self.carry = buf.split_off(i + 1),
                    None => {
                        self.carry = buf;
                        continue;
                    }
                }
            }
            let rows = buf
                .split(|&b| b == b'\n')
                .filter(|line| !is_blank(line))
                .count() as u64;
            if rows > 0 {
                return Ok(Some((buf, rows)));
            }
            // Only blank lines: nothing for Polars, and no rows to number.
        }
        Ok(None)
    }
}

fn scan_path(input: &Input) -> PathBuf {
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
fn polars_error(inputs: &[Input], e: PolarsError) -> Error {
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

/// `[start, end)` of the period in ns: the first instant of the start day to the first instant
/// after the end day, so a record at 23:59:59.999 on the last day counts.
pub fn period_bounds_ns(period: Period) -> (i64, i64) {
    let at = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_utc().timestamp_nanos_opt())
            .unwrap_or(i64::MAX)
    };
    (at(period.start), at(period.end).saturating_add(NS_PER_DAY))
}

/// The raw fields of one file as columns `row`, `ts_raw`, `model`, `version`, `latency_raw`,
/// `status`, `score_raw`.
/// A JSON-lines file comes as a slice of its lines and the number of rows before the slice.
fn scan_file(
    input: &Input,
    source: &LogSource,
    slice: Option<(Vec<u8>, u64)>,
) -> Result<LazyFrame> {
    let path = scan_path(input);
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    let row_index = Some(RowIndex {
        name: "row".into(),
        offset: slice.as_ref().map_or(0, |s| s.1 as IdxSize),
    });
    let fields = field_list(&source.fields);
    let lf = match input.format {
        LogFormat::Splunk | LogFormat::Elasticsearch | LogFormat::Ndjson => {
            let paths: Vec<Vec<String>> = fields
                .iter()
                .map(|(_, p)| json_path(input.format, p))
                .collect();
            let schema = json_schema(&paths).map_err(|message| Error::Logs {
                path: input.path.clone(),
                line: None,
                message,
            })?;
            let reader = match slice {
                Some((bytes, _)) => {
                    LazyJsonLineReader::new_with_sources(ScanSources::Buffers(Arc::from([
                        polars_buffer::Buffer::from_vec(bytes),
                    ])))
                }
                None => LazyJsonLineReader::new(pl_path),
            };
            let lf = reader
                .with_schema(Some(Arc::new(schema)))
                .with_ignore_errors(true)
                .with_row_index(row_index)
                .finish()
                .map_err(|e| polars_error(std::slice::from_ref(input), e))?;
            let exprs: Vec<Expr> = fields
                .iter()
                .zip(&paths)
                .map(|((name, _), p)| nested(p).alias(*name))
                .collect();
            lf.select(std::iter::once(col("row")).chain(exprs).collect::<Vec<_>>())
        }
        LogFormat::Csv => {
            let lf = LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .with_row_index(row_index)
                .finish()
                .map_err(|e| polars_error(std::slice::from_ref(input), e))?;
            by_column(lf, input, &fields)?
        }
        LogFormat::Parquet => {
            let args = ScanArgsParquet {
                row_index,
                ..Default::default()
            };
            let lf = LazyFrame::scan_parquet(pl_path, args)
                .map_err(|e| polars_error(std::slice::from_ref(input), e))?;
            by_column(lf, input, &fields)?
        }
    };
    Ok(lf)
}

/// Canonical name → configured path, for the fields the KPIs use.
fn field_list(f: &FieldMap) -> [(&'static str, &str); 6] {
    [
        ("ts_raw", f.timestamp.as_str()),
        ("model", f.model.as_str()),
        ("version", f.version.as_str()),
        ("latency_raw", f.latency_ms.as_str()),
        ("status", f.status.as_str()),
        ("score_raw", f.score.as_str()),
    ]
}

/// Where a field sits in a JSON record. Splunk flattens nested fields into dotted keys, so a
/// Splunk path is one literal key inside `result`; Elasticsearch paths are inside `_source`.
fn json_path(format: LogFormat, path: &str) -> Vec<String> {
    match format {
        LogFormat::Splunk => vec!["result".into(), path.into()],
        LogFormat::Elasticsearch => std::iter::once("_source")
            .chain(path.split('.'))
            .map(String::from)
            .collect(),
        _ => path.split('.').map(String::from).collect(),
    }
}

/// A tree of the mapped paths as a read schema: every leaf a string (Polars writes JSON numbers
/// and booleans into string columns as their text), every inner node a struct.
fn json_schema(paths: &[Vec<String>]) -> std::result::Result<Schema, String> {
    #[derive(Default)]
    struct Node(BTreeMap<String, Node>, bool);
    let mut root = Node::default();
    for p in paths {
        let mut node = &mut root;
        for (i, key) in p.iter().enumerate() {
            node = node.0.entry(key.clone()).or_default();
            if i + 1 == p.len() {
                node.1 = true;
            }
        }
    }
    fn dtype(key: &str, node: &Node) -> std::result::Result<DataType, String> {
        match (node.0.is_empty(), node.1) {
            (true, _) => Ok(DataType::String),
            (false, true) => Err(format!(
                "`{key}` is mapped both as a field and as an object holding other fields"
            )),
            (false, false) => Ok(DataType::Struct(
                node.0
                    .iter()
                    .map(|(k, n)| dtype(k, n).map(|d| Field::new(k.as_str().into(), d)))
                    .collect::<std::result::Result<_, _>>()?,
            )),
        }
    }
    root.0
        .iter()
        .map(|(k, n)| dtype(k, n).map(|d| Field::new(k.as_str().into(), d)))
        .collect()
}

fn nested(path: &[String]) -> Expr {
    let mut expr = col(path[0].as_str());
    for key in &path[1..] {
        expr = expr.struct_().field_by_name(key);
    }
    expr
}

/// CSV and Parquet: a field is a column (a dotted path reaches into a Parquet struct column). A
/// missing timestamp or model column is an error; the others may be absent.
fn by_column(mut lf: LazyFrame, input: &Input, fields: &[(&str, &str)]) -> Result<LazyFrame> {
    let schema = lf
        .collect_schema()
        .map_err(|e| polars_error(std::slice::from_ref(input), e))?;
    let mut exprs = vec![col("row")];
    for (name, path) in fields {
        let parts: Vec<String> = if schema.contains(path) || input.format == LogFormat::Csv {
            vec![path.to_string()]
        } else {
            path.split('.').map(String::from).collect()
        };
        if schema.contains(&parts[0]) {
            exprs.push(nested(&parts).alias(*name));
        } else if matches!(*name, "ts_raw" | "model") {
            return Err(Error::Logs {
                path: input.path.clone(),
                line: None,
                message: format!(
                    "no column `{path}` for the {}; columns: {}",
                    if *name == "model" {
                        "model"
                    } else {
                        "timestamp"
                    },
                    schema
                        .iter_names()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        } else {
            exprs.push(lit(NULL).cast(DataType::String).alias(*name));
        }
    }
    Ok(lf.select(exprs))
}

/// Parse and classify: `code` 0 accepted, 1 outside the period, 3–7 a reject reason.
fn canonical(lf: LazyFrame, source: &LogSource, file: u32, start: i64, end: i64) -> LazyFrame {
    let ts = col("ts_raw").map(
        |c| parse_timestamps(&c).map(Column::from),
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
    );
    let number = |name: &str| {
        col(name).map(
            |c| parse_numbers(&c).map(Column::from),
            |_, f| Ok(Field::new(f.name().clone(), DataType::Float64)),
        )
    };
    let status = col("status").cast(DataType::String);
    let is_success = source
        .success
        .iter()
        .map(|s| status.clone().eq(lit(s.as_str())))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false));
    let model = col("model").cast(DataType::String);
    let code = when(col("ts_raw").is_null())
        .then(lit(3u32))
        .when(col("ts").is_null())
        .then(lit(4u32))
        .when(model.clone().is_null().or(model.clone().eq(lit(""))))
        .then(lit(5u32))
        .when(
            col("latency_raw")
                .is_not_null()
                .and(col("latency").is_null()),
        )
        .then(lit(6u32))
        .when(col("score_raw").is_not_null().and(col("score").is_null()))
        .then(lit(7u32))
        .when(col("ts").lt(lit(start)).or(col("ts").gt_eq(lit(end))))
        .then(lit(u32::from(OUTSIDE_PERIOD)))
        .otherwise(lit(0u32));
    lf.with_columns([
        ts.alias("ts"),
        number("latency_raw").alias("latency"),
        number("score_raw").alias("score"),
        model.alias("model"),
        col("version").cast(DataType::String).alias("version"),
        status.clone().is_not_null().alias("has_status"),
        status.is_not_null().and(is_success.not()).alias("is_error"),
    ])
    .with_columns([code.alias("code"), lit(file).alias("file")])
    .select([
        col("file").cast(DataType::UInt32),
        col("row").cast(DataType::UInt64),
        col("code").cast(DataType::UInt32),
        col("model"),
        col("version"),
        col("ts"),
        col("latency"),
        col("score"),
        col("has_status"),
        col("is_error"),
    ])
}

// ---- value parsing ---------------------------------------------------------------------------

/// Timestamps to ns since the epoch (UTC): RFC 3339 / ISO 8601 text with an offset, epoch
/// seconds or milliseconds (as numbers or digit strings; |v| ≥ 1e11 means milliseconds), or a
/// Parquet datetime. Anything else is null, which the caller rejects.
fn parse_timestamps(c: &Column) -> PolarsResult<Series> {
    let s = c.as_materialized_series();
    let name = s.name().clone();
    let out: Int64Chunked = match s.dtype() {
        DataType::String => s.str()?.iter().map(|v| v.and_then(parse_text_ts)).collect(),
        DataType::Datetime(unit, _) => {
            let factor = match unit {
                TimeUnit::Nanoseconds => 1,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1_000_000,
            };
            s.cast(&DataType::Int64)?
                .i64()?
                .iter()
                .map(|v| v.and_then(|v| v.checked_mul(factor)))
                .collect()
        }
        DataType::Null => Int64Chunked::full_null(name.clone(), s.len()),
        dt if dt.is_primitive_numeric() => s
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|v| v.and_then(epoch_ns))
            .collect(),
        _ => Int64Chunked::full_null(name.clone(), s.len()),
    };
    Ok(out.with_name(name).into_series())
}

fn parse_text_ts(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && text.bytes().any(|b| b.is_ascii_digit())
        && !text[1..].contains('-')
    {
        return epoch_text_ns(text);
    }
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%z"))
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

/// Digits with an optional sign and fraction, exactly (an f64 would lose the nanoseconds).
fn epoch_text_ns(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || fraction.contains('.') || fraction.contains('-') {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    // 1e11 s is the year 5138 and 1e11 ms is 1973: the magnitude tells the unit.
    let (unit_ns, scale) = if whole >= 100_000_000_000 {
        (1_000_000i64, 6)
    } else {
        (NS_PER_SEC, 9)
    };
    let mut frac_ns = 0i64;
    for (i, b) in fraction.bytes().take(scale).enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        frac_ns += i64::from(b - b'0') * 10i64.pow((scale - 1 - i) as u32);
    }
    let ns = whole.checked_mul(unit_ns)?.checked_add(frac_ns)?;
    Some(if negative { -ns } else { ns })
}

/// Epoch seconds or milliseconds, told apart by magnitude: 1e11 s is the year 5138, 1e11 ms is
/// 1973, so no real timestamp of either kind falls on the wrong side.
fn epoch_ns(v: f64) -> Option<i64> {
    if !v.is_finite() || v.abs() >= 9.2e15 {
        return None;
    }
    let unit = if v.abs() >= 1e11 { 1e6 } else { 1e9 };
    // Whole and fractional parts apart, so whole seconds stay exact.
    let whole = v.trunc();
    Some(whole as i64 * unit as i64 + ((v - whole) * unit).round() as i64)
}

/// Numbers as f64; text that is not a finite number is null, which the caller rejects.
fn parse_numbers(c: &Column) -> PolarsResult<Series> {
    let s = c.as_materialized_series();
    let name = s.name().clone();
    let out: Float64Chunked = match s.dtype() {
        DataType::String => s
            .str()?
            .iter()
            .map(|v| {
                v.and_then(|t| t.trim().parse::<f64>().ok())
                    .filter(|f| f.is_finite())
            })
            .collect(),
        DataType::Null => Float64Chunked::full_null(name.clone(), s.len()),
        dt if dt.is_primitive_numeric() => s.cast(&DataType::Float64)?.f64()?.clone(),
        _ => Float64Chunked::full_null(name.clone(), s.len()),
    };
    Ok(out.with_name(name).into_series())
}

// ---- lines that are not JSON -------------------------------------------------------------------

/// Find the lines Polars cannot parse; if any, write the others to a temporary copy that is
/// scanned instead. Returns whether any were found.
fn set_aside_bad_lines(input: &mut Input) -> Result<bool> {
    let path = input.path.clone();
    let file = std::fs::File::open(&path).map_err(|e| Error::io("cannot read", &path, e))?;
    let mut reader = BufReader::new(file);
    let mut bad = Vec::new();
    let mut copy: Option<std::io::BufWriter<tempfile::NamedTempFile>> = None;
    // Bytes before the first bad line, copied as they are once there is one.
    let mut good_prefix = 0u64;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("cannot read", &path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let text = trim_line(&buf);
        if text.is_empty() {
            if copy.is_none() {
                good_prefix += n as u64;
            }
            continue;
        }
        let ok = serde_json::from_slice::<serde_json::Value>(text).is_ok();
        if !ok {
            bad.push(line_no);
            if copy.is_none() {
                let mut tmp = tempfile::NamedTempFile::new()
                    .map_err(|e| Error::io("cannot create a temporary file for", &path, e))?;
                let prefix =
                    std::fs::File::open(&path).map_err(|e| Error::io("cannot read", &path, e))?;
                std::io::copy(&mut std::io::Read::take(prefix, good_prefix), &mut tmp)
                    .map_err(|e| Error::io("cannot write a temporary copy of", &path, e))?;
                copy = Some(std::io::BufWriter::with_capacity(1 << 20, tmp));
            }
            continue;
        }
        match copy.as_mut() {
            Some(tmp) => {
                tmp.write_all(text)
                    .and_then(|_| tmp.write_all(b"\n"))
                    .map_err(|e| Error::io("cannot write a temporary copy of", &path, e))?;
            }
            None => good_prefix += n as u64,
        }
    }
    input.bad_lines = bad;
    input.cleaned =
        match copy {
            Some(w) => Some(w.into_inner().map_err(|e| {
                Error::io("cannot write a temporary copy of", &path, e.into_error())
            })?),
            None => None,
        };
    Ok(!input.bad_lines.is_empty())
}

/// A line that is not a record. Every stage that numbers rows (Polars' reader, the not-JSON pass,
/// line numbers of rejects, excerpts) must agree on this.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    trim_line(line).is_empty()
}

fn trim_line(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    &buf[..end]
}

// ---- the account -------------------------------------------------------------------------------

/// Per-file totals and per-reason rejects, with the line of each reason's first record.
fn account(inputs: &[Input], counts: &DataFrame) -> Result<(Vec<LogFile>, Vec<Rejected>)> {
    let mut by_file: BTreeMap<(u32, u32), (u64, u64)> = BTreeMap::new();
    if counts.height() > 0 {
        let file = counts.column("file").and_then(|c| c.u32().cloned());
        let code = counts.column("code").and_then(|c| c.u32().cloned());
        let n = counts
            .column("n")
            .and_then(|c| c.cast(&DataType::UInt64))
            .and_then(|c| c.u64().cloned());
        let first = counts.column("first_row").and_then(|c| c.u64().cloned());
        let (Ok(file), Ok(code), Ok(n), Ok(first)) = (file, code, n, first) else {
            return Err(Error::Logs {
                path: PathBuf::from("sources.logs"),
                line: None,
                message: format!(
                    "unexpected shape of the record counts: {:?}",
                    counts.schema()
                ),
            });
        };
        for i in 0..counts.height() {
            if let (Some(f), Some(c), Some(n)) = (file.get(i), code.get(i), n.get(i)) {
                by_file.insert((f, c), (n, first.get(i).unwrap_or(0)));
            }
        }
    }
    let mut files = Vec::new();
    let mut rejected = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let get = |code: u8| by_file.get(&(i as u32, u32::from(code))).copied();
        let display = input.path.display().to_string();
        let mut file = LogFile {
            path: display.clone(),
            format: format_label(input.format),
            records: input.bad_lines.len() as u64,
            accepted: get(0).map_or(0, |x| x.0),
            outside_period: get(OUTSIDE_PERIOD).map_or(0, |x| x.0),
            rejected: input.bad_lines.len() as u64,
            models: BTreeMap::new(),
            scoped_rows: None,
            format_kind: Some(input.format),
            bad_lines: input.bad_lines.clone(),
        };
        file.records += file.accepted + file.outside_period;
        for (code, reason) in REASONS {
            let (count, first_line) = if code == NOT_JSON {
                match input.bad_lines.first() {
                    Some(l) => (input.bad_lines.len() as u64, Some(*l)),
                    None => continue,
                }
            } else {
                match get(code) {
                    Some((n, row)) => (n, line_of_row(input, row)?),
                    None => continue,
                }
            };
            if code != NOT_JSON {
                file.records += count;
                file.rejected += count;
            }
            rejected.push(Rejected {
                source: display.clone(),
                reason,
                count,
                first_line,
            });
        }
        files.push(file);
    }
    Ok((files, rejected))
}

/// The file line of a scanned row: CSV rows follow the header (quoted newlines aside); JSON rows
/// skip blank lines and lines that were set aside as not JSON.
fn line_of_row(input: &Input, row: u64) -> Result<Option<u64>> {
    match input.format {
        LogFormat::Csv => Ok(Some(row + 2)),
        LogFormat::Parquet => Ok(None),
        _ => {
            let file = std::fs::File::open(&input.path)
                .map_err(|e| Error::io("cannot read", &input.path, e))?;
            let mut seen = 0u64;
            let mut buf = Vec::new();
            let mut reader = BufReader::new(file);
            let mut line_no = 0u64;
            loop {
                buf.clear();
                let n = reader
                    .read_until(b'\n', &mut buf)
                    .map_err(|e| Error::io("cannot read", &input.path, e))?;
                if n == 0 {
                    return Ok(None);
                }
                line_no += 1;
                if is_blank(&buf) || input.bad_lines.binary_search(&line_no).is_ok() {
                    continue;
                }
                if seen == row {
                    return Ok(Some(line_no));
                }
                seen += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_accepted_shape() {
        // 2026-07-01T00:00:00Z is 1782864000 s since the epoch (date -d 2026-07-01T00:00:00Z +%s).
        let base = 1_782_864_000 * NS_PER_SEC;
        assert_eq!(parse_text_ts("2026-07-01T00:00:00Z"), Some(base));
        assert_eq!(parse_text_ts("2026-07-01T02:00:00+02:00"), Some(base));
        assert_eq!(
            parse_text_ts("2026-07-01T02:00:00.5+0200"),
            Some(base + NS_PER_SEC / 2)
        );
        assert_eq!(
            parse_text_ts("2026-06-30T23:59:59.123456789Z"),
            Some(base - NS_PER_SEC + 123_456_789)
        );
        assert_eq!(parse_text_ts("1782864000"), Some(base));
        assert_eq!(parse_text_ts("1782864000000"), Some(base));
        assert_eq!(parse_text_ts("1782864000.25"), Some(base + NS_PER_SEC / 4));
        assert_eq!(epoch_ns(1_782_864_000_123.0), Some(base + 123_000_000));
    }

    #[test]
    fn timestamps_without_zone_or_garbage_are_unparseable() {
        for bad in [
            "2026-07-01T00:00:00",
            "yesterday",
            "",
            "2026-13-01T00:00:00Z",
            "1-2-3",
        ] {
            assert_eq!(parse_text_ts(bad), None, "{bad}");
        }
    }

    #[test]
    fn period_bounds_include_the_whole_last_day() {
        let period = Period {
            start: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
        };
        let (start, end) = period_bounds_ns(period);
        assert_eq!(start, 1_782_864_000 * NS_PER_SEC);
        // 92 days later: 2026-10-01T00:00:00Z.
        assert_eq!(end, (1_782_864_000 + 92 * 86_400) * NS_PER_SEC);
    }

    #[test]
    fn a_path_cannot_be_both_a_field_and_an_object() {
        let paths = vec![
            vec!["model".to_string()],
            vec!["model".to_string(), "name".to_string()],
        ];
        assert!(json_schema(&paths).is_err());
        let ok = vec![
            vec!["_source".to_string(), "ts".to_string()],
            vec![
                "_source".to_string(),
                "model".to_string(),
                "name".to_string(),
            ],
        ];
        let schema = json_schema(&ok).unwrap();
        assert_eq!(schema.len(), 1);
    }

    #[test]
    fn line_slices_hold_every_record_line_whole() {
        // 7 lines, 5 of them non-blank; the last has no line end; one is longer than a slice.
        let text = b"{\"a\":1}\n\n{\"a\":2}\r\n{\"long\":\"xxxxxxxxxxxxxxxxxxxx\"}\n  \n{\"a\":3}\n{\"a\":4}";
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(text).unwrap();
        for size in [1, 5, 12, 1000] {
            let mut slices = LineSlices::open(tmp.path(), size).unwrap();
            let (mut joined, mut rows) = (Vec::new(), 0);
            while let Some((bytes, n)) = slices.next_slice().unwrap() {
                if !slices.done {
                    assert_eq!(bytes.last(), Some(&b'\n'), "slice size {size}");
                }
                joined.extend_from_slice(&bytes);
                rows += n;
            }
            // Slices of only blank lines are skipped; every line with a record is there, in order.
            let records = |b: &[u8]| -> Vec<Vec<u8>> {
                b.split(|&c| c == b'\n')
                    .filter(|l| !is_blank(l))
                    .map(<[u8]>::to_vec)
                    .collect()
            };
            assert_eq!(records(&joined), records(text), "slice size {size}");
            assert_eq!(rows, 5, "slice size {size}");
        }
    }
}
