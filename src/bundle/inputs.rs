//! What goes under `data/` from outside: the input files to copy, with where each goes (`dest`),
//! why it is there (`InputRole`) and which system it belongs to. In: the config, the evidence read
//! and the KPI document. Out: `Input`s, sorted by bundle path, no two sources on one path.
//! Guarantees: bundle paths never contain `%`, CR or LF (bagit-python does not percent-decode);
//! a model name is one path segment; an audit's evidence path that leaves the config's folder
//! (through `..` or a symlink) is refused — only files a config names explicitly may come from
//! elsewhere; a scoped build carries nothing of other systems.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::minimise::Minimise;
use super::stream_minimised::stream_above;
use crate::config::{Config, LogExtracts, LogFormat};
use crate::error::{Error, Result};
use crate::ingest::Evidence;
use crate::ingest::logs::TRACES_LABEL;
use crate::kpi::Document;
use crate::vocab::InputRole;

/// What a minimised log extract's bundle name adds to the original's.
pub const MINIMISED_SUFFIX: &str = ".minimised.ndjson";

/// What the records of an `mlflow-traces` source are called in the bundle: the store's bundle
/// path plus this.
pub const TRACES_SUFFIX: &str = ".traces.ndjson";

/// One input file to copy into the bag.
#[derive(Debug, Clone)]
pub struct Input {
    /// Why it is there.
    pub role: InputRole,
    pub source: PathBuf,
    /// Path under `data/`.
    pub dest: String,
    pub size: u64,
    /// RFC 3339, UTC, seconds.
    pub mtime: String,
    /// The same modification time, for comparing with the build time.
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
    /// The registered model a model card or evaluation artifact belongs to.
    pub system: Option<String>,
    /// The folder the file must really lie in when it is opened to be copied (the MLflow store,
    /// the run's artifact folder, the config's folder); `None` for files the config names.
    pub within: Option<PathBuf>,
    /// For an excerpt: the file it was cut from (what `data/sources.csv` describes).
    pub origin: Option<Origin>,
    /// A log extract to cut down to the in-scope records before it is staged.
    pub excerpt: Option<ExcerptPlan>,
    /// A log extract to minimise (mapped fields, file and line) before it is staged.
    pub minimise: Option<Minimise>,
    /// A cut (minimised extract or excerpt): `source` is then the build's spool, and the cut its
    /// `size` bytes from this offset.
    pub spooled: Option<u64>,
}

/// A source file the bundle describes but does not carry: a store whose lineage extracts stand
/// in for it. `data/sources.csv` lists it, so the extracts can be checked against the original.
#[derive(Debug, Clone)]
pub struct Described {
    pub role: InputRole,
    pub path: PathBuf,
    /// `None` where the file system would not say (a file Spark listed, gone since).
    pub size: Option<u64>,
    pub mtime: String,
    pub sha256: String,
    /// The bundle folder holding what was extracted from it.
    pub bundle_path: String,
}

/// Every file of every MLflow store a minimised build read but does not copy.
pub fn described_stores(config: &Config, evidence: &Evidence) -> Result<Vec<Described>> {
    if !config.scope.is_scoped() && config.bundle.include_stores {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for store in &evidence.stores {
        for file in &store.metadata_files {
            let (opened, size) = crate::fsio::open_regular(file, "MLflow store file", None)?;
            let modified = opened.metadata().and_then(|m| m.modified());
            let mut reader = crate::digest::HashingReader::new(opened);
            std::io::copy(&mut reader, &mut std::io::sink())
                .map_err(|e| Error::io("cannot read", file, e))?;
            let sha256 = reader.finish().1;
            let mtime = modified
                .ok()
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%dT%H:%M:%SZ"))
                .map(|t| t.to_string())
                .unwrap_or_default();
            out.push(Described {
                role: InputRole::Mlflow,
                path: file.clone(),
                size: Some(size),
                mtime,
                sha256,
                bundle_path: crate::vocab::layout::LINEAGE_DIR.to_string(),
            });
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct Origin {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct ExcerptPlan {
    pub format: LogFormat,
    pub rows: Vec<u64>,
    pub bad_lines: Vec<u64>,
}

/// Replace each planned excerpt's source by its excerpt, all written into one spool in `dir`;
/// the returned file must live until the inputs are staged. A file over `stream_above()` to be
/// minimised keeps its plan: its extract is written straight into the zip as it is staged.
pub fn cut_excerpts(inputs: &mut [Input], dir: &Path) -> Result<Option<tempfile::NamedTempFile>> {
    let streamed = stream_above();
    if inputs
        .iter()
        .all(|i| i.excerpt.is_none() && i.minimise.as_ref().is_none_or(|_| i.size > streamed))
    {
        return Ok(None);
    }
    let mut spool = super::excerpt::Spool::new(dir)?;
    let mut cuts = Vec::new();
    for (index, input) in inputs.iter_mut().enumerate() {
        if input.minimise.is_some() && input.size > streamed {
            // Minimised straight into the zip when it is staged (`stream_minimised`).
            input.excerpt = None;
            continue;
        }
        let cut = match (input.minimise.take(), input.excerpt.take()) {
            (Some(plan), _) => {
                crate::error::contain(&input.source, "minimising the extract", || {
                    super::minimise::write(&input.source, &plan, &mut spool)
                })?
            }
            (None, Some(plan)) => {
                crate::error::contain(&input.source, "cutting the excerpt", || {
                    super::excerpt::write(
                        &input.source,
                        plan.format,
                        &plan.rows,
                        &plan.bad_lines,
                        &mut spool,
                    )
                })?
            }
            (None, None) => continue,
        };
        // A trace source's origin is its store, set already; a file's is the file cut.
        if input.origin.is_none() {
            input.origin = Some(Origin {
                path: input.source.clone(),
                size: cut.original_size,
                sha256: cut.original_sha256,
            });
        }
        input.size = cut.size;
        cuts.push((index, cut.offset));
    }
    let spool = spool.finish()?;
    for (index, offset) in cuts {
        if let Some(input) = inputs.get_mut(index) {
            input.spooled = Some(offset);
            input.source = spool.path().to_path_buf();
            input.within = None;
        }
    }
    Ok(Some(spool))
}

/// A file found for the bag: its role, source and the model it belongs to.
type Found = (InputRole, PathBuf, Option<String>);

pub fn collect_inputs(
    config: &Config,
    evidence: &Evidence,
    doc: &Document,
    redact_key: [u8; 32],
) -> Result<Vec<Input>> {
    let base = canonical(&config.base_dir)?;
    let scope = &config.scope;
    let scoped = scope.is_scoped();
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut plans: BTreeMap<String, ExcerptPlan> = BTreeMap::new();
    let mut minimise: BTreeMap<String, Minimise> = BTreeMap::new();
    // Bundle path of a trace source's records → the tracking store they were read from.
    let mut traced: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut add =
        |role: InputRole, source: PathBuf, dest: String, system: Option<&str>| -> Result<()> {
            let dest = sanitize(&dest);
            match found.get(&dest) {
                Some((_, existing, _)) if canonical(existing)? != canonical(&source)? => {
                    Err(Error::Bundle {
                        path: source,
                        message: format!(
                            "would be stored as data/{dest}, which {} already takes",
                            existing.display()
                        ),
                    })
                }
                Some(_) => Ok(()),
                None => {
                    found.insert(dest, (role, source, system.map(String::from)));
                    Ok(())
                }
            }
        };
    let config_name = config
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A scoped build carries nothing of other systems: not the config (it names every source),
    // not the MLflow stores (they hold every model; data/evidence/mlflow/lineage/ has the named
    // models' part), not an audit file that also holds other systems' audits.
    if !scoped {
        add(
            InputRole::Config,
            config.path.clone(),
            format!("evidence/config/{config_name}"),
            None,
        )?;
    }
    let whole_stores = !scoped && config.bundle.include_stores;
    for (i, store) in evidence.stores.iter().enumerate().filter(|_| whole_stores) {
        for file in &store.metadata_files {
            let rel = file.strip_prefix(&store.root).unwrap_or(file);
            let dest = format!(
                "evidence/mlflow/{}-{}/{}",
                i + 1,
                store.kind.label(),
                slash(rel)
            );
            add(InputRole::Mlflow, file.clone(), dest, None)?;
        }
    }
    for m in doc.models.iter().filter(|m| m.in_production) {
        if let Some(card) = &m.model_card {
            let card = PathBuf::from(card);
            let file = card
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            add(
                InputRole::ModelCard,
                card,
                format!("evidence/model-cards/{}/{file}", segment(&m.name)),
                Some(&m.name),
            )?;
        }
        for file in evaluation_artifacts(m.artifact_dir.as_deref(), m.model_card.as_deref())? {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            add(
                InputRole::EvaluationArtifact,
                file,
                format!("evidence/run-artifacts/{}/{name}", segment(&m.name)),
                Some(&m.name),
            )?;
        }
    }
    let mixed = |file: &PathBuf| {
        evidence
            .audits
            .iter()
            .any(|a| &a.file == file && !scope.admits(&a.system))
    };
    for audit in evidence
        .audits
        .iter()
        .filter(|a| scope.admits(&a.system) && !mixed(&a.file))
    {
        add(
            InputRole::Audit,
            audit.file.clone(),
            evidence_dest(&base, &audit.file)?,
            None,
        )?;
    }
    for audit in &doc.audits {
        for control in &audit.controls {
            for item in control
                .evidence
                .iter()
                .filter(|e| !control.missing_evidence.contains(e))
            {
                let path = config.base_dir.join(item);
                let real = canonical(&path)?;
                if !real.starts_with(&base) {
                    return Err(Error::Bundle {
                        path: PathBuf::from(&audit.file),
                        message: format!(
                            "control {}: evidence {item} resolves to {}, outside the config folder {}",
                            control.id,
                            real.display(),
                            base.display()
                        ),
                    });
                }
                add(
                    InputRole::AuditEvidence,
                    path,
                    evidence_dest(&base, &real)?,
                    None,
                )?;
            }
        }
    }
    let minimised = config.bundle.log_extracts == LogExtracts::Minimised;
    for file in &evidence.logs.files {
        if file.spark.is_some() {
            // Summarised on Spark: no file here; the statements it ran are generated evidence.
            continue;
        }
        // A trace source's records are the file the bundle carries; the store is their origin.
        let (read, dest, shown) = match &file.materialised {
            Some(records) => {
                let dest = format!("{}{TRACES_SUFFIX}", evidence_dest(&base, &file.path)?);
                traced.insert(sanitize(&dest), file.path.clone());
                let shown = format!("{} ({TRACES_LABEL})", config.shown(&file.path));
                (records.to_path_buf(), dest, shown)
            }
            None => (
                file.path.clone(),
                evidence_dest(&base, &file.path)?,
                config.shown(&file.path),
            ),
        };
        if minimised {
            let dest = format!("{dest}{MINIMISED_SUFFIX}");
            if file.materialised.is_some() {
                traced.insert(sanitize(&dest), file.path.clone());
            }
            let role = match file.scoped_rows {
                Some(_) => InputRole::LogExcerpt,
                None => InputRole::LogExtract,
            };
            add(role, read.clone(), dest.clone(), None)?;
            let fields = config
                .logs
                .get(file.source)
                .map(|s| s.fields.clone())
                .unwrap_or_default();
            minimise.insert(
                sanitize(&dest),
                Minimise {
                    format: file.format,
                    fields,
                    rows: file.scoped_rows.clone(),
                    bad_lines: file.bad_lines.clone(),
                    redact: config.bundle.redact.clone(),
                    key: redact_key,
                    shown,
                },
            );
            continue;
        }
        match &file.scoped_rows {
            Some(rows) => {
                add(InputRole::LogExcerpt, read.clone(), dest.clone(), None)?;
                plans.insert(
                    sanitize(&dest),
                    ExcerptPlan {
                        format: file.format,
                        rows: rows.clone(),
                        bad_lines: file.bad_lines.clone(),
                    },
                );
            }
            None => add(InputRole::LogExtract, read, dest, None)?,
        }
    }
    // A register mixes systems; a scoped bundle carries its own filtered copy (audits/exceptions.csv).
    if !scoped {
        let files: Vec<&PathBuf> = evidence.exceptions.iter().map(|e| &e.file).collect();
        for file in files {
            add(
                InputRole::Exceptions,
                file.clone(),
                evidence_dest(&base, file)?,
                None,
            )?;
        }
        // The responses name items of every system; a scoped bundle's remediation.csv carries
        // its own systems' responses.
        if let Some(file) = &config.responses {
            add(
                InputRole::Responses,
                file.clone(),
                evidence_dest(&base, file)?,
                None,
            )?;
        }
    }
    let mut inputs: Vec<Input> = found
        .into_iter()
        .map(|(dest, (role, source, system))| {
            let within = confinement(role, &source, system.as_deref(), evidence, doc, &base);
            let meta =
                std::fs::metadata(&source).map_err(|e| Error::io("cannot read", &source, e))?;
            let modified = meta
                .modified()
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from);
            let mtime = modified
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default();
            Ok(Input {
                role,
                source,
                excerpt: plans.remove(&dest),
                minimise: minimise.remove(&dest),
                spooled: None,
                dest,
                size: meta.len(),
                mtime,
                modified,
                system,
                within,
                origin: None,
            })
        })
        .collect::<Result<_>>()?;
    for input in &mut inputs {
        if let Some(store) = traced.get(&input.dest) {
            let (path, size, sha256) = crate::ingest::mlflow::traces::store_digest(store)?;
            // The records' file is made at build time; the store's own time is the evidence's.
            input.modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from);
            input.mtime = input
                .modified
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default();
            input.origin = Some(Origin { path, size, sha256 });
        }
    }
    Ok(inputs)
}

/// The folder an input must really lie in (fsio checks it on the opened file): a store's file in
/// its store, a model card or artifact in its run's artifact folder, audit evidence in the
/// config's folder. Files the config names itself (config, audits, logs, register) may be anywhere.
fn confinement(
    role: InputRole,
    source: &Path,
    system: Option<&str>,
    evidence: &Evidence,
    doc: &Document,
    base: &Path,
) -> Option<PathBuf> {
    match role {
        InputRole::Mlflow => evidence
            .stores
            .iter()
            .find(|s| source.starts_with(&s.root))
            .map(|s| s.root.clone()),
        InputRole::ModelCard | InputRole::EvaluationArtifact => doc
            .models
            .iter()
            .find(|m| Some(m.name.as_str()) == system)
            .and_then(|m| m.artifact_dir.clone())
            .map(PathBuf::from),
        InputRole::AuditEvidence => Some(base.to_path_buf()),
        _ => None,
    }
}

/// The files at the top of a production model's source-run artifact folder: where
/// `mlflow.log_artifact` and `mlflow.evaluate` put reports, tables and plots. Sub-folders (the
/// logged model itself, with its binaries) are left out.
fn evaluation_artifacts(dir: Option<&str>, card: Option<&str>) -> Result<Vec<PathBuf>> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let dir = Path::new(dir);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("cannot list", dir, e))? {
        let entry = entry.map_err(|e| Error::io("cannot list", dir, e))?;
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && card.is_none_or(|c| Path::new(c) != entry.path()) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Under the config's folder: `evidence/<relative path>`; elsewhere (named explicitly in the
/// config): `evidence/external/<absolute path>`.
fn evidence_dest(base: &Path, file: &Path) -> Result<String> {
    let real = canonical(file)?;
    Ok(match real.strip_prefix(base) {
        Ok(rel) => format!("evidence/{}", slash(rel)),
        Err(_) => format!(
            "evidence/external/{}",
            slash(real.strip_prefix("/").unwrap_or(&real))
        ),
    })
}

fn canonical(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).map_err(|e| Error::io("cannot resolve", p, e))
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

pub(super) use crate::vocab::layout::segment;

/// bagit-python reads manifest paths literally: keep `%`, CR and LF out of them.
pub fn sanitize(dest: &str) -> String {
    dest.chars()
        .map(|c| {
            if matches!(c, '%' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_paths_lose_percent_and_newlines() {
        assert_eq!(sanitize("evidence/50%\r\nfile.md"), "evidence/50___file.md");
    }

    #[test]
    fn a_model_name_is_one_path_segment() {
        assert_eq!(segment("fraud-detector"), "fraud-detector");
        assert_eq!(segment("team/model"), "team_model");
        assert_eq!(segment("..\\x"), ".._x");
        assert_eq!(segment(".."), "__");
        assert_eq!(segment("."), "_");
    }
}
