//! Many CSV and Parquet files read in few queries (issue 15): a Polars query costs milliseconds
//! however small its input, so thousands of hourly files must not cost a query each. In: the
//! files the scan hands over. Out: `collect_into` calls over batches — small CSVs with the same
//! header in one multi-file reader (`flush_csv`), other files up to 256 to a query (`Batch`).
//! Guarantees: every row keeps its own file and its row in that file (`locate_paths`), so the
//! account, reject lines and excerpts are as if each file were read alone; a panic names the
//! batch's files. (JSON-lines files have their own reader, `jsonl`.)

use std::collections::HashMap;
use std::path::PathBuf;

use polars::prelude::*;

use super::Input;
use super::classify::canonical;
use super::read::{GROUP_PATH, scan_csv_group};
use super::scan::{collect_into, polars_error};
use super::tally::Gathered;
use crate::config::{Config, LogFormat};
use crate::error::{Error, Result, contain};

/// A CSV file small enough to share a reader: at most this many bytes.
const CSV_GROUP_MAX_BYTES: u64 = 16 << 20;

/// The header line of a small CSV file (files with the same header and source share a reader);
/// `None` for any other file, read on its own.
pub(super) fn csv_group_key(input: &Input) -> Result<Option<Vec<u8>>> {
    use std::io::BufRead;
    if input.format != LogFormat::Csv {
        return Ok(None);
    }
    let path = &input.path;
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io("cannot read", path, e))?
        .len();
    if size > CSV_GROUP_MAX_BYTES {
        return Ok(None);
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut header = Vec::new();
    std::io::BufReader::new(std::io::Read::take(file, 64 << 10))
        .read_until(b'\n', &mut header)
        .map_err(|e| Error::io("cannot read", path, e))?;
    // A header that does not end within 64 KiB, or a quoted newline in it, is read alone.
    let whole = header.ends_with(b"\n") && !header.contains(&b'"');
    Ok(whole.then_some(header))
}

/// One query over a group of small CSV files with the same header.
pub(super) fn flush_csv(
    config: &Config,
    inputs: &[Input],
    (members, (start, end)): (&[usize], (i64, i64)),
    out: &mut Gathered,
) -> Result<()> {
    let group: Vec<&Input> = members.iter().filter_map(|&i| inputs.get(i)).collect();
    let Some(source) = group.first().and_then(|i| config.logs.get(i.source)) else {
        return Ok(());
    };
    let index: HashMap<String, u32> = members
        .iter()
        .filter_map(|&i| Some((inputs.get(i)?.path.to_string_lossy().into_owned(), i as u32)))
        .collect();
    let paths: Vec<String> = group.iter().map(|i| i.path.display().to_string()).collect();
    contain(&batch_name(&paths), "reading the log files", || {
        let lf = scan_csv_group(&group, source)?;
        let lf = locate_paths(lf, Arc::new(index)).map_err(|e| polars_error(inputs, e))?;
        let lf = canonical(lf, source, None, start, end);
        collect_into(config, inputs, vec![lf], out)
    })
}

/// Rows of a CSV group as (`file`, `row` in that file): the file from its path, the row counted
/// from the file's first row in the group (Polars numbers a group's rows in file order).
fn locate_paths(lf: LazyFrame, index: Arc<HashMap<String, u32>>) -> PolarsResult<LazyFrame> {
    let file = col(GROUP_PATH).map(
        move |c| {
            let paths = c.as_materialized_series().cast(&DataType::String)?;
            let out: UInt32Chunked = paths
                .str()?
                .iter()
                .map(|p| p.and_then(|p| index.get(p).copied()))
                .collect();
            Ok(out.with_name("file".into()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::UInt32)),
    );
    let first = col("row").min().over([col(GROUP_PATH)])?;
    Ok(lf.with_columns([
        file.alias("file"),
        (col("row").cast(DataType::Int64) - first.cast(DataType::Int64))
            .cast(DataType::UInt64)
            .alias("row"),
    ]))
}

/// The most files one query reads: enough to spread a query's fixed cost over
/// thousands of hourly files, few enough that Polars' plan stays small.
pub(super) const MAX_BATCH_FILES: usize = 256;

/// CSV and Parquet frames waiting for one query, with their files (a panic names them).
#[derive(Default)]
pub(super) struct Batch {
    frames: Vec<LazyFrame>,
    paths: Vec<String>,
}

impl Batch {
    pub(super) fn is_full(&self) -> bool {
        self.frames.len() >= MAX_BATCH_FILES
    }

    pub(super) fn push(&mut self, frame: LazyFrame, input: &Input) {
        self.frames.push(frame);
        self.paths.push(input.path.display().to_string());
    }

    pub(super) fn flush(
        &mut self,
        config: &Config,
        inputs: &[Input],
        out: &mut Gathered,
    ) -> Result<()> {
        if self.frames.is_empty() {
            return Ok(());
        }
        let frames = std::mem::take(&mut self.frames);
        let named = batch_name(&std::mem::take(&mut self.paths));
        contain(&named, "reading the log files", || {
            collect_into(config, inputs, frames, out)
        })
    }
}

/// The files of a batch for a message: the first three and how many more.
fn batch_name(paths: &[String]) -> PathBuf {
    let shown: Vec<&str> = paths.iter().take(3).map(String::as_str).collect();
    let more = paths.len().saturating_sub(3);
    let mut name = shown.join(", ");
    if more > 0 {
        name.push_str(&format!(" and {more} more"));
    }
    PathBuf::from(name)
}
