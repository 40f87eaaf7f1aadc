//! Minimised log extracts (SPEC §6, `bundle.log_extracts: minimised`, the default). In: a log
//! file, its format and field map, the rows to keep (all, or a scoped build's in-scope records),
//! its not-JSON lines and the fields to redact. Out: a temporary NDJSON file of one object per
//! record — `file`, `line` (`row` for Parquet), then the mapped fields under their canonical names
//! (`timestamp`, `model`, `version`, `latency_ms`, `status`, `score`, `request_id`) as the record
//! held them — plus the original's size and SHA-256 for `sources.csv`. Nothing unmapped leaves the
//! source. Guarantees: re-read as NDJSON with the identity field map and the source's `success`
//! values, the extract gives every record the same code (accepted, outside the period, rejected for
//! the same reason: a not-JSON line stays a not-JSON line, `# not JSON: line N`), so every KPI can
//! be recomputed from the bundle; JSON-lines and CSV files are streamed (JSON lines minimised on
//! every core by `minimise_json`; CSV one record at a time).
//! A redacted field's value becomes `hmac-sha256:<hex>` under the build's key: equal values stay
//! equal, so distinct counts survive, but nothing can be read back.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use polars::prelude::*;
use serde_json::Value;
use sha2::Sha256;

use super::excerpt::{Excerpt, Spool, finish, open_hashing};
use crate::config::{FieldMap, LogFormat};
use crate::error::{Error, Result};

/// How to minimise one file.
#[derive(Debug, Clone)]
pub struct Minimise {
    pub format: LogFormat,
    pub fields: FieldMap,
    /// The rows to keep, sorted; `None`: every record, not-JSON lines included.
    pub rows: Option<Vec<u64>>,
    pub bad_lines: Vec<u64>,
    pub redact: Vec<String>,
    /// The HMAC key of redacted values.
    pub key: [u8; 32],
    /// The name the extract gives the file (its path as `sources.csv` shows it).
    pub shown: String,
}

impl Minimise {
    pub(super) fn canonical(&self) -> [(&'static str, &str); 7] {
        let f = &self.fields;
        [
            ("timestamp", f.timestamp.as_str()),
            ("model", f.model.as_str()),
            ("version", f.version.as_str()),
            ("latency_ms", f.latency_ms.as_str()),
            ("status", f.status.as_str()),
            ("score", f.score.as_str()),
            ("request_id", f.request_id.as_str()),
        ]
    }

    /// Which rows to keep, asked in increasing order.
    pub(super) fn keeper(&self) -> Keeper<'_> {
        Keeper {
            rows: self.rows.as_ref().map(|rows| rows.iter().peekable()),
        }
    }

    /// One extract record: where it came from, then each mapped field found.
    pub(super) fn record(
        &self,
        at: (&str, u64),
        found: impl Fn(&str, &str) -> Option<Value>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.record_into(&mut out, at, |name, path| {
            found(name, path).map(Field::Value)
        });
        out
    }

    /// One extract record appended to `out`, byte for byte what serializing the record as a
    /// `serde_json` object (keys in this order) writes, without building the object: millions of
    /// records a build, each a map, its keys and its hash table, cost a third of the minimiser.
    pub(super) fn record_into<'v>(
        &self,
        out: &mut Vec<u8>,
        (unit, number): (&str, u64),
        found: impl Fn(&str, &str) -> Option<Field<'v>>,
    ) {
        out.extend_from_slice(b"{\"file\":");
        write_json(out, &self.shown);
        out.extend_from_slice(b",\"");
        out.extend_from_slice(unit.as_bytes());
        out.extend_from_slice(b"\":");
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{number}");
        for (name, path) in self.canonical() {
            let Some(field) = found(name, path) else {
                continue;
            };
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            if self.redact.iter().any(|r| r == name) {
                write_json(out, &self.redacted(&field));
                continue;
            }
            match field {
                Field::Value(value) => write_json(out, &value),
                Field::Canonical(text) => out.extend_from_slice(text.as_bytes()),
            }
        }
        out.extend_from_slice(b"}\n");
    }

    fn redacted(&self, field: &Field<'_>) -> Value {
        let text = match field {
            Field::Value(Value::Null) => return Value::Null,
            Field::Value(Value::String(s)) => s.clone(),
            Field::Value(other) => other.to_string(),
            Field::Canonical(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::String(s)) => s,
                Ok(Value::Null) => return Value::Null,
                Ok(other) => other.to_string(),
                Err(_) => (*text).to_string(),
            },
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return Value::Null;
        };
        mac.update(text.as_bytes());
        let tag = crate::digest::hex(&mac.finalize().into_bytes());
        Value::String(format!("hmac-sha256:{tag}"))
    }
}

/// Whether each row is kept, for rows asked in increasing order: a cursor over the sorted rows,
/// so a pass over 100 M rows costs no binary search each (the minimiser's reading thread, the
/// one that cannot be split, spent seconds on them).
pub(super) struct Keeper<'r> {
    rows: Option<std::iter::Peekable<std::slice::Iter<'r, u64>>>,
}

impl Keeper<'_> {
    pub(super) fn keeps(&mut self, row: u64) -> bool {
        let Some(rows) = &mut self.rows else {
            return true;
        };
        while rows.next_if(|r| **r < row).is_some() {}
        rows.next_if(|r| **r == row).is_some()
    }
}

/// A mapped field's value as the record carries it.
pub(super) enum Field<'v> {
    Value(Value),
    /// JSON text already exactly as `serde_json` writes its value (a string token without an
    /// escape), copied as it is.
    Canonical(&'v str),
}

/// `value` as compact JSON, as `serde_json` writes it inside an object.
fn write_json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    // Writing into a Vec cannot fail, and these values (strings, numbers, plain JSON) always
    // serialize.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Write the minimised extract of `path` into a temporary file in `dir`.
pub fn write(path: &Path, plan: &Minimise, spool: &mut Spool) -> Result<Excerpt> {
    super::excerpt::into_temp(path, spool, |out| fill(path, plan, out))
}

/// Write the minimised extract of `path` to `out`; the original's size and SHA-256.
pub(super) fn fill(path: &Path, plan: &Minimise, out: &mut dyn Write) -> Result<(u64, String)> {
    match plan.format {
        LogFormat::Csv => csv_records(path, plan, out),
        LogFormat::Parquet => parquet_records(path, plan, out),
        _ => super::minimise_json::json_records(path, plan, out),
    }
}

pub(super) fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io("cannot write the minimised extract of", path, e)
}

/// The marker standing for a line that is not JSON: itself not JSON, so it is rejected again.
pub(super) fn not_json(line: u64) -> Vec<u8> {
    format!("# not JSON: line {line}\n").into_bytes()
}

fn csv_records(path: &Path, plan: &Minimise, out: &mut dyn Write) -> Result<(u64, String)> {
    // The header is read as a record of its own, so that every position the reader reports
    // counts it (line 1).
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open_hashing(path)?);
    let fail = |e: csv::Error| Error::Logs {
        path: path.to_path_buf(),
        line: e.position().map(|p| p.line()),
        message: format!("cannot re-read the CSV for its minimised extract: {e}"),
    };
    let mut headers = csv::StringRecord::new();
    reader.read_record(&mut headers).map_err(fail)?;
    let mut lines = LineCounter::open(path)?;
    let column = |p: &str| headers.iter().position(|h| h == p);
    let columns: Vec<(&str, Option<usize>)> = plan
        .canonical()
        .iter()
        .map(|(name, p)| (*name, column(p)))
        .collect();
    let mut record = csv::StringRecord::new();
    let mut row = 0u64;
    let mut keeper = plan.keeper();
    loop {
        if !reader.read_record(&mut record).map_err(fail)? {
            break;
        }
        let start = record.position().map_or(0, |p| p.byte());
        let line = lines
            .line_at(start)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if keeper.keeps(row) {
            let found = |name: &str, _: &str| {
                let (_, i) = columns.iter().find(|(n, _)| *n == name)?;
                // An empty CSV field is missing, as the log stage (Polars) reads it.
                record.get((*i)?).map(|v| match v {
                    "" => Value::Null,
                    v => Value::String(v.to_string()),
                })
            };
            let bytes = plan.record(("line", line), found);
            out.write_all(&bytes).map_err(write_err(path))?;
        }
        row += 1;
    }
    finish(reader.into_inner(), path)
}

/// The 1-based line a byte offset of a file lies on, for offsets given in increasing order. The
/// csv crate's own line count lags a line after a CRLF (it takes the `\n` as the start of the
/// next record), so lines are counted here from the bytes: a record whose reported start is the
/// `\n` of a CRLF starts on the line after it.
struct LineCounter {
    raw: std::io::BufReader<std::fs::File>,
    at: u64,
    newlines: u64,
}

impl LineCounter {
    fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
        Ok(LineCounter {
            raw: std::io::BufReader::new(file),
            at: 0,
            newlines: 0,
        })
    }

    fn line_at(&mut self, offset: u64) -> std::io::Result<u64> {
        use std::io::{BufRead, Read};
        // Newlines before `offset`, a buffer at a time.
        while self.at < offset {
            let buf = self.raw.fill_buf()?;
            if buf.is_empty() {
                return Ok(self.newlines + 1);
            }
            let take = buf
                .len()
                .min(usize::try_from(offset - self.at).unwrap_or(usize::MAX));
            let chunk = buf.get(..take).unwrap_or_default();
            self.newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
            self.raw.consume(take);
            self.at += take as u64;
        }
        // The byte at `offset` itself: a CRLF's `\n` still belongs to the previous line.
        let mut byte = [0u8; 1];
        if self.raw.read(&mut byte)? == 1 {
            self.at += 1;
            self.newlines += u64::from(byte[0] == b'\n');
        }
        Ok(self.newlines + 1)
    }
}

/// Parquet has no lines: each record is named by its row (0-based, as the log stage counts).
/// Datetime columns are written as RFC 3339 with nanoseconds, so they read back exactly.
fn parquet_records(path: &Path, plan: &Minimise, out: &mut dyn Write) -> Result<(u64, String)> {
    let fail = |e: PolarsError| Error::Logs {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot write the minimised extract: {e}"),
    };
    let (df, original) = super::excerpt::read_parquet(path, fail)?;
    let mut columns: Vec<(&str, Option<Column>)> = Vec::new();
    for (name, p) in plan.canonical() {
        let found = match df.column(p) {
            Ok(c) => Some(as_text(c).map_err(fail)?),
            Err(_) => nested_column(&df, p).map_err(fail)?,
        };
        columns.push((name, found));
    }
    let mut keeper = plan.keeper();
    for row in 0..df.height() {
        if !keeper.keeps(row as u64) {
            continue;
        }
        let found = |name: &str, _: &str| {
            let (_, c) = columns.iter().find(|(n, _)| *n == name)?;
            let value = c.as_ref()?.str().ok()?.get(row);
            Some(value.map_or(Value::Null, |v| Value::String(v.to_string())))
        };
        let bytes = plan.record(("row", row as u64), found);
        out.write_all(&bytes).map_err(write_err(path))?;
    }
    Ok(original)
}

/// A dotted path into struct columns (and map columns' keys), as the log stage reads it.
fn nested_column(df: &DataFrame, path: &str) -> PolarsResult<Option<Column>> {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return Ok(None);
    };
    let Ok(mut c) = df.column(first).cloned() else {
        return Ok(None);
    };
    for part in parts {
        if crate::ingest::logs::is_map(c.dtype()) {
            c = crate::ingest::logs::map_value(&c, part)?;
            continue;
        }
        let Ok(s) = c.as_materialized_series().struct_() else {
            return Ok(None);
        };
        c = s.field_by_name(part)?.into_column();
    }
    as_text(&c).map(Some)
}

fn as_text(c: &Column) -> PolarsResult<Column> {
    match c.dtype() {
        DataType::Datetime(unit, _) => {
            let factor = match unit {
                TimeUnit::Nanoseconds => 1,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1_000_000,
            };
            let ns = c.cast(&DataType::Int64)?;
            let text: StringChunked = ns
                .i64()?
                .iter()
                .map(|v| {
                    let ns = v?.checked_mul(factor)?;
                    let t = chrono::DateTime::from_timestamp_nanos(ns);
                    Some(t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
                })
                .collect();
            Ok(text.with_name(c.name().clone()).into_column())
        }
        _ => c.cast(&DataType::String),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `line` of each record of a minimised CSV extract of `text`.
    fn lines_of(text: &[u8]) -> Vec<u64> {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.csv");
        std::fs::write(&src, text).unwrap();
        let plan = Minimise {
            format: LogFormat::Csv,
            fields: FieldMap::default(),
            rows: None,
            bad_lines: Vec::new(),
            redact: Vec::new(),
            key: [0; 32],
            shown: "in.csv".into(),
        };
        let mut spool = Spool::new(dir.path()).unwrap();
        let ex = write(&src, &plan, &mut spool).unwrap();
        assert_eq!(ex.offset, 0);
        let text = std::fs::read_to_string(spool.finish().unwrap().path()).unwrap();
        assert_eq!(text.len() as u64, ex.size);
        text.lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["line"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn the_keeper_keeps_the_listed_rows_asked_in_order() {
        let mut plan = Minimise {
            format: LogFormat::Csv,
            fields: FieldMap::default(),
            rows: Some(vec![2, 5, 6, 9]),
            bad_lines: Vec::new(),
            redact: Vec::new(),
            key: [0; 32],
            shown: "in.csv".into(),
        };
        let mut keeper = plan.keeper();
        let kept: Vec<u64> = (0..8).filter(|r| keeper.keeps(*r)).collect();
        assert_eq!(kept, [2, 5, 6]);
        // Rows skipped over (3, 4, 7, 8 never asked) do not throw it off.
        let mut keeper = plan.keeper();
        let kept: Vec<u64> = [0, 2, 6, 9, 10]
            .into_iter()
            .filter(|r| keeper.keeps(*r))
            .collect();
        assert_eq!(kept, [2, 6, 9]);
        plan.rows = None;
        let mut keeper = plan.keeper();
        assert!((0..5).all(|r| keeper.keeps(r)));
    }

    #[test]
    fn csv_records_name_the_line_they_start_on_with_lf_crlf_and_quoted_newlines() {
        // Header line 1; records on lines 2, 3 (spanning 4) and 5 — counted by hand.
        let lf = b"timestamp,model\n1,a\n2,\"b\nc\"\n3,d\n";
        assert_eq!(lines_of(lf), [2, 3, 5]);
        let crlf = b"timestamp,model\r\n1,a\r\n2,\"b\r\nc\"\r\n3,d\r\n";
        assert_eq!(lines_of(crlf), [2, 3, 5]);
    }
}
