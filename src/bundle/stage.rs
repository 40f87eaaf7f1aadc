//! Phase one of a build: the input files staged. In: the inputs to copy (`inputs::Input`) and the
//! files generated from the KPI document. Out: `Staged`, the bundle's zip begun beside its target
//! with every input in it (and the generated files that sort among them) (`stream`: each read once, hashed while it is written, on every core),
//! each input's SHA-256 and size, and the chain of custody (`data/sources.csv`). Guarantees: each
//! input is read exactly once and written exactly once, into the zip that is published; it must
//! still have the size it had when it was listed; the unfinished zip is removed when `Staged` is
//! dropped before it is published, whatever happens.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::bag::OpenZip;
use super::generated::Generated;
use super::inputs::{Described, Input};
use super::tables::write_csv;
use super::writer;
use crate::config::shown_under;
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::vocab::layout;

/// One payload file in the evidence index.
#[derive(Debug, Clone, Serialize)]
pub struct Indexed {
    /// Path inside the bag, `data/…`.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// Inputs written into the bundle's zip and hashed; generated files held in memory.
pub struct Staged {
    pub(super) root: String,
    /// The bundle's zip beside its target, the inputs in it; finished by `Sealed::write`.
    pub(super) zip: Option<(OpenZip<File>, writer::Prepared)>,
    pub(super) time: zip::DateTime,
    pub(super) inputs: Vec<Input>,
    /// Sources described in `sources.csv` but not carried.
    pub(super) described: Vec<Described>,
    /// The config's folder: original paths are shown relative to it.
    pub(super) base: PathBuf,
    /// dest → sha256
    pub(super) staged: BTreeMap<String, String>,
    /// Generated files already in the zip, written among the inputs where they sort.
    pub(super) written_early: std::collections::BTreeSet<String>,
    pub(super) generated: Vec<Generated>,
    pub(super) sources_csv: Vec<u8>,
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

/// Begin the bundle's zip beside `target` and write every input into it.
pub fn stage(
    (root, base): (&str, &Path),
    target: &Path,
    (inputs, described): (Vec<Input>, Vec<Described>),
    generated: Vec<Generated>,
    stamp: zip::DateTime,
) -> Result<Staged> {
    fix_mmap_threshold();
    let (prepared, file) = writer::start(target)?;
    let mut zip = OpenZip::new(file);
    let total: u64 = inputs.iter().map(|i| i.size).sum();
    let bar = crate::progress::Bar::bytes("hashing and zipping", total);
    // The files already made that sort among the inputs go in with them, so the payload stays
    // in sorted order; those made later (standard documents, report, sources.csv) sort after
    // every input (`data/evidence/…`).
    let last_input = inputs
        .iter()
        .map(|i| i.dest.as_str())
        .max()
        .unwrap_or_default();
    let early: Vec<(&str, &[u8])> = generated
        .iter()
        .filter(|g| g.dest.as_str() < last_input)
        .map(|g| (g.dest.as_str(), &g.bytes[..]))
        .collect();
    let hashes =
        super::stream::stream_inputs(&mut zip, target, (root, stamp), (&inputs, &early), &bar)?;
    let written_early = early.iter().map(|(d, _)| d.to_string()).collect();
    bar.finish();
    if hashes.len() != inputs.len() {
        return Err(Error::Internal("an input was not hashed".into()));
    }
    let mut inputs = inputs;
    let mut staged_hashes = BTreeMap::new();
    for (input, written) in inputs.iter_mut().zip(hashes) {
        staged_hashes.insert(input.dest.clone(), written.sha256().to_string());
        // A large log file minimised on its way in: the entry holds its extract.
        if let super::stream::Written::Minimised(streamed) = written {
            input.size = streamed.size;
            input.minimise = None;
            input.origin.get_or_insert(streamed.origin);
        }
    }
    let mut staged = Staged {
        root: root.to_string(),
        zip: Some((zip, prepared)),
        time: stamp,
        inputs,
        described,
        base: base.to_path_buf(),
        staged: staged_hashes,
        written_early,
        generated,
        sources_csv: Vec::new(),
    };
    staged.sources_csv = sources_csv(&staged)?;
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
        self.staged.get(dest).cloned().unwrap_or_default()
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
        source_rows(self)
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

/// One row of `data/sources.csv` (and of the report's sources register).
#[derive(Serialize, Default)]
pub struct SourceRow {
    role: &'static str,
    original_path: String,
    bundle_path: String,
    /// Empty where unknown: never a made-up 0.
    size: Option<u64>,
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
fn sources_csv(staged: &Staged) -> Result<Vec<u8>> {
    write_csv(&source_rows(staged), layout::SOURCES)
}

/// The rows of `sources.csv`. An excerpt is described by the file it was cut from; the
/// manifest has the excerpt's own hash.
fn source_rows(staged: &Staged) -> Vec<SourceRow> {
    let mut sorted: Vec<&Input> = staged.inputs.iter().collect();
    sorted.sort_by(|a, b| a.dest.cmp(&b.dest));
    let mut rows: Vec<SourceRow> = sorted
        .into_iter()
        .map(|i| {
            let hash = staged.hash_of(&i.dest);
            let (path, size, sha256) = match &i.origin {
                Some(o) => (&o.path, o.size, o.sha256.clone()),
                None => (&i.source, i.size, hash),
            };
            SourceRow {
                role: i.role.as_str(),
                original_path: shown_under(&staged.base, path),
                bundle_path: format!("{}{}", layout::DATA, i.dest),
                size: Some(size),
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
