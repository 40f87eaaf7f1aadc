//! The line rules of a JSON-lines log file, in one place. A line that is blank (only spaces,
//! tabs, CR) is no record; a line that is not JSON is set aside and counted; every other line is
//! a record, and records are numbered from 0 in file order. Every stage that numbers rows uses
//! these: the JSON-lines reader (`LineSlices` cuts its slices, `jsonl` numbers lines and rows),
//! the line of a rejected record and the records of an excerpt (`RecordLines`, one pass front to
//! back). Guarantees: no line is read into memory beyond one slice or one line; a very long line
//! grows its slice instead of being cut, up to `MAX_LINE`, past which the file is refused.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A line that is not a record. Every stage that numbers rows (Polars' reader, the not-JSON pass,
/// line numbers of rejects, excerpts) must agree on this.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    trim_line(line).is_empty()
}

pub(super) fn trim_line(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    buf.get(..end).unwrap_or_default()
}

/// The UTF-8 byte-order mark some exporters (Windows tools, Excel) write first: not part of the
/// first record, which must not be lost as "not JSON" for it.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest line a JSON-lines file may hold: far beyond any inference record, and what keeps
/// a file of one endless line from being read into memory.
pub(crate) const MAX_LINE: usize = 64 << 20;

/// `read_until(b'\n')` that stops with `InvalidData` once a line passes `MAX_LINE`.
fn read_line_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let n = reader
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)?;
    if n > MAX_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "a line longer than {} MiB: not an inference record",
                MAX_LINE >> 20
            ),
        ));
    }
    Ok(n)
}

/// The records of a JSON-lines file in order, each with its row and 1-based line number: blank
/// lines and the lines set aside as not JSON are skipped. A line that lies whole in the read
/// buffer is looked at where it is, not copied (a pass over 100 M lines copied 16 GB for
/// nothing); only a line across the buffer's end is gathered into a line of its own.
pub(crate) struct RecordLines<R> {
    reader: BufReader<R>,
    bad_lines: Vec<u64>,
    /// The next bad line not yet passed.
    next_bad: usize,
    buf: Vec<u8>,
    /// The current line: `Some(range)` of the reader's buffer, `None`: `buf`.
    here: Option<(usize, usize)>,
    /// Bytes of the reader's buffer to consume before the next line.
    used: usize,
    line_no: u64,
    next_row: u64,
}

impl<R: Read> RecordLines<R> {
    /// `bad_lines`: sorted 1-based line numbers of lines that are not JSON.
    pub(crate) fn new(inner: R, bad_lines: &[u64]) -> Self {
        RecordLines {
            reader: BufReader::with_capacity(1 << 20, inner),
            bad_lines: bad_lines.to_vec(),
            next_bad: 0,
            buf: Vec::new(),
            here: None,
            used: 0,
            line_no: 0,
            next_row: 0,
        }
    }

    /// The next record's (row, line number), or `None` at the end; `line()` then holds its bytes.
    pub(crate) fn next_record(&mut self) -> std::io::Result<Option<(u64, u64)>> {
        loop {
            if !self.next_line()? {
                return Ok(None);
            }
            self.line_no += 1;
            if self.line_no == 1 && self.line().starts_with(BOM) {
                self.skip_bom();
            }
            if is_blank(self.line()) || self.is_bad(self.line_no) {
                continue;
            }
            let row = self.next_row;
            self.next_row += 1;
            return Ok(Some((row, self.line_no)));
        }
    }

    /// Read the next line, in the buffer where it lies whole; `false` at the end.
    fn next_line(&mut self) -> std::io::Result<bool> {
        self.reader.consume(std::mem::take(&mut self.used));
        let buffered = self.reader.fill_buf()?;
        if buffered.is_empty() {
            return Ok(false);
        }
        if let Some(end) = memchr::memchr(b'\n', buffered) {
            self.here = Some((0, end + 1));
            self.used = end + 1;
            return Ok(true);
        }
        self.here = None;
        self.buf.clear();
        Ok(read_line_capped(&mut self.reader, &mut self.buf)? > 0)
    }

    fn skip_bom(&mut self) {
        match &mut self.here {
            Some((start, _)) => *start += BOM.len(),
            None => {
                self.buf.drain(..BOM.len());
            }
        }
    }

    /// Whether line `n` is set aside as not JSON; lines are asked in increasing order.
    fn is_bad(&mut self, n: u64) -> bool {
        while self.bad_lines.get(self.next_bad).is_some_and(|b| *b < n) {
            self.next_bad += 1;
        }
        self.bad_lines.get(self.next_bad) == Some(&n)
    }

    /// The current record's bytes, line end included when the file had one.
    pub(crate) fn line(&self) -> &[u8] {
        match self.here {
            Some((start, end)) => self.reader.buffer().get(start..end).unwrap_or_default(),
            None => &self.buf,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.reader.into_inner()
    }
}

/// A JSON-lines file as consecutive slices of whole lines (a byte-order mark cut off the first).
pub(super) struct LineSlices {
    file: std::fs::File,
    path: PathBuf,
    size: usize,
    carry: Vec<u8>,
    /// Whether the first slice (where a byte-order mark may be) has been cut.
    started: bool,
    pub(super) done: bool,
}

impl LineSlices {
    pub(super) fn open(path: &Path, size: usize) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
        // A small file needs no 64 MiB buffer: thousands of such allocations left the allocator
        // holding gigabytes.
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot read", path, e))?
            .len();
        let size = size.min(usize::try_from(len).unwrap_or(usize::MAX).saturating_add(1));
        Ok(Self {
            file,
            path: path.to_path_buf(),
            size,
            carry: Vec::new(),
            started: false,
            done: false,
        })
    }

    /// The next slice of whole lines (the last may lack its line end).
    #[cfg(test)]
    pub(super) fn next_slice(&mut self) -> Result<Option<Vec<u8>>> {
        self.next_slice_in(Vec::new())
    }

    /// `next_slice`, read into `spare` (a slice handed back), so that a long file's pass does
    /// not map and fault in fresh pages for every slice.
    pub(super) fn next_slice_in(&mut self, mut spare: Vec<u8>) -> Result<Option<Vec<u8>>> {
        use std::io::Read;
        while !self.done {
            // The carried line starts the slice: copied into the spare buffer when it fits there,
            // else (a long line still growing) taken as it is.
            let mut buf = if spare.capacity() > self.carry.len() {
                spare.clear();
                spare.extend_from_slice(&self.carry);
                self.carry.clear();
                std::mem::take(&mut spare)
            } else {
                std::mem::take(&mut self.carry)
            };
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
            // The unfinished last line (all of it at the end of the file) may not pass
            // `MAX_LINE`: a file of one endless line is refused, not read whole.
            let tail = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            if buf.len() - tail > MAX_LINE {
                return Err(Error::Logs {
                    path: self.path.clone(),
                    line: None,
                    message: format!(
                        "holds a line longer than {} MiB: not an inference record",
                        MAX_LINE >> 20,
                    ),
                });
            }
            if !self.done {
                // Keep the unfinished last line for the next slice; a slice without a line end
                // is one long line, and grows until it has one.
                if tail == 0 {
                    self.carry = buf;
                    continue;
                }
                self.carry
                    .extend_from_slice(buf.get(tail..).unwrap_or_default());
                buf.truncate(tail);
            }
            if !self.started && buf.starts_with(BOM) {
                buf.drain(..BOM.len());
            }
            self.started = true;
            if !buf.is_empty() {
                return Ok(Some(buf));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn line_slices_hold_every_record_line_whole() {
        // 7 lines, 5 of them non-blank; the last has no line end; one is longer than a slice.
        let text = b"{\"a\":1}\n\n{\"a\":2}\r\n{\"long\":\"xxxxxxxxxxxxxxxxxxxx\"}\n  \n{\"a\":3}\n{\"a\":4}";
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(text).unwrap();
        for size in [1, 5, 12, 1000] {
            let mut slices = LineSlices::open(tmp.path(), size).unwrap();
            let mut joined = Vec::new();
            while let Some(bytes) = slices.next_slice().unwrap() {
                if !slices.done {
                    assert_eq!(bytes.last(), Some(&b'\n'), "slice size {size}");
                }
                joined.extend_from_slice(&bytes);
            }
            // Every line is there whole, in order: the slices put together are the file.
            assert_eq!(&joined[..], &text[..], "slice size {size}");
            let records = |b: &[u8]| -> Vec<Vec<u8>> {
                b.split(|&c| c == b'\n')
                    .filter(|l| !is_blank(l))
                    .map(<[u8]>::to_vec)
                    .collect()
            };
            assert_eq!(records(&joined).len(), 5, "slice size {size}");
        }
    }

    #[test]
    fn slices_read_into_handed_back_buffers_are_the_file() {
        // Handed back at once, after one slice, or never: the slices put together are the file,
        // and each ends at a line end; a line longer than a slice still comes whole.
        let text = b"{\"a\":1}\n{\"long\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n{\"b\":2}\n{\"c\":3}";
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(text).unwrap();
        for (size, reuse) in [(4, true), (9, true), (9, false), (1000, true)] {
            let mut slices = LineSlices::open(tmp.path(), size).unwrap();
            let (mut joined, mut spare) = (Vec::new(), Vec::new());
            while let Some(bytes) = slices.next_slice_in(std::mem::take(&mut spare)).unwrap() {
                if !slices.done {
                    assert_eq!(bytes.last(), Some(&b'\n'), "slice size {size}");
                }
                joined.extend_from_slice(&bytes);
                if reuse {
                    spare = bytes;
                }
            }
            assert_eq!(&joined[..], &text[..], "slice size {size}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_no_part_of_the_first_record() {
        let text = b"\xEF\xBB\xBF{\"a\":1}\n{\"a\":2}\n";
        let mut lines = RecordLines::new(&text[..], &[]);
        assert_eq!(lines.next_record().unwrap(), Some((0, 1)));
        assert_eq!(lines.line(), b"{\"a\":1}\n");
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(text).unwrap();
        let mut slices = LineSlices::open(tmp.path(), 1000).unwrap();
        let bytes = slices.next_slice().unwrap().unwrap();
        assert_eq!(&bytes[..], &b"{\"a\":1}\n{\"a\":2}\n"[..]);
    }

    #[test]
    fn record_lines_skip_blank_and_bad_lines() {
        // Lines: 1 rec, 2 blank, 3 bad, 4 rec, 5 "  \r", 6 rec without a line end.
        let text = b"{\"a\":1}\n\nnot json\n{\"a\":2}\n  \r\n{\"a\":3}";
        let mut lines = RecordLines::new(&text[..], &[3]);
        let mut seen = Vec::new();
        while let Some((row, line)) = lines.next_record().unwrap() {
            seen.push((row, line, lines.line().to_vec()));
        }
        assert_eq!(
            seen,
            [
                (0, 1, b"{\"a\":1}\n".to_vec()),
                (1, 4, b"{\"a\":2}\n".to_vec()),
                (2, 6, b"{\"a\":3}".to_vec()),
            ]
        );
    }

    #[test]
    fn record_lines_are_whole_across_the_read_buffers_end() {
        // 3 MiB of lines of every length up to 300 bytes, so lines straddle each 1 MiB buffer's
        // end; a byte-order mark first, blank and bad lines among them.
        let mut text = BOM.to_vec();
        let mut expected = Vec::new();
        let mut bad = Vec::new();
        let mut line_no = 0u64;
        while text.len() < 3 << 20 {
            line_no += 1;
            let line: Vec<u8> = match line_no % 97 {
                0 => b"   \r\n".to_vec(),
                1 if line_no > 1 => {
                    bad.push(line_no);
                    b"not json\n".to_vec()
                }
                n => format!(
                    "{{\"n\":\"{}\"}}\n",
                    "x".repeat((line_no as usize * 7 + n as usize) % 300)
                )
                .into_bytes(),
            };
            if line_no % 97 > 1 || line_no == 1 {
                expected.push((expected.len() as u64, line_no, line.clone()));
            }
            text.extend_from_slice(&line);
        }
        let mut lines = RecordLines::new(&text[..], &bad);
        let mut seen = Vec::new();
        while let Some((row, line)) = lines.next_record().unwrap() {
            seen.push((row, line, lines.line().to_vec()));
        }
        assert_eq!(seen.len(), expected.len());
        assert!(seen == expected);
    }
}
