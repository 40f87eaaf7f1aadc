//! A large log file's minimised extract written straight into the bundle's zip (issue 20). In:
//! the open zip, the entry's name and bundle path, the input (its original, listed size, and
//! `Minimise` plan). Out: the entry, written where the input sorts, and what `sources.csv` and the
//! manifest need: the extract's size and SHA-256, the original's size and SHA-256. Why: the
//! extract of a 16 GB file is gigabytes; written to a spool first, then copied into the zip, it
//! was written twice and read once more. Guarantees: an extract that turns out small (up to
//! `HELD` bytes, kept in memory) is written as every other entry of its size (deflated), byte
//! for byte as a spooled one would be; a larger one is stored, as large entries are, but with the
//! zip64 header from the start, since its size is not known when the entry begins; a private key
//! in it is refused, as in any input; the original must still have the size it was listed with;
//! a panic in the minimiser is an error naming the file.

use std::io::{Seek, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::bag::{OpenZip, options, zip_error};
use super::inputs::{Input, Origin};
use super::minimise::Minimise;
use crate::error::{Error, Result};
use crate::fsio::KeyScanner;

/// Originals larger than this have their extract written straight into the zip; smaller ones
/// go through the spool with the other cuts, so their deflating stays on every core. An extract
/// up to the same size is held in memory and written as a sized entry (the largest entry the
/// bundle deflates). 64 MiB, or `DOSSIER_STREAM_EXTRACT_BYTES` (for tests that stream the
/// sample's small files).
pub(super) fn stream_above() -> u64 {
    std::env::var("DOSSIER_STREAM_EXTRACT_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64 << 20)
}

/// What writing one extract into the zip gives the bundle.
pub(super) struct Streamed {
    pub sha256: String,
    pub size: u64,
    pub origin: Origin,
}

/// Minimise `input` (its plan) straight into `zip` as entry `name`, an extract up to `held`
/// bytes (`stream_above`) as a sized entry.
pub(super) fn stream_minimised<W: Write + Seek>(
    zip: &mut OpenZip<W>,
    (name, stamp): (&str, zip::DateTime),
    (input, plan): (&Input, &Minimise),
    held: usize,
) -> Result<Streamed> {
    let mut sink = Sink {
        limit: held,
        zip,
        name,
        dest: &input.dest,
        stamp,
        source: &input.source,
        held: Vec::new(),
        started: false,
        hasher: Sha256::new(),
        size: 0,
        scanner: KeyScanner::default(),
        failed: None,
    };
    let filled = crate::error::contain(&input.source, "minimising the extract", || {
        super::minimise::fill(&input.source, plan, &mut sink)
    });
    // The sink's own failure (a private key, the zip) is the cause of the minimiser's write error.
    if let Some(e) = sink.failed.take() {
        return Err(e);
    }
    let (original_size, original_sha256) = filled?;
    super::copy::unchanged(input, original_size)?;
    let (size, sha256) = sink.finish()?;
    Ok(Streamed {
        sha256,
        size,
        origin: Origin {
            path: input.source.clone(),
            size: original_size,
            sha256: original_sha256,
        },
    })
}

/// The extract's bytes on their way into the zip: hashed, scanned for a private key, held until
/// they pass `limit`, then written through.
struct Sink<'a, W: Write + Seek> {
    zip: &'a mut OpenZip<W>,
    name: &'a str,
    dest: &'a str,
    stamp: zip::DateTime,
    source: &'a Path,
    limit: usize,
    held: Vec<u8>,
    /// The entry has begun in the zip (the extract passed `limit`).
    started: bool,
    hasher: Sha256,
    size: u64,
    scanner: KeyScanner,
    failed: Option<Error>,
}

impl<W: Write + Seek> Sink<'_, W> {
    fn take(&mut self, bytes: &[u8]) -> Result<()> {
        self.scanner.scan(self.source, bytes)?;
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        if !self.started && self.held.len() + bytes.len() <= self.limit {
            self.held.extend_from_slice(bytes);
            return Ok(());
        }
        if !self.started {
            // Unknown size: stored, with the zip64 header (`options` of the largest size).
            self.begin(u64::MAX)?;
            self.started = true;
        }
        self.zip
            .write_all(bytes)
            .map_err(|e| Error::io("cannot write the minimised extract of", self.source, e))
    }

    /// Begin the entry and write what is held.
    fn begin(&mut self, size: u64) -> Result<()> {
        self.zip
            .start_file(self.name, options(self.stamp, size, self.dest))
            .map_err(|e| zip_error(self.source, e))?;
        let held = std::mem::take(&mut self.held);
        self.zip
            .write_all(&held)
            .map_err(|e| Error::io("cannot write the minimised extract of", self.source, e))
    }

    /// The entry complete; the extract's size and SHA-256.
    fn finish(mut self) -> Result<(u64, String)> {
        if !self.started {
            self.begin(self.held.len() as u64)?;
        }
        Ok((self.size, crate::digest::hex(&self.hasher.finalize())))
    }
}

impl<W: Write + Seek> Write for Sink<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() {
            return Err(std::io::Error::other("the extract's entry failed"));
        }
        match self.take(bytes) {
            Ok(()) => Ok(bytes.len()),
            Err(e) => {
                self.failed = Some(e);
                Err(std::io::Error::other("the extract's entry failed"))
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;
    use crate::config::{FieldMap, LogFormat};
    use crate::vocab::InputRole;

    fn plan() -> Minimise {
        Minimise {
            format: LogFormat::Ndjson,
            fields: FieldMap::default(),
            rows: Some((0..400).step_by(3).collect()),
            bad_lines: Vec::new(),
            redact: Vec::new(),
            key: [0; 32],
            shown: "logs.ndjson".into(),
        }
    }

    fn input(path: &Path) -> Input {
        Input {
            role: InputRole::LogExtract,
            source: path.to_path_buf(),
            dest: "logs/logs.ndjson.minimised.ndjson".into(),
            size: std::fs::metadata(path).unwrap().len(),
            mtime: String::new(),
            modified: None,
            system: None,
            within: None,
            origin: None,
            excerpt: None,
            minimise: None,
            spooled: None,
        }
    }

    /// The zip of one streamed entry, or the error.
    fn streamed(input: &Input, held: usize) -> Result<(Streamed, Vec<u8>)> {
        let mut zip = OpenZip::new(Cursor::new(Vec::new()));
        let stamp = zip::DateTime::default();
        let out = stream_minimised(&mut zip, ("b/data/x", stamp), (input, &plan()), held)?;
        Ok((out, zip.finish().unwrap().into_inner()))
    }

    fn log_file(dir: &Path, extra: &str) -> std::path::PathBuf {
        let path = dir.join("logs.ndjson");
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&format!(
                "{{\"timestamp\":\"2026-07-01T00:00:{:02}Z\",\"model\":\"m\",\"latency_ms\":{i}.5,\"status\":200,\"extra\":\"{extra}\"}}\n",
                i % 60
            ));
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn held_and_streamed_entries_hold_the_spooled_extract() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_file(dir.path(), "unmapped");
        let original = std::fs::read(&path).unwrap();
        // What the spool would hold: the minimiser's output, written anywhere.
        let mut expected = Vec::new();
        super::super::minimise::fill(&path, &plan(), &mut expected).unwrap();
        assert_eq!(expected.iter().filter(|b| **b == b'\n').count(), 134);
        for (held, method, zip64) in [
            (1 << 20, zip::CompressionMethod::Deflated, false),
            (1024, zip::CompressionMethod::Stored, true),
        ] {
            let (out, bytes) = streamed(&input(&path), held).unwrap();
            assert_eq!(out.size, expected.len() as u64);
            assert_eq!(out.sha256, crate::digest::sha256_hex(&expected));
            assert_eq!(out.origin.size, original.len() as u64);
            assert_eq!(out.origin.sha256, crate::digest::sha256_hex(&original));
            let mut archive = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
            let mut entry = archive.by_name("b/data/x").unwrap();
            assert_eq!(entry.compression(), method);
            let mut got = Vec::new();
            entry.read_to_end(&mut got).unwrap();
            assert_eq!(got, expected);
            // Zip64's extra field (id 0x0001) in the local header, only when the size was unknown.
            let extra_len = u16::from_le_bytes([bytes[28], bytes[29]]);
            let extra = &bytes[30 + 8..30 + 8 + extra_len as usize];
            assert_eq!(extra.starts_with(&[1, 0]), zip64, "{extra:?}");
        }
    }

    #[test]
    fn a_changed_original_and_a_private_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_file(dir.path(), "x");
        let mut listed = input(&path);
        listed.size -= 1;
        let e = streamed(&listed, 1024).err().unwrap().to_string();
        assert!(e.contains("changed while being read"), "{e}");
        // A key in a mapped field reaches the extract: refused, in memory or streamed.
        let path = dir.path().join("logs.ndjson");
        let line =
            "{\"timestamp\":\"2026-07-01T00:00:00Z\",\"model\":\"-----BEGIN PRIVATE KEY-----\"}\n";
        std::fs::write(&path, line.repeat(400)).unwrap();
        for held in [1 << 20, 16] {
            let e = streamed(&input(&path), held).err().unwrap().to_string();
            assert!(e.contains("private key"), "{e}");
        }
    }
}
