//! The evidence bundle (SPEC §6). In: the config, the evidence read, the KPI document, an optional
//! report PDF and signing key, and the build time. Out: `<out>/<name>.zip`, one BagIt 1.0 bag in a
//! single top-level folder, signed per SPEC §7. Guarantees: every input file is read exactly once,
//! hashed while it is copied into the zip; entries are in sorted order with the build time, fixed
//! permissions and the Unix OS field, so identical inputs and time give identical bytes; the zip is
//! written to a temporary file beside the target and linked into place, so a crash leaves no
//! half-written bundle and an existing bundle is replaced only with `--force`.

mod bag;
mod data;
mod writer;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
use crate::kpi::Document;
use crate::sign;

pub use bag::bundle_name;

/// What `build` produced.
#[derive(Debug)]
pub struct Built {
    pub zip: PathBuf,
    pub name: String,
    pub payload_files: usize,
    pub payload_bytes: u64,
    pub fingerprint: Option<String>,
}

pub struct Request<'a> {
    pub config: &'a Config,
    pub evidence: &'a Evidence,
    pub doc: &'a Document,
    pub report_pdf: Option<&'a [u8]>,
    pub key: Option<&'a sign::Key>,
    pub out_dir: &'a Path,
    pub force: bool,
    pub build_time: DateTime<Utc>,
}

pub fn build(req: &Request<'_>) -> Result<Built> {
    let name = bundle_name(req.config);
    let target = req.out_dir.join(format!("{name}.zip"));
    if target.exists() && !req.force {
        return Err(Error::Exists { path: target });
    }
    let inputs = data::collect_inputs(req.config, req.evidence, req.doc)?;
    refuse_source_folders(req.out_dir, &inputs, req.evidence)?;
    let generated = data::generated_files(req.doc, req.report_pdf)?;
    let fingerprint = req.key.map(|k| k.fingerprint()).transpose()?;
    let bag = bag::Plan::new(&name, req, &inputs, generated, fingerprint.clone())?;
    std::fs::create_dir_all(req.out_dir).map_err(|e| Error::io("cannot create", req.out_dir, e))?;
    let (payload_files, payload_bytes) = (bag.payload_count(), bag.payload_bytes());
    writer::write_atomically(&target, req.force, |file| {
        bag.write_zip(file, req.key, req.build_time)
    })?;
    Ok(Built {
        zip: target,
        name,
        payload_files,
        payload_bytes,
        fingerprint,
    })
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
