//! What goes under `data/`: the input files to copy (with where each goes and why it is there) and
//! the files generated from the KPI document. Bundle paths never contain `%`, CR or LF (bagit-python
//! does not percent-decode); each copied file's original path is kept in `data/sources.csv`. An
//! audit's evidence path that leaves the config's folder (through `..` or a symlink) is refused:
//! only files a config names explicitly may come from elsewhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
use crate::kpi::Document;
use crate::output;

/// One input file to copy into the bag.
#[derive(Debug, Clone)]
pub struct Input {
    /// Why it is there: config, mlflow, model-card, evaluation-artifact, audit, audit-evidence,
    /// exceptions, log-extract.
    pub role: &'static str,
    pub source: PathBuf,
    /// Path under `data/`.
    pub dest: String,
    pub size: u64,
    /// RFC 3339, UTC, seconds.
    pub mtime: String,
}

pub fn collect_inputs(config: &Config, evidence: &Evidence, doc: &Document) -> Result<Vec<Input>> {
    let base = canonical(&config.base_dir)?;
    let mut found: BTreeMap<String, (&'static str, PathBuf)> = BTreeMap::new();
    let mut add = |role: &'static str, source: PathBuf, dest: String| -> Result<()> {
        let dest = sanitize(&dest);
        match found.get(&dest) {
            Some((_, existing)) if canonical(existing)? != canonical(&source)? => {
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
                found.insert(dest, (role, source));
                Ok(())
            }
        }
    };
    let config_name = config
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    add(
        "config",
        config.path.clone(),
        format!("evidence/config/{config_name}"),
    )?;
    for (i, store) in evidence.stores.iter().enumerate() {
        for file in &store.metadata_files {
            let rel = file.strip_prefix(&store.root).unwrap_or(file);
            let dest = format!(
                "evidence/mlflow/{}-{}/{}",
                i + 1,
                store.kind.label(),
                slash(rel)
            );
            add("mlflow", file.clone(), dest)?;
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
                "model-card",
                card,
                format!("evidence/model-cards/{}/{file}", m.name),
            )?;
        }
        for file in evaluation_artifacts(m.artifact_dir.as_deref(), m.model_card.as_deref())? {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            add(
                "evaluation-artifact",
                file,
                format!("evidence/run-artifacts/{}/{name}", m.name),
            )?;
        }
    }
    let in_scope = |system: &str| {
        doc.scope.systems.is_empty() || doc.scope.systems.iter().any(|s| s == system)
    };
    for audit in evidence.audits.iter().filter(|a| in_scope(&a.system)) {
        add(
            "audit",
            audit.file.clone(),
            evidence_dest(&base, &audit.file)?,
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
                add("audit-evidence", path, evidence_dest(&base, &real)?)?;
            }
        }
    }
    for file in &doc.log_files {
        let path = PathBuf::from(&file.path);
        let dest = evidence_dest(&base, &path)?;
        add("log-extract", path, dest)?;
    }
    // A register mixes systems; a scoped bundle carries its own filtered copy (audits/exceptions.csv).
    if doc.scope.systems.is_empty() {
        let files: Vec<&PathBuf> = evidence.exceptions.iter().map(|e| &e.file).collect();
        for file in files {
            add("exceptions", file.clone(), evidence_dest(&base, file)?)?;
        }
    }
    found
        .into_iter()
        .map(|(dest, (role, source))| {
            let meta =
                std::fs::metadata(&source).map_err(|e| Error::io("cannot read", &source, e))?;
            let mtime = meta
                .modified()
                .map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string()
                })
                .unwrap_or_default();
            Ok(Input {
                role,
                source,
                dest,
                size: meta.len(),
                mtime,
            })
        })
        .collect()
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

/// The files generated from the document, by path under `data/`.
pub fn generated_files(doc: &Document, kpis_json: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let files = vec![
        ("kpis/kpis.json".to_string(), kpis_json.to_vec()),
        ("kpis/models.csv".to_string(), output::models_csv(doc)?),
        (
            "kpis/portfolio.csv".to_string(),
            output::portfolio_csv(doc)?,
        ),
        ("audits/scores.csv".to_string(), output::scores_csv(doc)?),
        (
            "audits/remediation.csv".to_string(),
            output::remediation_csv(doc)?,
        ),
        (
            "audits/exceptions.csv".to_string(),
            output::exceptions_csv(doc)?,
        ),
        ("baseline/baseline.json".to_string(), {
            let mut text = serde_json::to_string_pretty(&doc.baseline)
                .map_err(|e| Error::Usage(format!("cannot serialise the baseline: {e}")))?;
            text.push('\n');
            text.into_bytes()
        }),
    ];
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_paths_lose_percent_and_newlines() {
        assert_eq!(sanitize("evidence/50%\r\nfile.md"), "evidence/50___file.md");
    }
}
