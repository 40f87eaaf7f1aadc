//! Inference-log extracts in (SPEC §3.2: Splunk exports, Elasticsearch dumps, NDJSON, CSV,
//! Parquet, and MLflow 3 traces, which `traces` writes as NDJSON first); out, the engine-neutral
//! summary of the period's accepted records per model (`summary`), with every record accounted
//! for: each file's records are either accepted inside the period, outside the period, or
//! rejected with a reason, and the three add up to what the file holds. The stages, in order:
//! `format` (which format, where the fields are); `scan`, one pass over every file — JSON lines
//! by `jsonl` on every core (`lines` cuts slices, `fields` reads a record's mapped fields,
//! `record` classifies it, a line that is not JSON is counted with its line number), CSV and
//! Parquet by Polars (`read`, `batch`, `classify` with `values`); both keep only `tally`'s
//! per-model counts and values; then `account` (per-file totals and rejects with their lines)
//! and `summary` (the tallies summarised per model).

mod account;
mod batch;
mod classify;
mod combine;
mod fields;
mod format;
mod jsonl;
mod lines;
mod read;
mod record;
mod rfc3339;
mod scan;
mod spark;
pub mod summary;
mod tally;
mod traces;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::config::{Config, LogFormat};
use crate::error::{Error, Result};

pub use classify::{NonRecord, Reason, period_bounds_ns, splunk_non_record};
pub(crate) use format::{is_map, json_path, map_value};
pub(crate) use lines::RecordLines;
pub use spark::SparkFile;
pub use summary::{ModelSummary, PsiBins};
pub use traces::TraceOrigin;

const NS_PER_SEC: i64 = 1_000_000_000;
pub const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

/// The log stage's output: the account of every file read and the engine-neutral summary of the
/// period's accepted records (docs/log-summary.md) — no record itself.
#[derive(Debug, Clone, Default)]
pub struct LogData {
    /// `false` when the config lists no log source: operational KPIs are then n/a, not zero.
    pub configured: bool,
    /// Per model name: its accepted records of the period, summarised.
    pub models: BTreeMap<String, ModelSummary>,
    pub files: Vec<FileRead>,
    pub rejected: Vec<Rejected>,
}

impl LogData {
    /// Every file's account, as the KPI document lists them.
    pub fn accounts(&self) -> Vec<LogFile> {
        self.files.iter().map(|f| f.account.clone()).collect()
    }
}

/// One file read: its account, and what a scoped bundle needs to cut the file's excerpt.
#[derive(Debug, Clone)]
pub struct FileRead {
    pub path: PathBuf,
    pub format: LogFormat,
    /// Which `sources.logs` entry listed it (its field map and success values).
    pub source: usize,
    pub account: LogFile,
    /// In a scoped build, the rows (0-based, as Polars numbers them) of the in-scope records
    /// accepted in the period: what goes into the bundle's excerpt of this file.
    pub scoped_rows: Option<Vec<u64>>,
    /// The lines Polars could not read (not JSON), which an excerpt must skip as it did.
    pub bad_lines: Vec<u64>,
    /// An `mlflow-traces` source: `path` is the store, and this the records read from it, which
    /// the bundle's extracts are cut from.
    pub materialised: Option<Arc<tempfile::TempPath>>,
    /// A source summarised on Spark: `path` is then its name (`spark path …`), no file.
    pub spark: Option<SparkRun>,
}

/// What a Spark run leaves for the evidence: the statements it ran, Spark's version, the files
/// it read.
#[derive(Debug, Clone)]
pub struct SparkRun {
    pub sql: Vec<(String, String)>,
    pub version: String,
    /// Every file Spark read, with its size and time when the file system gave them.
    pub files: Vec<SparkFile>,
    /// When the run began and ended (RFC 3339, UTC).
    pub started: String,
    pub finished: String,
    /// The records brought back for the bundle (JSON text, in time order), when asked
    /// (`excerpt_rows`).
    pub excerpt: Option<Vec<String>>,
    /// A table source's catalog facts (and a Delta table's version).
    pub table: Vec<(String, String)>,
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
    /// Lines that are no record, by kind (`preview`, `terminator`, `messages`: a Splunk export's
    /// own lines); empty for other formats.
    pub non_records: BTreeMap<&'static str, u64>,
    /// Records and non-records: every non-blank line (a CSV's data lines, a Parquet file's rows).
    pub lines: u64,
    /// Accepted records of the period per model name.
    pub models: BTreeMap<String, u64>,
}

/// SPEC §4 `rejected[]`: records of one file rejected for one reason.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    pub source: String,
    pub reason: Reason,
    pub count: u64,
    /// The first such record's line in the file (1-based; a CSV header is line 1).
    pub first_line: Option<u64>,
}

/// A file to scan, its format decided, and how many lines were not JSON.
struct Input {
    path: PathBuf,
    format: LogFormat,
    source: usize,
    /// Lines that are not JSON (1-based line numbers), as the JSON-lines reader found them.
    bad_lines: Vec<u64>,
    /// An `mlflow-traces` source: `path` is then its records' file, and this the store.
    traces: Option<TraceOrigin>,
}

impl Input {
    /// The path the account names: the file, or a trace source's store.
    fn shown(&self) -> &Path {
        self.traces.as_ref().map_or(&self.path, |t| &t.store)
    }

    fn label(&self) -> &'static str {
        match self.traces {
            Some(_) => TRACES_LABEL,
            None => format_label(self.format),
        }
    }
}

/// The format label of a trace source in `log_files[]`.
pub const TRACES_LABEL: &str = "mlflow-traces";

pub fn read_all(config: &Config, warnings: &mut Vec<String>) -> Result<LogData> {
    if config.logs.is_empty() {
        return Ok(LogData::default());
    }
    let mut parts = Vec::new();
    if config.logs.iter().any(|s| s.spark.is_none()) {
        parts.push(read_here(config, warnings)?);
    }
    for (i, source) in config.logs.iter().enumerate() {
        if let Some(spark) = &source.spark {
            parts.push(combine::read_on_spark(config, i, spark)?);
        }
    }
    let data = combine::merge(parts)?;
    if config.strict
        && let Some(r) = data.rejected.first()
    {
        return Err(Error::Logs {
            path: PathBuf::from(&r.source),
            line: r.first_line,
            message: format!("record rejected: {} (--strict)", r.reason),
        });
    }
    Ok(data)
}

/// The sources read on this machine (every one without `engine: spark`), in one pass.
fn read_here(config: &Config, warnings: &mut Vec<String>) -> Result<LogData> {
    let mut inputs = list_inputs(config, warnings)?;
    let mut scanned = scan::scan_all(config, &inputs)?;
    for (i, input) in inputs.iter_mut().enumerate() {
        input.bad_lines = scanned.bad_lines.remove(&(i as u32)).unwrap_or_default();
    }
    let (accounts, mut rejected) = account::account(&inputs, &scanned.counts)?;
    let scoped = config.scope.is_scoped();
    let mut files: Vec<FileRead> = inputs
        .into_iter()
        .zip(accounts)
        .enumerate()
        .map(|(i, (input, mut account))| {
            let i = i as u32;
            account.models = scanned.models.get(&i).cloned().unwrap_or_default();
            let (path, materialised) = match input.traces {
                Some(t) => (t.store, Some(t.file)),
                None => (input.path, None),
            };
            FileRead {
                path,
                materialised,
                format: input.format,
                source: input.source,
                account,
                scoped_rows: scoped.then(|| scanned.rows.get(&i).cloned().unwrap_or_default()),
                bad_lines: input.bad_lines,
                spark: None,
            }
        })
        .collect();
    if scoped {
        // Only files holding records of the named systems belong to a scoped account.
        files.retain(|f| f.account.accepted + f.account.outside_period > 0);
        rejected.retain(|r| files.iter().any(|f| f.account.path == r.source));
    }
    // The records are summarised and dropped here: nothing downstream needs one.
    let models = summary::summarise(scanned.tallies, config.period).map_err(|e| Error::Logs {
        path: "sources.logs".into(),
        line: None,
        message: format!("summarising the accepted records: {e}"),
    })?;
    Ok(LogData {
        configured: true,
        models,
        files,
        rejected,
    })
}

/// Every file the log sources name, with its format decided.
fn list_inputs(config: &Config, warnings: &mut Vec<String>) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for (i, source) in config.logs.iter().enumerate() {
        if source.spark.is_some() {
            continue;
        }
        if let Some(keys) = &source.traces {
            let origin = traces::materialise(Path::new(&source.pattern), keys, warnings)?;
            inputs.push(Input {
                path: origin.file.to_path_buf(),
                format: LogFormat::Ndjson,
                source: i,
                bad_lines: Vec::new(),
                traces: Some(origin),
            });
            continue;
        }
        let what = format!("sources.logs[{i}].path");
        let files = super::expand_globs(std::slice::from_ref(&source.pattern), &what, warnings)?;
        for path in files {
            refuse_unreadable(&path)?;
            let format = match source.format {
                Some(f) => f,
                None => format::detect_format(&path)?,
            };
            inputs.push(Input {
                path,
                format,
                source: i,
                bad_lines: Vec::new(),
                traces: None,
            });
        }
    }
    Ok(inputs)
}

/// Only regular files reach Polars (a FIFO would block it, /proc would never end), and no
/// compressed file: Polars cannot read one as text, and a gzip file named `.json` made it panic.
fn refuse_unreadable(path: &Path) -> Result<()> {
    let (file, _) = crate::fsio::open_regular(path, "log file", None)?;
    let mut magic = [0u8; 4];
    let n = std::io::Read::read(&mut std::io::Read::take(file, 4), &mut magic)
        .map_err(|e| Error::io("cannot read", path, e))?;
    let compressed = match magic.get(..n).unwrap_or_default() {
        [0x1f, 0x8b, ..] => Some("gzip"),
        [0x28, 0xb5, 0x2f, 0xfd] => Some("zstd"),
        [b'P', b'K', 3, 4] => Some("zip"),
        [b'B', b'Z', b'h', ..] => Some("bzip2"),
        _ => None,
    };
    match compressed {
        Some(kind) => Err(Error::Logs {
            path: path.to_path_buf(),
            line: None,
            message: format!(
                "is {kind}-compressed; decompress it (for example `gunzip -k`) and point the \
                 log source at the result"
            ),
        }),
        None => Ok(()),
    }
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
