//! Phase one of a build: the input files staged. In: the inputs to copy (`inputs::Input`) and the
//! files generated from the KPI document. Out: `Staged`, every input streamed once into a staging
//! zip beside the output — one staging zip per worker thread, so many files are hashed on all
//! cores — with its SHA-256 and size, and the chain of custody (`data/sources.csv`). Guarantees:
//! each input is read exactly once, hashed while it is deflated, and must still have the size it
//! had when it was listed; the staging zips are removed when `Staged` is dropped, whatever happens.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::bag::{OpenZip, options, zip_error};
use super::generated::Generated;
use super::inputs::{Described, Input};
use super::tables::write_csv;
use crate::config::shown_under;
use crate::digest::{CopyError, copy_hashing_with, sha256_hex};
use crate::error::{Error, Result};
use crate::fsio::{KeyScanner, open_regular};
use crate::vocab::layout;

/// One payload file in the evidence index.
#[derive(Debug, Clone, Serialize)]
pub struct Indexed {
    /// Path inside the bag, `data/…`.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// Inputs staged and hashed; generated files held in memory.
pub struct Staged {
    pub(super) root: String,
    /// One staging zip per worker.
    pub(super) stagings: Vec<PathBuf>,
    pub(super) time: zip::DateTime,
    pub(super) inputs: Vec<Input>,
    /// Sources described in `sources.csv` but not carried.
    pub(super) described: Vec<Described>,
    /// The config's folder: original paths are shown relative to it.
    pub(super) base: PathBuf,
    /// dest → (sha256, (staging zip, index of the entry in it))
    pub(super) staged: BTreeMap<String, (String, (usize, usize))>,
    pub(super) generated: Vec<Generated>,
    pub(super) sources_csv: Vec<u8>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for path in &self.stagings {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Split inputs into at most `workers` groups of similar total size (largest first), keeping
/// each group in input order.
fn partition(inputs: &[Input], workers: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<(usize, u64)> = inputs.iter().map(|i| i.size).enumerate().collect();
    order.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
    let mut groups: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); workers.max(1)];
    for (i, size) in order {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += size;
            g.1.push(i);
        }
    }
    groups
        .into_iter()
        .map(|(_, mut g)| {
            g.sort_unstable();
            g
        })
        .filter(|g| !g.is_empty())
        .collect()
}

/// One worker: stream its inputs into its own staging zip; returns (dest, sha256, index).
fn stage_group(
    root: &str,
    path: &Path,
    group: &[&Input],
    (stamp, bar): (zip::DateTime, &crate::progress::Bar),
) -> Result<Vec<(String, String, usize)>> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("cannot create", path, e))?;
    let mut zip = OpenZip::new(file);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for (index, input) in group.iter().enumerate() {
        zip.start_file(
            format!("{root}/{}{}", layout::DATA, input.dest),
            options(stamp, input.size, &input.dest),
        )
        .map_err(|e| zip_error(path, e))?;
        out.push((
            input.dest.clone(),
            copy_input(input, &mut zip, &mut buf)?,
            index,
        ));
        bar.inc(input.size);
    }
    zip.finish().map_err(|e| zip_error(path, e))?;
    Ok(out)
}

/// glibc raises its mmap threshold each time a large block is freed, so later blocks of a
/// megabyte or so (a deflate state per zip entry, a read buffer per file) come from the heap,
/// between small allocations that outlive them, and the heap only grows: staging 10,000 small
/// log files peaked at 3.4 GiB, with the threshold fixed at glibc's default (128 KiB) at
/// 0.26 GiB. It is fixed here, not at start-up: the log pass before it allocates large blocks
/// by the thousand, and mapping each costs it twice its time.
fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets an allocator parameter under the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

pub fn stage(
    (root, base): (&str, &Path),
    out_dir: &Path,
    (inputs, described): (Vec<Input>, Vec<Described>),
    generated: Vec<Generated>,
    stamp: zip::DateTime,
) -> Result<Staged> {
    fix_mmap_threshold();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let groups = partition(&inputs, workers);
    let stagings: Vec<PathBuf> = (0..groups.len())
        .map(|w| out_dir.join(format!(".{root}.staging-{}-{w}", std::process::id())))
        .collect();
    let mut staged = Staged {
        root: root.to_string(),
        stagings,
        time: stamp,
        inputs,
        described,
        base: base.to_path_buf(),
        staged: BTreeMap::new(),
        generated,
        sources_csv: Vec::new(),
    };
    let total: u64 = staged.inputs.iter().map(|i| i.size).sum();
    let bar = crate::progress::Bar::bytes("hashing and zipping", total);
    let results: Vec<Result<Vec<(String, String, usize)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .zip(&staged.stagings)
            .map(|(group, path)| {
                let members: Vec<&Input> =
                    group.iter().filter_map(|&i| staged.inputs.get(i)).collect();
                let bar = bar.clone();
                scope.spawn(move || stage_group(root, path, &members, (stamp, &bar)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Internal(
                        "a staging worker stopped unexpectedly".into(),
                    ))
                })
            })
            .collect()
    });
    for (worker, result) in results.into_iter().enumerate() {
        for (dest, hash, index) in result? {
            staged.staged.insert(dest, (hash, (worker, index)));
        }
    }
    bar.finish();
    staged.sources_csv = sources_csv(&staged, &staged.staged)?;
    Ok(staged)
}

impl Staged {
    /// Every staged input as the standard documents cite it: role, origin, bag path, SHA-256.
    pub fn carried(&self) -> Vec<crate::standards::Carried> {
        self.inputs
            .iter()
            .map(|i| crate::standards::Carried {
                role: i.role,
                source: i.source.clone(),
                system: i.system.clone(),
                path: format!("{}{}", layout::DATA, i.dest),
                sha256: self.hash_of(&i.dest),
            })
            .collect()
    }

    /// Files made after staging from what was staged (the standard documents).
    pub fn add_generated(&mut self, files: impl IntoIterator<Item = Generated>) {
        self.generated.extend(files);
        self.generated.sort_by(|a, b| a.dest.cmp(&b.dest));
    }

    fn hash_of(&self, dest: &str) -> String {
        self.staged
            .get(dest)
            .map(|(h, _)| h.clone())
            .unwrap_or_default()
    }

    /// Every payload file but the report, with its hash: what the report's evidence index lists.
    pub fn evidence_index(&self) -> Vec<Indexed> {
        let mut out: Vec<Indexed> = self
            .generated
            .iter()
            .map(|g| Indexed {
                path: format!("{}{}", layout::DATA, g.dest),
                sha256: sha256_hex(&g.bytes),
                size: g.bytes.len() as u64,
            })
            .chain(self.inputs.iter().map(|i| Indexed {
                path: format!("{}{}", layout::DATA, i.dest),
                sha256: self.hash_of(&i.dest),
                size: i.size,
            }))
            .collect();
        out.push(Indexed {
            path: layout::SOURCES.to_string(),
            sha256: sha256_hex(&self.sources_csv),
            size: self.sources_csv.len() as u64,
        });
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// The chain of custody, sorted by bundle path: each input's role, original path (shown
    /// relative to the config folder), bundle path, size, mtime and hash (an excerpt's original).
    pub fn sources(&self) -> Vec<SourceRow> {
        source_rows(self, &self.staged)
    }

    /// Every input path as the KPI document spells it → where the report shows it and, when the
    /// bag carries it, its bundle path.
    pub fn locations(&self) -> BTreeMap<String, Location> {
        let carried = self.inputs.iter().map(|i| {
            let path = i.origin.as_ref().map_or(&i.source, |o| &o.path);
            (path, Some(format!("{}{}", layout::DATA, i.dest)))
        });
        let described = self.described.iter().map(|d| {
            let bundle = (!d.bundle_path.is_empty()).then(|| d.bundle_path.clone());
            (&d.path, bundle)
        });
        carried
            .chain(described)
            .map(|(path, bundle)| {
                let shown = shown_under(&self.base, path);
                (path.display().to_string(), Location { shown, bundle })
            })
            .collect()
    }

    /// `Payload-Oxum`: total bytes and file count of the payload.
    pub fn oxum(&self, report: Option<&[u8]>) -> (u64, usize) {
        let bytes = self
            .generated
            .iter()
            .map(|g| g.bytes.len() as u64)
            .sum::<u64>()
            + self.inputs.iter().map(|i| i.size).sum::<u64>()
            + self.sources_csv.len() as u64
            + report.map_or(0, |r| r.len() as u64);
        let files = self.generated.len() + self.inputs.len() + 1 + usize::from(report.is_some());
        (bytes, files)
    }
}

/// A reader that refuses to pass on a PEM private key.
struct Refusing<'a> {
    file: Box<dyn Read + 'a>,
    path: &'a Path,
    scanner: KeyScanner,
    refused: Option<Error>,
}

impl Read for Refusing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if let Err(e) = self
            .scanner
            .scan(self.path, buf.get(..n).unwrap_or_default())
        {
            self.refused = Some(e);
            return Err(std::io::Error::other("private key"));
        }
        Ok(n)
    }
}

/// Copy an input into the open zip entry, hashing the same bytes. The file is opened under fsio's
/// rules (a regular file, inside its folder), must hold no private key, and must still have the
/// size it had when it was listed.
fn copy_input<W: Write + Seek>(
    input: &Input,
    zip: &mut OpenZip<W>,
    buf: &mut [u8],
) -> Result<String> {
    let file: Box<dyn Read> = match input.spooled {
        Some(offset) => {
            let mut spool = std::fs::File::open(&input.source)
                .map_err(|e| Error::io("cannot read", &input.source, e))?;
            spool
                .seek(std::io::SeekFrom::Start(offset))
                .map_err(|e| Error::io("cannot read", &input.source, e))?;
            Box::new(spool.take(input.size))
        }
        None => Box::new(open_regular(&input.source, "evidence", input.within.as_deref())?.0),
    };
    let mut reader = Refusing {
        file,
        path: &input.source,
        scanner: KeyScanner::default(),
        refused: None,
    };
    let copied = copy_hashing_with(&mut reader, &mut **zip, buf);
    if let Some(e) = reader.refused {
        return Err(e);
    }
    let (total, hash) = copied.map_err(|e| match e {
        CopyError::Read(e) => Error::io("cannot read", &input.source, e),
        CopyError::Write(e) => Error::io("cannot write the zip for", &input.source, e),
    })?;
    if total != input.size {
        return Err(Error::Bundle {
            path: input.source.clone(),
            message: format!(
                "changed while being read ({} bytes listed, {total} read)",
                input.size
            ),
        });
    }
    Ok(hash)
}

/// One row of `data/sources.csv` (and of the report's sources register).
#[derive(Serialize, Default)]
pub struct SourceRow {
    role: &'static str,
    original_path: String,
    bundle_path: String,
    size: u64,
    mtime: String,
    sha256: String,
}

/// Where the report shows a path, and the bag's copy of it.
#[derive(Serialize, Debug, Clone)]
pub struct Location {
    /// Relative to the config folder; absolute only outside it.
    pub shown: String,
    /// `data/…`; null when the bag does not carry the file.
    pub bundle: Option<String>,
}

/// `data/sources.csv`, sorted by bundle path.
fn sources_csv(
    staged: &Staged,
    hashes: &BTreeMap<String, (String, (usize, usize))>,
) -> Result<Vec<u8>> {
    write_csv(&source_rows(staged, hashes), layout::SOURCES)
}

/// The rows of `sources.csv`. An excerpt is described by the file it was cut from; the
/// manifest has the excerpt's own hash.
fn source_rows(
    staged: &Staged,
    hashes: &BTreeMap<String, (String, (usize, usize))>,
) -> Vec<SourceRow> {
    let mut sorted: Vec<&Input> = staged.inputs.iter().collect();
    sorted.sort_by(|a, b| a.dest.cmp(&b.dest));
    let mut rows: Vec<SourceRow> = sorted
        .into_iter()
        .map(|i| {
            let hash = hashes
                .get(&i.dest)
                .map(|(h, _)| h.clone())
                .unwrap_or_default();
            let (path, size, sha256) = match &i.origin {
                Some(o) => (&o.path, o.size, o.sha256.clone()),
                None => (&i.source, i.size, hash),
            };
            SourceRow {
                role: i.role.as_str(),
                original_path: shown_under(&staged.base, path),
                bundle_path: format!("{}{}", layout::DATA, i.dest),
                size,
                mtime: i.mtime.clone(),
                sha256,
            }
        })
        .chain(staged.described.iter().map(|d| SourceRow {
            role: d.role.as_str(),
            original_path: shown_under(&staged.base, &d.path),
            bundle_path: d.bundle_path.clone(),
            size: d.size,
            mtime: d.mtime.clone(),
            sha256: d.sha256.clone(),
        }))
        .collect();
    rows.sort_by(|a, b| {
        (&a.bundle_path, &a.original_path).cmp(&(&b.bundle_path, &b.original_path))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::InputRole;

    #[test]
    fn partition_balances_sizes_and_keeps_every_input_once() {
        let input = |size| Input {
            role: InputRole::Audit,
            source: PathBuf::new(),
            dest: String::new(),
            size,
            mtime: String::new(),
            modified: None,
            system: None,
            within: None,
            origin: None,
            excerpt: None,
            minimise: None,
            spooled: None,
        };
        let inputs: Vec<Input> = [100, 1, 50, 50, 2].into_iter().map(input).collect();
        let groups = partition(&inputs, 2);
        // Largest first onto the lighter group (ties to the first): 100 | 50+50 | then 2 and 1.
        assert_eq!(groups, vec![vec![0, 4], vec![1, 2, 3]]);
        let mut all: Vec<usize> = partition(&inputs, 8).concat();
        all.sort();
        assert_eq!(all, [0, 1, 2, 3, 4]);
        assert_eq!(partition(&[], 4), Vec::<Vec<usize>>::new());
    }
}
