//! Excerpts of log extracts for scoped builds (a regulator request names its systems). In: a log
//! file, its format and the rows of its in-scope records accepted in the period (as the log
//! stage numbered them). Out: a temporary file beside the bundle holding exactly those records in
//! the file's own format, and the original's size and SHA-256 for the chain of custody.
//! Guarantees: JSON-lines records and CSV rows are copied byte for byte (a CSV keeps its header
//! line; a quoted newline stays inside its row); Parquet is rewritten with the same schema; the
//! original is read once, front to back, and hashed as it is read.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use polars::prelude::*;

use crate::config::LogFormat;
use crate::digest::HashingReader;
use crate::error::{Error, Result};
use crate::ingest::logs::RecordLines;

pub struct Excerpt {
    /// Where the cut starts in the spool.
    pub offset: u64,
    pub size: u64,
    pub original_size: u64,
    pub original_sha256: String,
}

/// Write the excerpt of `path` into a temporary file in `dir`.
pub fn write(
    path: &Path,
    format: LogFormat,
    rows: &[u64],
    bad_lines: &[u64],
    spool: &mut Spool,
) -> Result<Excerpt> {
    into_temp(path, spool, |out| match format {
        LogFormat::Csv => csv_rows(path, rows, out),
        LogFormat::Parquet => parquet_rows(path, rows, out),
        _ => json_lines(path, rows, bad_lines, out),
    })
}

/// A temporary file in `dir` that `fill` writes from `path`; `fill` returns the original's size
/// and SHA-256.
/// Every cut of a build, one after the other in one temporary file beside the output: thousands
/// of hourly files would otherwise mean thousands of temporary files (inode churn dominated such
/// a build), and memory stays flat however many or large the cuts are.
pub struct Spool {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    len: u64,
}

impl Spool {
    pub fn new(dir: &Path) -> Result<Spool> {
        let tmp = tempfile::Builder::new()
            .prefix(&super::writer::excerpt_prefix())
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create a temporary file in", dir, e))?;
        Ok(Spool {
            file: std::io::BufWriter::with_capacity(1 << 20, tmp),
            len: 0,
        })
    }

    /// The spool written out, to be read by the staging workers; it is removed when dropped.
    pub fn finish(self) -> Result<tempfile::NamedTempFile> {
        let path = self.file.get_ref().path().to_path_buf();
        self.file
            .into_inner()
            .map_err(|e| Error::io("cannot write the excerpts to", &path, e.into_error()))
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Append the cut that `fill` writes from `path` to the spool; `fill` returns the original's
/// size and SHA-256.
pub(super) fn into_temp(
    path: &Path,
    spool: &mut Spool,
    fill: impl FnOnce(&mut dyn Write) -> Result<(u64, String)>,
) -> Result<Excerpt> {
    let offset = spool.len;
    let (original_size, original_sha256) = fill(spool)?;
    spool
        .flush()
        .map_err(|e| Error::io("cannot write an excerpt of", path, e))?;
    Ok(Excerpt {
        offset,
        size: spool.len - offset,
        original_size,
        original_sha256,
    })
}

pub(super) fn open_hashing(path: &Path) -> Result<HashingReader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    Ok(HashingReader::new(file))
}

/// Read what is left (so the hash covers the whole file) and finish.
pub(super) fn finish<R: Read>(mut reader: HashingReader<R>, path: &Path) -> Result<(u64, String)> {
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(reader.finish())
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io("cannot write an excerpt of", path, e)
}

/// Rows are the non-blank lines that were JSON, counted as the log stage counted them.
fn json_lines(
    path: &Path,
    rows: &[u64],
    bad_lines: &[u64],
    out: &mut dyn Write,
) -> Result<(u64, String)> {
    let mut records = RecordLines::new(open_hashing(path)?, bad_lines);
    let mut wanted = rows.iter().peekable();
    while wanted.peek().is_some() {
        let next = records
            .next_record()
            .map_err(|e| Error::io("cannot read", path, e))?;
        let Some((row, _)) = next else {
            break;
        };
        if wanted.next_if_eq(&&row).is_some() {
            let line = records.line();
            out.write_all(line).map_err(write_err(path))?;
            if line.last() != Some(&b'\n') {
                out.write_all(b"\n").map_err(write_err(path))?;
            }
        }
    }
    finish(records.into_inner(), path)
}

/// The header and the wanted records, each copied from its first byte to the next record's.
fn csv_rows(path: &Path, rows: &[u64], out: &mut dyn Write) -> Result<(u64, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open_hashing(path)?);
    let mut raw = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut record = csv::ByteRecord::new();
    let mut wanted = rows.iter().peekable();
    // Record 0 is the header; data record r is Polars' row r.
    let mut index = 0u64;
    loop {
        let start = reader.position().byte();
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| Error::Logs {
                path: path.to_path_buf(),
                line: e.position().map(|p| p.line()),
                message: format!("cannot re-read the CSV for its excerpt: {e}"),
            })?;
        if !more {
            break;
        }
        let end = reader.position().byte();
        let keep = index == 0 || wanted.next_if_eq(&&(index - 1)).is_some();
        if keep {
            copy_range(&mut raw, start, end, out).map_err(write_err(path))?;
        }
        index += 1;
    }
    finish(reader.into_inner(), path)
}

fn copy_range(
    raw: &mut std::fs::File,
    start: u64,
    end: u64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    raw.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((end - start) as usize);
    raw.take(end - start).read_to_end(&mut bytes)?;
    out.write_all(&bytes)?;
    if bytes.last() != Some(&b'\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A Parquet file read whole (it has no lines to stream), hashed as it is read; `fail` names
/// what a Polars error interrupted.
pub(super) fn read_parquet(
    path: &Path,
    fail: impl Fn(PolarsError) -> Error,
) -> Result<(DataFrame, (u64, String))> {
    let mut hashing = open_hashing(path)?;
    let mut bytes = Vec::new();
    hashing
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(fail)?;
    Ok((df, finish(hashing, path)?))
}

/// Parquet has no lines to copy: the wanted rows are written as a new Parquet file.
fn parquet_rows(path: &Path, rows: &[u64], out: &mut dyn Write) -> Result<(u64, String)> {
    let fail = |e: PolarsError| Error::Logs {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot write the excerpt: {e}"),
    };
    let (df, original) = read_parquet(path, fail)?;
    let mut keep = vec![false; df.height()];
    for &r in rows {
        if let Some(k) = keep.get_mut(r as usize) {
            *k = true;
        }
    }
    let mask = BooleanChunked::from_slice("keep".into(), &keep);
    let mut df = df.filter(&mask).map_err(fail)?;
    ParquetWriter::new(out).finish(&mut df).map_err(fail)?;
    Ok(original)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excerpt_of(text: &[u8], format: LogFormat, rows: &[u64], bad: &[u64]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in");
        std::fs::write(&src, text).unwrap();
        // A cut of something else first: this one must start where that one ends.
        let mut spool = Spool::new(dir.path()).unwrap();
        spool.write_all(b"before").unwrap();
        let ex = write(&src, format, rows, bad, &mut spool).unwrap();
        assert_eq!(ex.offset, 6);
        assert_eq!(ex.original_size, text.len() as u64);
        // sha256 of the input, as `sha256sum` would print it.
        assert_eq!(ex.original_sha256, crate::digest::sha256_hex(text));
        let bytes = std::fs::read(spool.finish().unwrap().path()).unwrap();
        bytes[6..].to_vec()
    }

    #[test]
    fn json_lines_skip_blank_and_bad_lines_when_counting_rows() {
        // Lines: 1 row0, 2 blank, 3 bad (not JSON), 4 row1, 5 row2 (no line end).
        let text = b"{\"m\":\"a\"}\n\n{oops\n{\"m\":\"b\"}\r\n{\"m\":\"c\"}";
        let got = excerpt_of(text, LogFormat::Ndjson, &[1, 2], &[3]);
        assert_eq!(got, b"{\"m\":\"b\"}\r\n{\"m\":\"c\"}\n");
    }

    #[test]
    fn csv_keeps_the_header_and_quoted_newlines() {
        let text = b"ts,model,note\n1,a,plain\n2,b,\"two\nlines\"\n3,c,\"x,y\"\n";
        let got = excerpt_of(text, LogFormat::Csv, &[1, 2], &[]);
        assert_eq!(got, b"ts,model,note\n2,b,\"two\nlines\"\n3,c,\"x,y\"\n");
    }
}
