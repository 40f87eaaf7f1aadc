//! The BagIt 1.0 bag (RFC 8493) as zip entries. `Plan` fixes every entry and its size before a byte
//! is written, because `bag-info.txt` (with `Payload-Oxum`) sorts before `data/`. `write_zip` then
//! streams each payload file once, hashing it on the way into the zip, writes the manifests, and
//! signs the tag manifest (and the report) when a key is given.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::Request;
use super::data::Input;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::sign::{self, hex};

const SOURCES: &str = "sources.csv";
const SOURCES_HEADER: &str = "role,original_path,bundle_path,size,mtime,sha256";
/// Files larger than this, and already-compressed ones, are stored rather than deflated: deflating
/// gigabytes of log extract on one core would dominate the build for little gain.
const DEFLATE_LIMIT: u64 = 64 << 20;

enum Content<'a> {
    Memory(Vec<u8>),
    File(&'a Input),
    Sources,
}

struct Entry<'a> {
    /// Path under `data/`.
    dest: String,
    size: u64,
    content: Content<'a>,
}

pub struct Plan<'a> {
    root: String,
    payload: Vec<Entry<'a>>,
    inputs: &'a [Input],
    bagit: Vec<u8>,
    bag_info: Vec<u8>,
}

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

impl<'a> Plan<'a> {
    pub fn new(
        root: &str,
        req: &Request<'_>,
        inputs: &'a [Input],
        generated: Vec<(String, Vec<u8>)>,
        fingerprint: Option<String>,
    ) -> Result<Self> {
        let mut payload: Vec<Entry<'a>> = generated
            .into_iter()
            .map(|(dest, bytes)| Entry {
                dest,
                size: bytes.len() as u64,
                content: Content::Memory(bytes),
            })
            .collect();
        payload.extend(inputs.iter().map(|i| Entry {
            dest: i.dest.clone(),
            size: i.size,
            content: Content::File(i),
        }));
        // Hashes are 64 hex digits whatever they turn out to be, so the size is known now.
        let placeholder: BTreeMap<&str, String> = inputs
            .iter()
            .map(|i| (i.dest.as_str(), "0".repeat(64)))
            .collect();
        payload.push(Entry {
            dest: SOURCES.into(),
            size: sources_csv(inputs, &placeholder)?.len() as u64,
            content: Content::Sources,
        });
        payload.sort_by(|a, b| a.dest.cmp(&b.dest));
        if payload.last().map(|e| e.dest.as_str()) != Some(SOURCES) {
            return Err(Error::Bundle {
                path: req.out_dir.to_path_buf(),
                message: "data/sources.csv must be the last payload entry (a file sorts after it)"
                    .into(),
            });
        }
        let oxum = (payload.iter().map(|e| e.size).sum::<u64>(), payload.len());
        let bag_info = bag_info(req, root, oxum, fingerprint)?;
        Ok(Plan {
            root: root.to_string(),
            payload,
            inputs,
            bagit: b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec(),
            bag_info,
        })
    }

    pub fn payload_count(&self) -> usize {
        self.payload.len()
    }

    pub fn payload_bytes(&self) -> u64 {
        self.payload.iter().map(|e| e.size).sum()
    }

    pub fn write_zip<W: Write + Seek>(
        &self,
        out: W,
        key: Option<&sign::Key>,
        time: DateTime<Utc>,
    ) -> Result<()> {
        let mut zip = ZipWriter::new(out);
        let stamp = zip_time(time)?;
        let fail = |e: &dyn std::fmt::Display| Error::Bundle {
            path: std::path::PathBuf::from(&self.root),
            message: format!("cannot write the zip: {e}"),
        };
        let put = |zip: &mut ZipWriter<W>, path: &str, bytes: &[u8]| -> Result<String> {
            zip.start_file(
                format!("{}/{path}", self.root),
                options(stamp, bytes.len() as u64, path),
            )
            .map_err(|e| fail(&e))?;
            zip.write_all(bytes).map_err(|e| fail(&e))?;
            Ok(hex(&Sha256::digest(bytes)))
        };
        let mut tag_hashes = BTreeMap::new();
        tag_hashes.insert(
            "bag-info.txt",
            put(&mut zip, "bag-info.txt", &self.bag_info)?,
        );
        tag_hashes.insert("bagit.txt", put(&mut zip, "bagit.txt", &self.bagit)?);

        let mut hashes: BTreeMap<&str, String> = BTreeMap::new();
        let mut report: Option<&[u8]> = None;
        for entry in &self.payload {
            let path = format!("data/{}", entry.dest);
            let hash = match &entry.content {
                Content::Memory(bytes) => {
                    if entry.dest == "report/report.pdf" {
                        report = Some(bytes);
                    }
                    put(&mut zip, &path, bytes)?
                }
                Content::File(input) => {
                    zip.start_file(
                        format!("{}/{path}", self.root),
                        options(stamp, entry.size, &path),
                    )
                    .map_err(|e| fail(&e))?;
                    copy_hashing(input, &mut zip)?
                }
                Content::Sources => {
                    let bytes = sources_csv(self.inputs, &hashes)?;
                    if bytes.len() as u64 != entry.size {
                        return Err(fail(
                            &"data/sources.csv changed size between planning and writing",
                        ));
                    }
                    put(&mut zip, &path, &bytes)?
                }
            };
            hashes.insert(&entry.dest, hash);
        }
        let manifest: String = hashes
            .iter()
            .map(|(dest, h)| format!("{h}  data/{dest}\n"))
            .collect();
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
        zip.finish().map_err(|e| fail(&e))?;
        Ok(())
    }
}

/// Copy an input into the open zip entry, hashing the same bytes; the file must still have the size
/// it had when the bag was planned.
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
                "changed while being read ({} bytes planned, {total} read)",
                input.size
            ),
        });
    }
    Ok(hex(&hasher.finalize()))
}

fn sources_csv(inputs: &[Input], hashes: &BTreeMap<&str, String>) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Usage(format!("cannot write data/sources.csv: {e}"));
    w.write_record(SOURCES_HEADER.split(',')).map_err(fail)?;
    for i in inputs {
        let hash = hashes.get(i.dest.as_str()).cloned().unwrap_or_default();
        w.write_record([
            i.role,
            &i.source.display().to_string(),
            &format!("data/{}", i.dest),
            &i.size.to_string(),
            &i.mtime,
            &hash,
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("cannot write data/sources.csv: {e}")))
}

fn bag_info(
    req: &Request<'_>,
    root: &str,
    oxum: (u64, usize),
    fingerprint: Option<String>,
) -> Result<Vec<u8>> {
    let config = req.config;
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
                date => req.build_time.format("%Y-%m-%d").to_string(),
                version => env!("CARGO_PKG_VERSION"),
                bytes => oxum.0,
                files => oxum.1,
                request_id => config.scope.request_id.as_deref().map(one_line),
                name => root,
                title => one_line(&config.title),
                start => config.period.start.to_string(),
                end => config.period.end.to_string(),
                as_of => config.as_of.to_string(),
                scope => one_line(&scope),
                fingerprint => fingerprint,
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
