//! The evidence bundle (SPEC §6). In: the config, the evidence read, the KPI document, the report
//! PDF and an optional signing key, and the build time. Out: `<out>/<name>.zip` (one BagIt 1.0 bag
//! in a single top-level folder, signed per SPEC §7) and `<out>/<name>.pdf`. Guarantees: every
//! input file is read exactly once, hashed while it is copied; entries are in sorted order with
//! the build time, fixed permissions and the Unix OS field, so identical inputs and time give
//! identical bytes; outputs are written to temporary files beside the targets and linked into
//! place, so a crash leaves nothing half-written and an existing output is replaced only with
//! `--force`; nothing is ever written into a source folder.

mod bag;
mod data;
mod excerpt;
mod writer;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
use crate::kpi::Document;
use crate::output;
use crate::sign;

pub use bag::bundle_name;
pub(crate) use writer::write_atomically;

pub struct Request<'a> {
    pub config: &'a Config,
    pub evidence: &'a Evidence,
    pub doc: &'a Document,
    pub key: Option<&'a sign::Key>,
    pub out_dir: &'a Path,
    pub force: bool,
    pub build_time: DateTime<Utc>,
}

/// What `finish` produced.
#[derive(Debug)]
pub struct Built {
    pub zip: PathBuf,
    pub pdf: Option<PathBuf>,
    pub name: String,
    pub payload_files: usize,
    pub payload_bytes: u64,
    pub fingerprint: Option<String>,
}

/// Inputs staged and hashed, waiting for the report.
pub struct Prepared<'a> {
    req: &'a Request<'a>,
    name: String,
    zip_target: PathBuf,
    pdf_target: PathBuf,
    staged: bag::Staged,
    kpis_json: Vec<u8>,
    fingerprint: Option<String>,
    request_index: Vec<data::IndexRow>,
}

/// What the report template receives about the bundle, as `/bundle.json` (docs/report-data.md).
#[derive(Serialize)]
struct Facts<'a> {
    bundle_id: &'a str,
    build_time: String,
    version: &'static str,
    fingerprint: Option<&'a str>,
    evidence: Vec<bag::Indexed>,
    sources: Vec<Source>,
    /// Regulator requests only (a scope or a request id); empty otherwise.
    request_index: &'a [data::IndexRow],
}

#[derive(Serialize)]
struct Source {
    role: String,
    original_path: String,
    sha256: String,
}

pub fn prepare<'a>(req: &'a Request<'a>) -> Result<Prepared<'a>> {
    let name = bundle_name(req.config);
    let zip_target = req.out_dir.join(format!("{name}.zip"));
    let pdf_target = req.out_dir.join(format!("{name}.pdf"));
    for target in [&zip_target, &pdf_target] {
        if target.exists() && !req.force {
            return Err(Error::Exists {
                path: target.clone(),
            });
        }
    }
    let mut inputs = data::collect_inputs(req.config, req.evidence, req.doc)?;
    refuse_source_folders(req.out_dir, &inputs, req.evidence)?;
    let kpis_json = output::json(req.doc)?.into_bytes();
    let mut generated = data::generated_files(req.evidence, req.doc, &kpis_json)?;
    // A regulator request (a scope or a request id) gets an index of what each file evidences.
    let scope = &req.doc.scope;
    let request_index = if scope.systems.is_empty() && scope.request_id.is_none() {
        Vec::new()
    } else {
        let mut rows = data::request_index(req.config, req.evidence, req.doc, &inputs, &generated);
        rows.push(data::IndexRow {
            path: "data/request-index.csv".into(),
            system: String::new(),
            evidences: "request index",
            detail: "this index".into(),
        });
        rows.push(data::IndexRow {
            path: "data/report/report.pdf".into(),
            system: String::new(),
            evidences: "report",
            detail: "the signed audit report".into(),
        });
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        generated.push((
            "request-index.csv".to_string(),
            data::request_index_csv(&rows)?,
        ));
        rows
    };
    let fingerprint = req.key.map(|k| k.fingerprint()).transpose()?;
    std::fs::create_dir_all(req.out_dir).map_err(|e| Error::io("cannot create", req.out_dir, e))?;
    let excerpts = data::cut_excerpts(&mut inputs, req.out_dir)?;
    let staged = bag::stage(&name, req.out_dir, inputs, generated, req.build_time)?;
    drop(excerpts);
    Ok(Prepared {
        req,
        name,
        zip_target,
        pdf_target,
        staged,
        kpis_json,
        fingerprint,
        request_index,
    })
}

impl Prepared<'_> {
    /// The KPI document exactly as stored in the bundle.
    pub fn kpis_json(&self) -> &[u8] {
        &self.kpis_json
    }

    /// The bundle's facts for the report: id, signer, build time, evidence index, sources.
    pub fn facts_json(&self) -> Result<Vec<u8>> {
        let facts = Facts {
            bundle_id: &self.name,
            build_time: self.req.build_time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            version: env!("CARGO_PKG_VERSION"),
            fingerprint: self.fingerprint.as_deref(),
            evidence: self.staged.evidence_index(),
            sources: self
                .staged
                .sources()
                .into_iter()
                .map(|(role, original_path, sha256)| Source {
                    role,
                    original_path,
                    sha256,
                })
                .collect(),
            request_index: &self.request_index,
        };
        serde_json::to_vec_pretty(&facts)
            .map_err(|e| Error::Usage(format!("cannot serialise bundle facts: {e}")))
    }

    /// Write the zip (and the PDF beside it) into place.
    pub fn finish(self, report: Option<&[u8]>) -> Result<Built> {
        let oxum = self.staged.oxum(report);
        let bag_info = bag::bag_info(&bag::BagInfo {
            config: self.req.config,
            root: &self.name,
            oxum,
            fingerprint: self.fingerprint.as_deref(),
            build_time: self.req.build_time,
        })?;
        writer::write_atomically(&self.zip_target, self.req.force, |file| {
            self.staged.finish(file, &bag_info, report, self.req.key)
        })?;
        let pdf = match report {
            Some(bytes) => {
                writer::write_atomically(&self.pdf_target, self.req.force, |file| {
                    use std::io::Write;
                    file.write_all(bytes)
                        .map_err(|e| Error::io("cannot write", &self.pdf_target, e))
                })?;
                Some(self.pdf_target.clone())
            }
            None => None,
        };
        Ok(Built {
            zip: self.zip_target.clone(),
            pdf,
            name: self.name.clone(),
            payload_files: oxum.1,
            payload_bytes: oxum.0,
            fingerprint: self.fingerprint.clone(),
        })
    }
}

/// SPEC §1: the tool never writes into source folders. The output folder may not be a folder an
/// input file sits in, nor lie inside an MLflow store.
fn refuse_source_folders(
    out_dir: &Path,
    inputs: &[data::Input],
    evidence: &Evidence,
) -> Result<()> {
    let out = canonical_or_self(out_dir);
    let mut forbidden: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|i| i.source.parent().map(canonical_or_self))
        .collect();
    let stores: Vec<PathBuf> = evidence
        .stores
        .iter()
        .map(|s| canonical_or_self(&s.root))
        .collect();
    forbidden.sort();
    forbidden.dedup();
    let clash = forbidden
        .iter()
        .find(|d| **d == out)
        .or_else(|| stores.iter().find(|s| out.starts_with(s)));
    match clash {
        Some(dir) => Err(Error::Bundle {
            path: out_dir.to_path_buf(),
            message: format!(
                "the output folder would write into the source folder {}",
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
