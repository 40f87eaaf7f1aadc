//! The input files streamed into the bundle's own zip, each read once and written once (issue
//! 20). In: the open zip and the inputs in bundle-path order. Out: their entries written in that
//! order, and each input's SHA-256. How: one reader thread per core takes every n-th input, reads
//! it once under fsio's rules (a regular file inside its folder, no private key in it, the size it
//! was listed with) and hashes what it reads; a small input is also compressed there, into a
//! one-entry zip in memory, so deflating many small files uses every core; a large one is handed
//! over in 1 MiB chunks. This thread writes the pieces in input order, so the bytes never depend on
//! timing. Guarantees: bounded memory (each reader is at most `AHEAD` pieces ahead); a reader that
//! fails or stops is an error naming the input, never a hang.

use std::io::{Cursor, Seek, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::bag::{OpenZip, options, zip_error};
use super::copy::copy_input;
use super::inputs::Input;
use super::stream_minimised::{Streamed, stream_above, stream_minimised};
use crate::error::{Error, Result};
use crate::vocab::layout;

/// Inputs up to this size are compressed by their reader, in memory.
const SMALL: u64 = 4 << 20;

/// Pieces a reader may have sent that the writer has not taken: a few small entries or chunks.
const AHEAD: usize = 4;

/// The size of one read, and of one chunk of a large input.
const CHUNK: usize = 1 << 20;

/// What a reader hands the writer.
enum Piece {
    /// A small input whole: a one-entry zip in memory, and the input's SHA-256.
    Whole(Vec<u8>, String),
    /// The next bytes of a large input.
    Chunk(Vec<u8>),
    /// A large input done: its SHA-256.
    End(String),
}

/// How an input went into the zip.
pub(super) enum Written {
    /// Copied as it is: its SHA-256.
    Copied(String),
    /// Minimised on the way in (`stream_minimised`).
    Minimised(Streamed),
}

impl Written {
    pub(super) fn sha256(&self) -> &str {
        match self {
            Written::Copied(hash) => hash,
            Written::Minimised(streamed) => &streamed.sha256,
        }
    }
}

/// Where one input goes in the zip, and how.
struct Entry<'a> {
    name: String,
    input: &'a Input,
    stamp: zip::DateTime,
}

impl Entry<'_> {
    fn options(&self) -> zip::write::SimpleFileOptions {
        options(self.stamp, self.input.size, &self.input.dest)
    }
}

/// Write every input into `zip` (which will become `target`), in bundle-path order, with the
/// files made in memory (`made`: bundle path under `data/`, bytes) merged in where they sort;
/// the inputs' SHA-256s in order.
pub(super) fn stream_inputs<W: Write + Seek>(
    zip: &mut OpenZip<W>,
    target: &Path,
    (root, stamp): (&str, zip::DateTime),
    (inputs, made): (&[Input], &[(&str, &[u8])]),
    bar: &crate::progress::Bar,
) -> Result<Vec<Written>> {
    let entries: Vec<Entry<'_>> = inputs
        .iter()
        .map(|input| Entry {
            name: format!("{root}/{}{}", layout::DATA, input.dest),
            input,
            stamp,
        })
        .collect();
    let readers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    std::thread::scope(|scope| {
        let mut queues = Vec::with_capacity(readers);
        let mut handles = Vec::with_capacity(readers);
        for first in 0..readers {
            let (tx, rx) = sync_channel::<Result<Piece>>(AHEAD);
            let mine: Vec<&Entry<'_>> = entries.iter().skip(first).step_by(readers).collect();
            handles.push(scope.spawn(move || read_all(&mine, &tx)));
            queues.push(rx);
        }
        // `queues` moves in: when the writer stops early, the readers' sends fail and they end.
        let mut made = made.to_vec();
        made.sort_by(|a, b| a.0.cmp(b.0));
        let written = write_in_order(zip, (target, root, stamp), (&entries, &made), queues, bar);
        // Joined here, so a reader's panic is the writer's error, not the scope's panic.
        for handle in handles {
            let _ = handle.join();
        }
        written
    })
}

/// This reader's inputs, in order, as pieces; stops at the first error or when the writer is gone.
fn read_all(entries: &[&Entry<'_>], tx: &SyncSender<Result<Piece>>) {
    let mut buf = vec![0u8; CHUNK];
    // An input minimised on the way in is the writer's own work.
    for entry in entries.iter().filter(|e| e.input.minimise.is_none()) {
        let done = if entry.input.size <= SMALL {
            read_small(entry, &mut buf).map(|(bytes, hash)| Piece::Whole(bytes, hash))
        } else {
            let mut chunks = Chunks { tx, gone: false };
            match copy_input(entry.input, &mut chunks, &mut buf) {
                Err(_) if chunks.gone => return,
                done => done.map(Piece::End),
            }
        };
        let failed = done.is_err();
        if tx.send(done).is_err() || failed {
            return;
        }
    }
}

/// A small input as a one-entry zip in memory, compressed here.
fn read_small(entry: &Entry<'_>, buf: &mut [u8]) -> Result<(Vec<u8>, String)> {
    let capacity = usize::try_from(entry.input.size).unwrap_or(0) + 1024;
    let mut zip = OpenZip::new(Cursor::new(Vec::with_capacity(capacity)));
    let fail = |e| zip_error(&entry.input.source, e);
    zip.start_file(entry.name.as_str(), entry.options())
        .map_err(fail)?;
    let hash = copy_input(entry.input, &mut *zip, buf)?;
    let bytes = zip.finish().map_err(fail)?.into_inner();
    Ok((bytes, hash))
}

/// The chunks of a large input, sent as they are read.
struct Chunks<'a> {
    tx: &'a SyncSender<Result<Piece>>,
    /// The writer is gone: stop quietly, it reports why.
    gone: bool,
}

impl Write for Chunks<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.tx.send(Ok(Piece::Chunk(bytes.to_vec()))).is_err() {
            self.gone = true;
            return Err(std::io::Error::other("the bundle writer stopped"));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The pieces written in input order: input `i` comes from reader `i mod readers`. A file made
/// in memory is written where it sorts among them.
fn write_in_order<W: Write + Seek>(
    zip: &mut OpenZip<W>,
    (target, root, stamp): (&Path, &str, zip::DateTime),
    (entries, made): (&[Entry<'_>], &[(&str, &[u8])]),
    queues: Vec<Receiver<Result<Piece>>>,
    bar: &crate::progress::Bar,
) -> Result<Vec<Written>> {
    let fail = |e| zip_error(target, e);
    let mut made = made.iter().peekable();
    let mut put_made = |zip: &mut OpenZip<W>, before: Option<&str>| -> Result<()> {
        while let Some((dest, bytes)) = made.next_if(|(d, _)| before.is_none_or(|b| *d < b)) {
            let name = format!("{root}/{}{dest}", layout::DATA);
            zip.start_file(name, options(stamp, bytes.len() as u64, dest))
                .map_err(fail)?;
            zip.write_all(bytes)
                .map_err(|e| Error::io("cannot write", target, e))?;
        }
        Ok(())
    };
    let mut hashes = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        put_made(zip, Some(&entry.input.dest))?;
        if let Some(plan) = &entry.input.minimise {
            let held = usize::try_from(stream_above()).unwrap_or(usize::MAX);
            let streamed = stream_minimised(zip, (&entry.name, stamp), (entry.input, plan), held)?;
            hashes.push(Written::Minimised(streamed));
            bar.inc(entry.input.size);
            continue;
        }
        let queue = queues
            .get(i % queues.len().max(1))
            .ok_or_else(|| Error::Internal("no bundle reader".into()))?;
        let next = || -> Result<Piece> {
            queue.recv().map_err(|_| {
                Error::Internal(format!(
                    "the reader of {} stopped unexpectedly ({})",
                    entry.input.source.display(),
                    crate::error::last_panic()
                ))
            })?
        };
        if entry.input.size <= SMALL {
            let Piece::Whole(bytes, hash) = next()? else {
                return Err(Error::Internal("a small input came in chunks".into()));
            };
            let mut one = zip::ZipArchive::new(Cursor::new(bytes)).map_err(fail)?;
            zip.raw_copy_file(one.by_index_raw(0).map_err(fail)?)
                .map_err(fail)?;
            hashes.push(Written::Copied(hash));
        } else {
            zip.start_file(entry.name.as_str(), entry.options())
                .map_err(fail)?;
            loop {
                match next()? {
                    Piece::Chunk(bytes) => zip
                        .write_all(&bytes)
                        .map_err(|e| Error::io("cannot write", target, e))?,
                    Piece::End(hash) => break hashes.push(Written::Copied(hash)),
                    Piece::Whole(..) => {
                        return Err(Error::Internal("a large input came whole".into()));
                    }
                }
            }
        }
        bar.inc(entry.input.size);
    }
    put_made(zip, None)?;
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::InputRole;
    use std::io::Read;

    fn input(path: &Path, dest: &str) -> Input {
        Input {
            role: InputRole::AuditEvidence,
            source: path.to_path_buf(),
            dest: dest.into(),
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

    /// Bytes that neither repeat nor compress to nothing: a counter's little-endian words.
    fn content(len: usize, seed: u32) -> Vec<u8> {
        (0..len / 4 + 1)
            .flat_map(|i| {
                (i as u32)
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(seed)
                    .to_le_bytes()
            })
            .take(len)
            .collect()
    }

    fn stream(inputs: &[Input]) -> (Result<Vec<String>>, Vec<u8>) {
        stream_with(inputs, &[])
    }

    fn stream_with(inputs: &[Input], made: &[(&str, &[u8])]) -> (Result<Vec<String>>, Vec<u8>) {
        let mut zip = OpenZip::new(Cursor::new(Vec::new()));
        let stamp = zip::DateTime::default();
        let bar = crate::progress::Bar::bytes("test", 0);
        let hashes = stream_inputs(
            &mut zip,
            Path::new("t.zip"),
            ("root", stamp),
            (inputs, made),
            &bar,
        );
        let bytes = match &hashes {
            Ok(_) => zip.finish().unwrap().into_inner(),
            Err(_) => Vec::new(),
        };
        let hashes = hashes.map(|w| w.iter().map(|w| w.sha256().to_string()).collect());
        (hashes, bytes)
    }

    #[test]
    fn every_input_lands_once_in_order_with_its_hash() {
        let tmp = tempfile::tempdir().unwrap();
        // Empty, small (compressed by a reader), and two past `SMALL` (sent in chunks): more
        // inputs than readers, so each reader takes several, big and small interleaved.
        let sizes = [0, 10, 5 << 20, 3000, (9 << 20) + 7, 1];
        let inputs: Vec<Input> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| {
                let path = tmp.path().join(format!("f{i}"));
                std::fs::write(&path, content(len, i as u32)).unwrap();
                input(&path, &format!("evidence/f{i}"))
            })
            .collect();
        // Files made in memory go where they sort: first, between f2 and f3, last.
        let made: [(&str, &[u8]); 3] = [
            ("evidence/f2a", b"between"),
            ("audits/x.csv", b"first"),
            ("evidence/zz", b"last"),
        ];
        let (hashes, bytes) = stream_with(&inputs, &made);
        let hashes = hashes.unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().to_string())
            .collect();
        let want = [
            "audits/x.csv",
            "evidence/f0",
            "evidence/f1",
            "evidence/f2",
            "evidence/f2a",
            "evidence/f3",
            "evidence/f4",
            "evidence/f5",
            "evidence/zz",
        ]
        .map(|n| format!("root/data/{n}"));
        assert_eq!(names, want);
        let mut between = String::new();
        zip.by_name("root/data/evidence/f2a")
            .unwrap()
            .read_to_string(&mut between)
            .unwrap();
        assert_eq!(between, "between");
        for (i, &len) in sizes.iter().enumerate() {
            let mut entry = zip.by_name(&format!("root/data/evidence/f{i}")).unwrap();
            assert_eq!(entry.name(), format!("root/data/evidence/f{i}"));
            let mut got = Vec::new();
            entry.read_to_end(&mut got).unwrap();
            assert_eq!(got, content(len, i as u32), "entry {i}");
            // sha2 here, independently of the copy that hashed it.
            assert_eq!(hashes[i], crate::digest::sha256_hex(&got), "entry {i}");
        }
    }

    #[test]
    fn an_input_that_changed_size_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let small = tmp.path().join("small");
        let large = tmp.path().join("large");
        std::fs::write(&small, b"abc").unwrap();
        std::fs::write(&large, content(6 << 20, 1)).unwrap();
        let mut inputs = [input(&small, "a"), input(&large, "b")];
        // Listed bigger than they are, as if each had been cut short after listing.
        inputs[0].size += 1;
        inputs[1].size += 1;
        for one in [&inputs[..1], &inputs[1..]] {
            let err = stream(one).0.unwrap_err().to_string();
            assert!(err.contains("changed while being read"), "{err}");
            assert!(err.contains(&one[0].source.display().to_string()), "{err}");
        }
    }

    #[test]
    fn a_private_key_is_refused_from_either_path() {
        let tmp = tempfile::tempdir().unwrap();
        let key =
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        let small = tmp.path().join("small.pem");
        std::fs::write(&small, key).unwrap();
        let mut big = content(5 << 20, 2);
        big.extend_from_slice(key);
        let large = tmp.path().join("large.txt");
        std::fs::write(&large, big).unwrap();
        for path in [&small, &large] {
            let err = stream(&[input(path, "k")]).0.unwrap_err().to_string();
            assert!(err.to_lowercase().contains("private key"), "{err}");
        }
    }
}
