//! The BagIt 1.0 bag (RFC 8493) as zip entries, built in two steps so that every input is read
//! exactly once and the report can list every hash. `stage` streams each input file into a
//! staging zip beside the output, hashing (and deflating) it on the way — one staging zip per
//! worker thread, so many files are hashed on all cores; the report is then typeset with those
//! hashes; `Staged::finish` writes the final zip in sorted order — `bag-info.txt` (whose
//! `Payload-Oxum` needs every size, the report's too) first — copying the staged entries raw,
//! without decompressing or reading the inputs again, then the manifests and signatures.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::data::Input;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::sign::{self, hex};

const SOURCES: &str = "sources.csv";
const REPORT: &str = "report/report.pdf";
/// Files larger than this, and already-compressed ones, are stored rather than deflated: deflating
/// gigabytes of log extract on one core would dominate the build for little gain.
const DEFLATE_LIMIT: u64 = 64 << 20;

/// `dossier-<organisation>-<start>_<end>[-<request id>]`, lowercase, `[a-z0-9.-]` only.
pub fn bundle_name(config: &Config) -> String {
    let mut name = format!(
        "dossier-{}-{}_{}",
        slug(&config.organization),
        config.period.start,
        config.period.end
    );
    if let Some(id) = &config.scope.request_id {
        name.push('-');
        name.push_str(&slug(id));
    }
    name
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

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
    root: String,
    /// One staging zip per worker.
    stagings: Vec<PathBuf>,
    time: zip::DateTime,
    inputs: Vec<Input>,
    /// dest → (sha256, (staging zip, index of the entry in it))
    staged: BTreeMap<String, (String, (usize, usize))>,
    generated: Vec<(String, Vec<u8>)>,
    sources_csv: Vec<u8>,
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
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(inputs[i].size));
    let mut groups: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); workers.max(1)];
    for i in order {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += inputs[i].size;
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
    inputs: &[Input],
    group: &[usize],
    stamp: zip::DateTime,
) -> Result<Vec<(String, String, usize)>> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("cannot create", path, e))?;
    let mut zip = ZipWriter::new(file);
    let mut out = Vec::new();
    for (index, &i) in group.iter().enumerate() {
        let input = &inputs[i];
        zip.start_file(
            format!("{root}/data/{}", input.dest),
            options(stamp, input.size, &input.dest),
        )
        .map_err(|e| zip_error(path, e))?;
        out.push((input.dest.clone(), copy_hashing(input, &mut zip)?, index));
    }
    zip.finish().map_err(|e| zip_error(path, e))?;
    Ok(out)
}

pub fn stage(
    root: &str,
    out_dir: &Path,
    inputs: Vec<Input>,
    generated: Vec<(String, Vec<u8>)>,
    time: DateTime<Utc>,
) -> Result<Staged> {
    let stamp = zip_time(time)?;
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
        staged: BTreeMap::new(),
        generated,
        sources_csv: Vec::new(),
    };
    let results: Vec<Result<Vec<(String, String, usize)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .zip(&staged.stagings)
            .map(|(group, path)| {
                let inputs = &staged.inputs;
                scope.spawn(move || stage_group(root, path, inputs, group, stamp))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Usage("a staging worker stopped unexpectedly".into()))
                })
            })
            .collect()
    });
    for (worker, result) in results.into_iter().enumerate() {
        for (dest, hash, index) in result? {
            staged.staged.insert(dest, (hash, (worker, index)));
        }
    }
    staged.sources_csv = sources_csv(&staged.inputs, &staged.staged)?;
    Ok(staged)
}

impl Staged {
    /// Every payload file but the report, with its hash: what the report's evidence index lists.
    pub fn evidence_index(&self) -> Vec<Indexed> {
        let mut out: Vec<Indexed> = self
            .generated
            .iter()
            .map(|(dest, bytes)| Indexed {
                path: format!("data/{dest}"),
                sha256: hex(&Sha256::digest(bytes)),
                size: bytes.len() as u64,
            })
            .chain(self.inputs.iter().map(|i| {
                Indexed {
                    path: format!("data/{}", i.dest),
                    sha256: self
                        .staged
                        .get(&i.dest)
                        .map(|(h, _)| h.clone())
                        .unwrap_or_default(),
                    size: i.size,
                }
            }))
            .collect();
        out.push(Indexed {
            path: format!("data/{SOURCES}"),
            sha256: hex(&Sha256::digest(&self.sources_csv)),
            size: self.sources_csv.len() as u64,
        });
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// The chain of custody: each input's role, original path and hash.
    pub fn sources(&self) -> Vec<(String, String, String)> {
        self.inputs
            .iter()
            .map(|i| {
                let hash = self
                    .staged
                    .get(&i.dest)
                    .map(|(h, _)| h.clone())
                    .unwrap_or_default();
                match &i.origin {
                    Some(o) => (
                        i.role.to_string(),
                        o.path.display().to_string(),
                        o.sha256.clone(),
                    ),
                    None => (i.role.to_string(), i.source.display().to_string(), hash),
                }
            })
            .collect()
    }

    pub fn payload_count(&self, with_report: bool) -> usize {
        self.generated.len() + self.inputs.len() + 1 + usize::from(with_report)
    }

    /// Write the final zip to `out`.
    pub fn finish<W: Write + Seek>(
        &self,
        out: W,
        bag_info: &[u8],
        report: Option<&[u8]>,
        key: Option<&sign::Key>,
    ) -> Result<()> {
        let mut stagings = self
            .stagings
            .iter()
            .map(|p| {
                let file = std::fs::File::open(p).map_err(|e| Error::io("cannot read", p, e))?;
                zip::ZipArchive::new(file).map_err(|e| zip_error(p, e))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut zip = ZipWriter::new(out);
        let root = &self.root;
        let fail = |e: zip::result::ZipError| zip_error(Path::new(root), e);
        let put = |zip: &mut ZipWriter<W>, path: &str, bytes: &[u8]| -> Result<String> {
            zip.start_file(
                format!("{root}/{path}"),
                options(self.time, bytes.len() as u64, path),
            )
            .map_err(fail)?;
            zip.write_all(bytes)
                .map_err(|e| Error::io("cannot write", Path::new(root), e))?;
            Ok(hex(&Sha256::digest(bytes)))
        };
        let mut tag_hashes = BTreeMap::new();
        tag_hashes.insert("bag-info.txt", put(&mut zip, "bag-info.txt", bag_info)?);
        tag_hashes.insert("bagit.txt", put(&mut zip, "bagit.txt", BAGIT)?);

        // The payload in sorted order: generated files and the report from memory, inputs copied
        // raw from the staging zip.
        let mut order: Vec<(&str, Payload<'_>)> = self
            .generated
            .iter()
            .map(|(d, b)| (d.as_str(), Payload::Memory(b)))
            .collect();
        order.extend(
            self.staged
                .iter()
                .map(|(d, (h, i))| (d.as_str(), Payload::Staged(h, *i))),
        );
        if let Some(pdf) = report {
            order.push((REPORT, Payload::Memory(pdf)));
        }
        order.push((SOURCES, Payload::Memory(&self.sources_csv)));
        order.sort_by(|a, b| a.0.cmp(b.0));
        let mut hashes: Vec<(String, String)> = Vec::new();
        for (dest, payload) in order {
            let hash = match payload {
                Payload::Memory(bytes) => put(&mut zip, &format!("data/{dest}"), bytes)?,
                Payload::Staged(hash, (worker, index)) => {
                    let staging = stagings.get_mut(worker).ok_or_else(|| Error::Bundle {
                        path: PathBuf::from(root),
                        message: format!("staging zip {worker} is missing"),
                    })?;
                    let entry = staging.by_index_raw(index).map_err(fail)?;
                    zip.raw_copy_file(entry).map_err(fail)?;
                    hash.clone()
                }
            };
            hashes.push((format!("data/{dest}"), hash));
        }
        let manifest: String = hashes.iter().map(|(p, h)| format!("{h}  {p}\n")).collect();
        tag_hashes.insert(
            "manifest-sha256.txt",
            put(&mut zip, "manifest-sha256.txt", manifest.as_bytes())?,
        );
        let tagmanifest: String = tag_hashes
            .iter()
            .map(|(p, h)| format!("{h}  {p}\n"))
            .collect();
        if let Some(key) = key {
            if let Some(pdf) = report {
                put(&mut zip, "signature/report.pdf.sig", &key.sign(pdf))?;
            }
            put(
                &mut zip,
                "signature/signer.pub.pem",
                key.public_pem()?.as_bytes(),
            )?;
            put(
                &mut zip,
                "signature/tagmanifest-sha256.txt.sig",
                &key.sign(tagmanifest.as_bytes()),
            )?;
        }
        put(&mut zip, "tagmanifest-sha256.txt", tagmanifest.as_bytes())?;
        zip.finish().map_err(fail)?;
        Ok(())
    }

    /// `Payload-Oxum`: total bytes and file count of the payload.
    pub fn oxum(&self, report: Option<&[u8]>) -> (u64, usize) {
        let bytes = self
            .generated
            .iter()
            .map(|(_, b)| b.len() as u64)
            .sum::<u64>()
            + self.inputs.iter().map(|i| i.size).sum::<u64>()
            + self.sources_csv.len() as u64
            + report.map_or(0, |r| r.len() as u64);
        (bytes, self.payload_count(report.is_some()))
    }
}

enum Payload<'a> {
    Memory(&'a [u8]),
    Staged(&'a String, (usize, usize)),
}

const BAGIT: &[u8] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

fn zip_error(path: &Path, e: zip::result::ZipError) -> Error {
    Error::Bundle {
        path: path.to_path_buf(),
        message: format!("cannot write the zip: {e}"),
    }
}

/// Copy an input into the open zip entry, hashing the same bytes; the file must still have the size
/// it had when it was listed.
fn copy_hashing<W: Write + Seek>(input: &Input, zip: &mut ZipWriter<W>) -> Result<String> {
    let mut file = std::fs::File::open(&input.source)
        .map_err(|e| Error::io("cannot read", &input.source, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("cannot read", &input.source, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        zip.write_all(&buf[..n])
            .map_err(|e| Error::io("cannot write the zip for", &input.source, e))?;
        total += n as u64;
    }
    if total != input.size {
        return Err(Error::Bundle {
            path: input.source.clone(),
            message: format!(
                "changed while being read ({} bytes listed, {total} read)",
                input.size
            ),
        });
    }
    Ok(hex(&hasher.finalize()))
}

fn sources_csv(
    inputs: &[Input],
    hashes: &BTreeMap<String, (String, (usize, usize))>,
) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Usage(format!("cannot write data/sources.csv: {e}"));
    w.write_record([
        "role",
        "original_path",
        "bundle_path",
        "size",
        "mtime",
        "sha256",
    ])
    .map_err(fail)?;
    let mut sorted: Vec<&Input> = inputs.iter().collect();
    sorted.sort_by(|a, b| a.dest.cmp(&b.dest));
    for i in sorted {
        let hash = hashes
            .get(&i.dest)
            .map(|(h, _)| h.clone())
            .unwrap_or_default();
        // An excerpt is described by the file it was cut from; the manifest has its own hash.
        let (path, size, hash) = match &i.origin {
            Some(o) => (&o.path, o.size, o.sha256.clone()),
            None => (&i.source, i.size, hash),
        };
        w.write_record([
            i.role,
            &path.display().to_string(),
            &format!("data/{}", i.dest),
            &size.to_string(),
            &i.mtime,
            &hash,
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("cannot write data/sources.csv: {e}")))
}

pub struct BagInfo<'a> {
    pub config: &'a Config,
    pub root: &'a str,
    pub oxum: (u64, usize),
    pub fingerprint: Option<&'a str>,
    pub build_time: DateTime<Utc>,
}

pub fn bag_info(info: &BagInfo<'_>) -> Result<Vec<u8>> {
    let config = info.config;
    let scope = if config.scope.systems.is_empty() {
        "all systems".to_string()
    } else {
        config.scope.systems.join(", ")
    };
    let template = "Source-Organization: {{ org }}\n\
        Bagging-Date: {{ date }}\n\
        Bag-Software-Agent: dossier {{ version }}\n\
        Payload-Oxum: {{ bytes }}.{{ files }}\n\
        {% if request_id %}External-Identifier: {{ request_id }}\n{% endif %}\
        Internal-Sender-Identifier: {{ name }}\n\
        Internal-Sender-Description: {{ title }}; period {{ start }} to {{ end }}; as of {{ as_of }}; scope: {{ scope }}\n\
        {% if fingerprint %}Signer-Key-Fingerprint: sha256:{{ fingerprint }}\n{% endif %}";
    let mut env = minijinja::Environment::new();
    env.set_keep_trailing_newline(true);
    let text = env
        .render_str(
            template,
            minijinja::context! {
                org => one_line(&config.organization),
                date => info.build_time.format("%Y-%m-%d").to_string(),
                version => env!("CARGO_PKG_VERSION"),
                bytes => info.oxum.0,
                files => info.oxum.1,
                request_id => config.scope.request_id.as_deref().map(one_line),
                name => info.root,
                title => one_line(&config.title),
                start => config.period.start.to_string(),
                end => config.period.end.to_string(),
                as_of => config.as_of.to_string(),
                scope => one_line(&scope),
                fingerprint => info.fingerprint,
            },
        )
        .map_err(|e| Error::Usage(format!("cannot render bag-info.txt: {e}")))?;
    Ok(text.into_bytes())
}

/// A bag-info value is one line: a newline in it would start a forged field.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

fn zip_time(t: DateTime<Utc>) -> Result<zip::DateTime> {
    use chrono::{Datelike, Timelike};
    let year = u16::try_from(t.year()).unwrap_or(0);
    zip::DateTime::from_date_and_time(
        year,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .map_err(|_| {
        Error::Usage(format!(
            "build time {t} is outside what a zip can record (1980–2107)"
        ))
    })
}

fn options(stamp: zip::DateTime, size: u64, path: &str) -> SimpleFileOptions {
    let compressed_already = [".pdf", ".zip", ".gz", ".parquet", ".png", ".jpg", ".zst"]
        .iter()
        .any(|ext| path.ends_with(ext));
    let method = if size > DEFLATE_LIMIT || compressed_already {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(stamp)
        .unix_permissions(0o644)
        .large_file(size >= u32::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_balances_sizes_and_keeps_every_input_once() {
        let input = |size| Input {
            role: "audit",
            source: PathBuf::new(),
            dest: String::new(),
            size,
            mtime: String::new(),
            origin: None,
            excerpt: None,
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

    #[test]
    fn names_are_slugs() {
        assert_eq!(slug("Acme Lending, Inc."), "acme-lending-inc.");
        assert_eq!(slug("REQ 2026/041"), "req-2026-041");
    }

    #[test]
    fn zip_time_range() {
        let t = DateTime::parse_from_rfc3339("2026-10-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(zip_time(t).is_ok());
        let t = DateTime::parse_from_rfc3339("1970-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(zip_time(t).is_err());
    }
}
