//! The evidence bundle (SPEC §6). In: the config, the evidence read, the KPI document, the report
//! PDF, the signer's fingerprint and the build time. Out: `<out>/<name>.zip` (one BagIt 1.0 bag in
//! a single top-level folder, signed per SPEC §7) and `<out>/<name>.pdf`. A build runs in named
//! phases, each a step the `build` command takes: `stage` (inputs copied and hashed, `Prepared`) →
//! the report rendered from `Prepared::facts_json` → `Prepared::seal` (every manifest line known,
//! `Ready`) → `sign::sign_bag` over the sealed tag manifest → `Ready::publish`. Guarantees: every
//! input file is read exactly once, hashed while it is written into the zip that is published
//! (never copied twice); entries are in a fixed order (the payload sorted by bundle path, then
//! the tag files and signatures sorted; docs/decisions.md) with the build time, fixed permissions
//! and the Unix OS field, so identical inputs and time give identical bytes; outputs are written
//! to temporary files beside the targets and linked into place, so a crash leaves nothing
//! half-written and an existing output is replaced only with `--force`; nothing is ever written
//! into a source folder.

mod bag;
mod copy;
mod excerpt;
mod facts;
mod generated;
mod index;
mod inputs;
mod minimise;
mod minimise_json;
mod spark;
mod stage;
mod stream;
mod stream_minimised;
mod tables;
mod writer;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
use crate::kpi::Document;
use crate::output;
use crate::vocab::{InputRole, layout};

pub use bag::{Sealed, bundle_name};
pub(crate) use writer::write_atomically;

pub struct Request<'a> {
    pub config: &'a Config,
    pub evidence: &'a Evidence,
    pub doc: &'a Document,
    /// The signer's key fingerprint (bag-info and report name it); `None`: unsigned.
    pub fingerprint: Option<String>,
    pub out_dir: &'a Path,
    pub force: bool,
    pub build_time: DateTime<Utc>,
    /// A time-stamp authority will stamp the signature: the time is vouched for.
    pub trusted_time: bool,
    /// The HMAC key of `bundle.redact` (derived from the signing key, so stable across builds).
    pub redact_key: [u8; 32],
}

/// The signatures `sign::sign_bag` makes over a sealed bag.
pub struct Signatures {
    pub public_pem: String,
    pub tagmanifest: Vec<u8>,
    pub report: Option<Vec<u8>>,
    /// The TSA's RFC 3161 reply over `tagmanifest` and its certificates (PEM), with a TSA.
    pub time_stamp: Option<(Vec<u8>, String)>,
}

/// What `publish` produced.
#[derive(Debug)]
pub struct Built {
    pub zip: PathBuf,
    pub pdf: Option<PathBuf>,
    pub name: String,
    pub payload_files: usize,
    pub payload_bytes: u64,
    pub fingerprint: Option<String>,
}

/// Phase one done: inputs staged and hashed, waiting for the report.
pub struct Prepared<'a> {
    req: &'a Request<'a>,
    name: String,
    staged: stage::Staged,
    kpis_json: Vec<u8>,
    request_index: Vec<index::IndexRow>,
    /// Temporary files of earlier runs that were removed, and a backdated build time: to be told
    /// to the user.
    pub notices: Vec<String>,
    /// What the build itself cannot vouch for (a backdated build time), for the report.
    limitations: Vec<String>,
    /// How long retrieving the evidence took (`record_retrieval`); `None` in a reproducible
    /// build, whose bytes may not depend on the clock.
    retrieval_seconds: Option<f64>,
}

/// The zip and PDF a build writes.
fn targets(req: &Request<'_>, name: &str) -> (PathBuf, PathBuf) {
    (
        req.out_dir.join(format!("{name}.zip")),
        req.out_dir.join(format!("{name}.pdf")),
    )
}

/// Phase one: find every input, refuse an output folder among them, cut excerpts, stage.
pub fn stage<'a>(req: &'a Request<'a>) -> Result<Prepared<'a>> {
    let name = bundle_name(req.config);
    let (zip_target, pdf_target) = targets(req, &name);
    for target in [&zip_target, &pdf_target] {
        if target.exists() && !req.force {
            return Err(Error::Exists {
                path: target.clone(),
            });
        }
    }
    let mut inputs = inputs::collect_inputs(req.config, req.evidence, req.doc, req.redact_key)?;
    refuse_source_folders(req.out_dir, &req.config.base_dir, &inputs, req.evidence)?;
    let limitations: Vec<String> = backdating(req, &inputs)
        .filter(|_| !req.trusted_time)
        .into_iter()
        .collect();
    let kpis_json = output::json(req.doc)?.into_bytes();
    // Store files are hashed once: for sources.csv, and for the lineage extracts' store hash.
    let mut described = inputs::described_stores(req.config, req.evidence)?;
    let mut generated = generated::generated_files(req, &described, &kpis_json)?;
    described.extend(spark::described(req.evidence));
    // A regulator request (a scope or a request id) gets an index of what each file evidences.
    let request_index = if req.config.scope.is_request() {
        let mut rows = index::request_index(req.config, req.evidence, req.doc, &inputs, &generated);
        rows.push(index::IndexRow {
            path: layout::REQUEST_INDEX.into(),
            system: String::new(),
            evidences: "request index",
            detail: "this index".into(),
        });
        // The standard documents are made after staging, from the staged hashes.
        rows.extend(crate::standards::planned(req.doc).into_iter().map(
            |(path, evidences, detail)| index::IndexRow {
                path,
                system: req.config.scope.label(),
                evidences,
                detail: detail.into(),
            },
        ));
        rows.push(index::IndexRow {
            path: layout::REPORT.into(),
            system: String::new(),
            evidences: "report",
            detail: "the signed audit report".into(),
        });
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        generated.push(generated::Generated {
            dest: layout::in_data(layout::REQUEST_INDEX).to_string(),
            bytes: index::request_index_csv(&rows)?,
            system: None,
        });
        rows
    } else {
        Vec::new()
    };
    std::fs::create_dir_all(req.out_dir).map_err(|e| Error::io("cannot create", req.out_dir, e))?;
    let mut notices = writer::remove_stale(req.out_dir, &name);
    notices.extend(limitations.iter().cloned());
    let excerpts = inputs::cut_excerpts(&mut inputs, req.out_dir)?;
    let stamp = bag::zip_time(req.build_time)?;
    let mut staged = stage::stage(
        (&name, &req.config.base_dir),
        &zip_target,
        (inputs, described),
        generated,
        stamp,
    )?;
    drop(excerpts);
    add_standards(req, &mut staged)?;
    Ok(Prepared {
        req,
        name,
        staged,
        kpis_json,
        request_index,
        notices,
        limitations,
        retrieval_seconds: None,
    })
}

/// The evidence files a build would carry that the standard documents cite (audit evidence,
/// model cards, evaluation artifacts), with their bag paths and SHA-256, without building:
/// what `dossier export` cites, the same as a bundle's.
pub fn carried_evidence(
    config: &Config,
    evidence: &Evidence,
    doc: &Document,
) -> Result<Vec<crate::standards::Carried>> {
    let cited = [
        InputRole::AuditEvidence,
        InputRole::ModelCard,
        InputRole::EvaluationArtifact,
    ];
    inputs::collect_inputs(config, evidence, doc, [0; 32])?
        .into_iter()
        .filter(|i| cited.contains(&i.role))
        .map(|i| {
            let (file, _) =
                crate::fsio::open_regular(&i.source, "evidence file", i.within.as_deref())?;
            let mut reader = crate::digest::HashingReader::new(file);
            std::io::copy(&mut reader, &mut std::io::sink())
                .map_err(|e| Error::io("cannot read", &i.source, e))?;
            Ok(crate::standards::Carried {
                role: i.role,
                system: i.system.clone(),
                path: format!("{}{}", layout::DATA, i.dest),
                sha256: reader.finish().1,
                source: i.source,
            })
        })
        .collect()
}

/// The OSCAL and CycloneDX documents, which cite the staged evidence by bag path and SHA-256.
fn add_standards(req: &Request<'_>, staged: &mut stage::Staged) -> Result<()> {
    let carried = staged.carried();
    let basis = crate::standards::Basis {
        config: req.config,
        evidence: req.evidence,
        doc: req.doc,
        carried: &carried,
    };
    let files = crate::standards::documents(&basis)?
        .into_iter()
        .map(|(path, bytes)| generated::Generated {
            dest: layout::in_data(&path).to_string(),
            bytes,
            system: None,
        });
    staged.add_generated(files);
    Ok(())
}

/// A build time earlier than an input's modification time: the build claims a time at which
/// its evidence did not yet exist in this form. Without a time-stamp authority nothing else
/// vouches for the time, so it is said.
fn backdating(req: &Request<'_>, inputs: &[inputs::Input]) -> Option<String> {
    let newest = inputs
        .iter()
        .filter_map(|i| i.modified.map(|t| (t, &i.source)))
        .max_by_key(|(t, _)| *t)?;
    // Zip and bag-info carry whole seconds; compare at that precision.
    let (built, changed) = (req.build_time.timestamp(), newest.0.timestamp());
    (built < changed).then(|| {
        format!(
            "the build time {} (--timestamp or SOURCE_DATE_EPOCH) is earlier than the newest \
             input's modification time, {} ({}): the bundle is backdated, and no time-stamp \
             authority vouches for its time",
            req.build_time.format("%Y-%m-%dT%H:%M:%SZ"),
            newest.0.format("%Y-%m-%dT%H:%M:%SZ"),
            req.config.shown(newest.1)
        )
    })
}

impl<'a> Prepared<'a> {
    /// Record the evidence-retrieval time (config read, evidence ingested, KPIs computed, inputs
    /// copied and hashed) for the report and `bag-info.txt`.
    pub fn record_retrieval(&mut self, elapsed: std::time::Duration) {
        // Rounded once, to hundredths, so bag-info and the report print the same figure.
        self.retrieval_seconds = Some((elapsed.as_secs_f64() * 100.0).round() / 100.0);
    }

    /// The KPI document exactly as stored in the bundle.
    pub fn kpis_json(&self) -> &[u8] {
        &self.kpis_json
    }

    /// The bundle's facts for the report (`/bundle.json`, see `facts`).
    pub fn facts_json(&self) -> Result<Vec<u8>> {
        facts::facts_json(self)
    }

    /// Phase three: every manifest line and the tag manifest, with the report in the payload.
    pub fn seal(self, report: Option<Vec<u8>>) -> Result<Ready<'a>> {
        let oxum = self.staged.oxum(report.as_deref());
        let bag_info = bag::bag_info(&bag::BagInfo {
            config: self.req.config,
            root: &self.name,
            oxum,
            fingerprint: self.req.fingerprint.as_deref(),
            build_time: self.req.build_time,
            retrieval_seconds: self.retrieval_seconds,
            previous: self.req.evidence.previous.as_ref().map(|p| &p.link),
        })?;
        Ok(Ready {
            req: self.req,
            name: self.name,
            oxum,
            sealed: bag::seal(self.staged, bag_info, report),
        })
    }
}

/// A sealed bag waiting for its signatures, then to be published.
pub struct Ready<'a> {
    req: &'a Request<'a>,
    name: String,
    oxum: (u64, usize),
    pub sealed: Sealed,
}

impl Ready<'_> {
    /// Last phase: write the zip (and the PDF beside it) into place.
    pub fn publish(mut self, signatures: Option<&Signatures>) -> Result<Built> {
        let (zip_target, pdf_target) = targets(self.req, &self.name);
        let mut files = vec![self.sealed.write(&zip_target, signatures)?];
        if let Some(bytes) = self.sealed.report() {
            files.push(writer::prepare(&pdf_target, |file| {
                use std::io::Write;
                file.write_all(bytes)
                    .map_err(|e| Error::io("cannot write", &pdf_target, e))
            })?);
        }
        let pdf = self.sealed.report().map(|_| pdf_target.clone());
        writer::publish(files, self.req.force)?;
        Ok(Built {
            zip: zip_target,
            pdf,
            name: self.name,
            payload_files: self.oxum.1,
            payload_bytes: self.oxum.0,
            fingerprint: self.req.fingerprint.clone(),
        })
    }
}

/// SPEC §1: the tool never writes into source folders. The output folder may not be, or lie
/// inside, a folder an input file sits in, nor lie inside an MLflow store — the next build would
/// ingest its own output. The config's own folder is the exception: it may not be the output
/// folder, but `dist/` inside it is the usual layout (`dossier init` puts the register there).
fn refuse_source_folders(
    out_dir: &Path,
    base_dir: &Path,
    inputs: &[inputs::Input],
    evidence: &Evidence,
) -> Result<()> {
    let out = canonical_or_self(out_dir);
    let base = canonical_or_self(base_dir);
    let mut forbidden: Vec<PathBuf> = inputs
        .iter()
        .filter(|i| i.role != InputRole::Config)
        // A trace source's records are made at build time; the store is where they come from.
        .filter_map(|i| {
            let from = i.origin.as_ref().map_or(&i.source, |o| &o.path);
            from.parent().map(canonical_or_self)
        })
        .collect();
    forbidden.extend(evidence.stores.iter().map(|s| canonical_or_self(&s.root)));
    forbidden.sort();
    forbidden.dedup();
    let clash = forbidden.iter().find(|dir| {
        if **dir == base {
            out == base
        } else {
            out.starts_with(dir)
        }
    });
    match clash {
        Some(dir) => Err(Error::Bundle {
            path: out_dir.to_path_buf(),
            message: format!(
                "the output folder lies inside the source folder {}; the next build would read \
                 its own output — choose a folder outside the evidence",
                dir.display()
            ),
        }),
        None => Ok(()),
    }
}

fn canonical_or_self(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}
