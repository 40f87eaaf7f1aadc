//! The bag itself (BagIt 1.0, RFC 8493) as zip entries. In: the staged inputs (`stage::Staged`),
//! the report and `bag-info.txt`. `seal` computes every manifest line and the tag manifest without
//! writing anything, so signing (`sign::sign_bag`) is a stage of its own between sealing and
//! writing; `Sealed::write` then finishes the zip `stage` began with the inputs: the payload files
//! made from them (sorted), the report, `bag-info.txt` (whose `Payload-Oxum` needs every size, the
//! report's too), the manifests and the signatures.
//! Guarantees: entries carry the build time, fixed permissions and the Unix OS field, so identical
//! inputs and time give identical bytes; no `%`, CR or LF in a bag-info value or path.

use std::collections::BTreeMap;
use std::io::{Seek, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::Signatures;
use super::stage::Staged;
use crate::config::Config;
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::vocab::layout;

/// Files larger than this, and already-compressed ones, are stored rather than deflated: deflating
/// gigabytes of log extract on one core would dominate the build for little gain.
const DEFLATE_LIMIT: u64 = 64 << 20;

const BAGIT: &[u8] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

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

/// The longest slug kept whole; a file name must stay far below the 255-byte limit with
/// `.zip`, a temporary file's prefix and suffix added.
const SLUG_MAX: usize = 48;

/// `text` as a file-name part: ASCII letters, digits and dots, lowercased, other runs as one
/// `-`. A text that leaves nothing (all CJK, say) or more than `SLUG_MAX` characters becomes its
/// first characters and 8 hex digits of its SHA-256, so distinct names stay distinct.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if !out.is_empty() && out.len() <= SLUG_MAX {
        return out.to_string();
    }
    let digest = crate::digest::sha256_hex(text.as_bytes());
    let head: String = out.chars().take(SLUG_MAX - 9).collect();
    let head = head.trim_matches('-');
    let tag = digest.get(..8).unwrap_or_default();
    if head.is_empty() {
        tag.to_string()
    } else {
        format!("{head}-{tag}")
    }
}

/// The bag with every hash known: what `write` puts in the zip, in order.
pub struct Sealed {
    pub(super) staged: Staged,
    bag_info: Vec<u8>,
    report: Option<Vec<u8>>,
    manifest: String,
    tagmanifest: String,
}

/// Compute the payload manifest and the tag manifest of the staged bag with its report.
pub fn seal(staged: Staged, bag_info: Vec<u8>, report: Option<Vec<u8>>) -> Sealed {
    let mut hashes: Vec<(String, String)> = staged
        .generated
        .iter()
        .map(|g| (format!("{}{}", layout::DATA, g.dest), sha256_hex(&g.bytes)))
        .collect();
    hashes.extend(
        staged
            .staged
            .iter()
            .map(|(d, h)| (format!("{}{d}", layout::DATA), h.clone())),
    );
    if let Some(pdf) = &report {
        hashes.push((layout::REPORT.to_string(), sha256_hex(pdf)));
    }
    hashes.push((layout::SOURCES.to_string(), sha256_hex(&staged.sources_csv)));
    hashes.sort();
    let manifest: String = hashes
        .iter()
        .map(|(p, h)| layout::manifest_line(h, p))
        .collect();
    let tag_hashes = BTreeMap::from([
        (layout::BAG_INFO, sha256_hex(&bag_info)),
        (layout::BAGIT, sha256_hex(BAGIT)),
        (layout::MANIFEST, sha256_hex(manifest.as_bytes())),
    ]);
    let tagmanifest: String = tag_hashes
        .iter()
        .map(|(p, h)| layout::manifest_line(h, p))
        .collect();
    Sealed {
        staged,
        bag_info,
        report,
        manifest,
        tagmanifest,
    }
}

impl Sealed {
    /// What the bag's signature covers.
    pub fn tagmanifest(&self) -> &[u8] {
        self.tagmanifest.as_bytes()
    }

    pub fn report(&self) -> Option<&[u8]> {
        self.report.as_deref()
    }

    /// Finish the bundle's zip, which `stage` began with the inputs: the other payload files in
    /// sorted order, the tag files, the signatures; the finished file, ready to be published.
    pub fn write(
        &mut self,
        target: &Path,
        signatures: Option<&Signatures>,
    ) -> Result<super::writer::Prepared> {
        let staged = &mut self.staged;
        let (mut zip, prepared) = staged
            .zip
            .take()
            .ok_or_else(|| Error::Internal("the bundle's zip was written already".into()))?;
        let root = &staged.root;
        let fail = |e: zip::result::ZipError| zip_error(target, e);
        let put = |zip: &mut OpenZip<std::fs::File>, path: &str, bytes: &[u8]| -> Result<()> {
            zip.start_file(
                format!("{root}/{path}"),
                options(staged.time, bytes.len() as u64, path),
            )
            .map_err(fail)?;
            zip.write_all(bytes)
                .map_err(|e| Error::io("cannot write", target, e))
        };
        // The rest of the payload, in sorted order: it sorts after every input (already in the
        // zip, with the files made before them that sort among them).
        let mut made: Vec<(&str, &[u8])> = staged
            .generated
            .iter()
            .filter(|g| !staged.written_early.contains(&g.dest))
            .map(|g| (g.dest.as_str(), &g.bytes[..]))
            .collect();
        if let Some(pdf) = &self.report {
            made.push((layout::in_data(layout::REPORT), pdf));
        }
        made.push((layout::in_data(layout::SOURCES), &staged.sources_csv));
        made.sort_by(|a, b| a.0.cmp(b.0));
        for (dest, bytes) in made {
            put(&mut zip, &format!("{}{dest}", layout::DATA), bytes)?;
        }
        put(&mut zip, layout::BAG_INFO, &self.bag_info)?;
        put(&mut zip, layout::BAGIT, BAGIT)?;
        put(&mut zip, layout::MANIFEST, self.manifest.as_bytes())?;
        if let Some(sig) = signatures {
            if let Some(report_sig) = &sig.report {
                put(&mut zip, layout::REPORT_SIG, report_sig)?;
            }
            put(&mut zip, layout::SIGNER_PUB, sig.public_pem.as_bytes())?;
            put(&mut zip, layout::TAGMANIFEST_SIG, &sig.tagmanifest)?;
            if let Some((token, chain)) = &sig.time_stamp {
                put(&mut zip, layout::TAGMANIFEST_TSR, token)?;
                put(&mut zip, layout::TSA_CHAIN, chain.as_bytes())?;
            }
        }
        put(&mut zip, layout::TAGMANIFEST, self.tagmanifest.as_bytes())?;
        let file = zip.finish().map_err(fail)?;
        prepared.finish(file)
    }
}

/// A zip being written. It is finished explicitly; on a failure it is left as it is — never
/// handed to the zip crate's drop, which would try to finish a broken file and print its debug
/// text on stderr (the temporary file is removed by its owner).
pub(super) struct OpenZip<W: Write + Seek>(std::mem::ManuallyDrop<ZipWriter<W>>);

impl<W: Write + Seek> OpenZip<W> {
    pub(super) fn new(out: W) -> Self {
        OpenZip(std::mem::ManuallyDrop::new(ZipWriter::new(out)))
    }

    pub(super) fn finish(self) -> zip::result::ZipResult<W> {
        std::mem::ManuallyDrop::into_inner(self.0).finish()
    }
}

impl<W: Write + Seek> std::ops::Deref for OpenZip<W> {
    type Target = ZipWriter<W>;
    fn deref(&self) -> &ZipWriter<W> {
        &self.0
    }
}

impl<W: Write + Seek> std::ops::DerefMut for OpenZip<W> {
    fn deref_mut(&mut self) -> &mut ZipWriter<W> {
        &mut self.0
    }
}

pub(super) fn zip_error(path: &Path, e: zip::result::ZipError) -> Error {
    Error::Bundle {
        path: path.to_path_buf(),
        message: format!("cannot write the zip: {e}"),
    }
}

pub struct BagInfo<'a> {
    pub config: &'a Config,
    pub root: &'a str,
    pub oxum: (u64, usize),
    pub fingerprint: Option<&'a str>,
    pub build_time: DateTime<Utc>,
    /// Seconds from the start of the build until every input was read, computed and hashed.
    pub retrieval_seconds: Option<f64>,
    /// The previous bundle of the ledger (issue 23), covered by the signature like every field.
    pub previous: Option<&'a crate::ingest::previous::Link>,
}

pub fn bag_info(info: &BagInfo<'_>) -> Result<Vec<u8>> {
    let config = info.config;
    let scope = config.scope.label();
    let template = "Source-Organization: {{ org }}\n\
        Bagging-Date: {{ date }}\n\
        Bag-Software-Agent: dossier {{ version }}\n\
        Payload-Oxum: {{ bytes }}.{{ files }}\n\
        {% if request_id %}External-Identifier: {{ request_id }}\n{% endif %}\
        Internal-Sender-Identifier: {{ name }}\n\
        Internal-Sender-Description: {{ title }}; period {{ start }} to {{ end }}; as of {{ as_of }}; scope: {{ scope }}\n\
        {% if fingerprint %}Signer-Key-Fingerprint: sha256:{{ fingerprint }}\n{% endif %}\
        {% if retrieval %}Evidence-Retrieval-Seconds: {{ retrieval }}\n{% endif %}\
        {% if previous %}Previous-Bundle-Id: {{ previous.id }}\n\
        Previous-Bundle-Sha256: {{ previous.sha256 }}\n\
        Previous-Tagmanifest-Sha256: {{ previous.tagmanifest_sha256 }}\n{% endif %}";
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
                retrieval => info.retrieval_seconds.map(|s| format!("{s:.2}")),
                previous => info.previous.map(|l| minijinja::context! {
                    id => one_line(&l.id),
                    sha256 => &l.sha256,
                    tagmanifest_sha256 => &l.tagmanifest_sha256,
                }),
            },
        )
        .map_err(|e| Error::Internal(format!("cannot render {}: {e}", layout::BAG_INFO)))?;
    Ok(text.into_bytes())
}

/// A bag-info value is one line: a newline in it would start a forged field.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

pub(super) fn zip_time(t: DateTime<Utc>) -> Result<zip::DateTime> {
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

pub(super) fn options(stamp: zip::DateTime, size: u64, path: &str) -> SimpleFileOptions {
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
    fn names_are_slugs() {
        assert_eq!(slug("Acme Lending, Inc."), "acme-lending-inc.");
        assert_eq!(slug("REQ 2026/041"), "req-2026-041");
        // Nothing left, or too long: a head and 8 hex digits of the text's SHA-256.
        let cjk = slug("株式会社");
        assert_eq!(cjk.len(), 8);
        assert_eq!(cjk, &crate::digest::sha256_hex("株式会社".as_bytes())[..8]);
        let long = slug(&"Very Long Organisation ".repeat(14));
        assert!(
            long.len() <= SLUG_MAX && long.starts_with("very-long-organisation-"),
            "{long}"
        );
        assert_ne!(long, slug(&"Very Long Organisation ".repeat(15)));
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
