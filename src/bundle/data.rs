//! What goes under `data/`: the input files to copy (with where each goes and why it is there) and
//! the files generated from the KPI document. Bundle paths never contain `%`, CR or LF (bagit-python
//! does not percent-decode); each copied file's original path is kept in `data/sources.csv`. An
//! audit's evidence path that leaves the config's folder (through `..` or a symlink) is refused:
//! only files a config names explicitly may come from elsewhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{Config, LogFormat};
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
    /// For an excerpt: the file it was cut from (what `data/sources.csv` describes).
    pub origin: Option<Origin>,
    /// A log extract to cut down to the in-scope records before it is staged.
    pub excerpt: Option<ExcerptPlan>,
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

/// Replace each planned excerpt's source by its excerpt, written into `dir`; the returned files
/// must live until the inputs are staged.
pub fn cut_excerpts(inputs: &mut [Input], dir: &Path) -> Result<Vec<tempfile::NamedTempFile>> {
    let mut files = Vec::new();
    for input in inputs.iter_mut() {
        let Some(plan) = input.excerpt.take() else {
            continue;
        };
        let cut =
            super::excerpt::write(&input.source, plan.format, &plan.rows, &plan.bad_lines, dir)?;
        input.origin = Some(Origin {
            path: input.source.clone(),
            size: cut.original_size,
            sha256: cut.original_sha256,
        });
        input.source = cut.file.path().to_path_buf();
        input.size = cut.size;
        files.push(cut.file);
    }
    Ok(files)
}

pub fn collect_inputs(config: &Config, evidence: &Evidence, doc: &Document) -> Result<Vec<Input>> {
    let base = canonical(&config.base_dir)?;
    let scoped = !doc.scope.systems.is_empty();
    let mut found: BTreeMap<String, (&'static str, PathBuf)> = BTreeMap::new();
    let mut plans: BTreeMap<String, ExcerptPlan> = BTreeMap::new();
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
    // A scoped build carries nothing of other systems: not the config (it names every source),
    // not the MLflow stores (they hold every model; data/evidence/mlflow/lineage/ has the named
    // models' part), not an audit file that also holds other systems' audits.
    if !scoped {
        add(
            "config",
            config.path.clone(),
            format!("evidence/config/{config_name}"),
        )?;
    }
    for (i, store) in evidence.stores.iter().enumerate().filter(|_| !scoped) {
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
                format!("evidence/model-cards/{}/{file}", segment(&m.name)),
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
                format!("evidence/run-artifacts/{}/{name}", segment(&m.name)),
            )?;
        }
    }
    let in_scope = |system: &str| {
        doc.scope.systems.is_empty() || doc.scope.systems.iter().any(|s| s == system)
    };
    let mixed = |file: &PathBuf| {
        evidence
            .audits
            .iter()
            .any(|a| &a.file == file && !in_scope(&a.system))
    };
    for audit in evidence
        .audits
        .iter()
        .filter(|a| in_scope(&a.system) && !mixed(&a.file))
    {
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
        match (&file.scoped_rows, file.format_kind) {
            (Some(rows), Some(format)) => {
                add("log-excerpt", path, dest.clone())?;
                plans.insert(
                    sanitize(&dest),
                    ExcerptPlan {
                        format,
                        rows: rows.clone(),
                        bad_lines: file.bad_lines.clone(),
                    },
                );
            }
            _ => add("log-extract", path, dest)?,
        }
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
                excerpt: plans.remove(&dest),
                dest,
                size: meta.len(),
                mtime,
                origin: None,
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

/// A name (a registered model's) as one path segment: no separators, never `.` or `..`, so no
/// name can place a file outside its folder in the bag.
fn segment(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect();
    match s.as_str() {
        "" | "." | ".." => "_".repeat(s.len().max(1)),
        _ => s,
    }
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

/// A scoped build's MLflow evidence: for each named registered model, what its store says about
/// it and the source runs of its versions, as `evidence/mlflow/lineage/<model>.json`.
fn lineage_files(evidence: &Evidence, doc: &Document) -> Result<Vec<(String, Vec<u8>)>> {
    #[derive(serde::Serialize)]
    struct Lineage<'a> {
        store: StoreRef,
        model: &'a crate::ingest::mlflow::RegisteredModel,
        runs: BTreeMap<&'a str, &'a crate::ingest::mlflow::Run>,
    }
    #[derive(serde::Serialize)]
    struct StoreRef {
        path: String,
        kind: &'static str,
        /// A SQLite store's SHA-256, so the extract can be checked against the store it came from.
        sha256: Option<String>,
    }
    let mut out = Vec::new();
    if doc.scope.systems.is_empty() {
        return Ok(out);
    }
    for store in &evidence.stores {
        let named: Vec<_> = store
            .models
            .iter()
            .filter(|m| doc.scope.systems.contains(&m.name))
            .collect();
        if named.is_empty() {
            continue;
        }
        let sha256 = match store.kind {
            crate::ingest::mlflow::StoreKind::Sqlite => Some(sha256_file(&store.path)?),
            _ => None,
        };
        for model in named {
            let runs = model
                .versions
                .iter()
                .filter_map(|v| v.run_id.as_deref())
                .filter_map(|id| store.runs.get_key_value(id))
                .map(|(k, v)| (k.as_str(), v))
                .collect();
            let lineage = Lineage {
                store: StoreRef {
                    path: store.path.display().to_string(),
                    kind: store.kind.label(),
                    sha256: sha256.clone(),
                },
                model,
                runs,
            };
            let mut text = serde_json::to_string_pretty(&lineage)
                .map_err(|e| Error::Usage(format!("cannot serialise the lineage: {e}")))?;
            text.push('\n');
            out.push((
                sanitize(&format!(
                    "evidence/mlflow/lineage/{}.json",
                    segment(&model.name)
                )),
                text.into_bytes(),
            ));
        }
    }
    Ok(out)
}

fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io("cannot read", path, e))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The files generated from the document, by path under `data/`.
pub fn generated_files(
    evidence: &Evidence,
    doc: &Document,
    kpis_json: &[u8],
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = vec![
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
    files.extend(lineage_files(evidence, doc)?);
    Ok(files)
}

/// One line of the request index: a bundle file and what it evidences.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexRow {
    /// Path inside the bag, `data/…`.
    pub path: String,
    pub system: String,
    pub evidences: &'static str,
    pub detail: String,
}

/// What each payload file evidences, for a regulator request: MLflow lineage, inference records
/// (record-keeping), audits and their evidence, exceptions, and the generated figures.
pub fn request_index(
    config: &Config,
    evidence: &Evidence,
    doc: &Document,
    inputs: &[Input],
    generated: &[(String, Vec<u8>)],
) -> Vec<IndexRow> {
    let scope = if doc.scope.systems.is_empty() {
        "all systems".to_string()
    } else {
        doc.scope.systems.join(", ")
    };
    let row = |path: &str, system: &str, evidences: &'static str, detail: String| IndexRow {
        path: format!("data/{path}"),
        system: system.to_string(),
        evidences,
        detail,
    };
    let mut out: Vec<IndexRow> = Vec::new();
    for (path, _) in generated {
        let (what, detail): (&'static str, String) = match path.as_str() {
            "kpis/kpis.json" => (
                "KPIs",
                "every KPI, per model and portfolio (SPEC §4)".into(),
            ),
            "kpis/models.csv" => ("KPIs", "per-model KPIs, one row per model".into()),
            "kpis/portfolio.csv" => ("KPIs", "portfolio KPIs against their targets".into()),
            "audits/scores.csv" => ("audits", "every scored control of the latest audits".into()),
            "audits/remediation.csv" => ("audits", "the ranked remediation plan".into()),
            "audits/exceptions.csv" => ("exceptions", "the exceptions register, assessed".into()),
            "baseline/baseline.json" => ("KPIs", "figures for the next period's trend".into()),
            p if p.starts_with("evidence/mlflow/lineage/") => {
                let name = p
                    .trim_start_matches("evidence/mlflow/lineage/")
                    .trim_end_matches(".json");
                let detail = doc
                    .models
                    .iter()
                    .find(|m| m.name == name)
                    .map(lineage_chain)
                    .unwrap_or_default();
                out.push(row(p, name, "MLflow lineage", detail));
                continue;
            }
            _ => ("generated", String::new()),
        };
        out.push(row(path, &scope, what, detail));
    }
    let canonical_of = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    for input in inputs {
        let source = input.origin.as_ref().map_or(&input.source, |o| &o.path);
        // Model cards and evaluation artifacts sit under `evidence/<kind>/<model segment>/`.
        let model_in_dest = || {
            let seg = input.dest.split('/').nth(2).unwrap_or_default();
            doc.models
                .iter()
                .find(|x| segment(&x.name) == seg)
                .map_or_else(|| seg.to_string(), |x| x.name.clone())
        };
        let r = match input.role {
            "config" => row(
                &input.dest,
                &scope,
                "configuration",
                "the build's config".into(),
            ),
            "mlflow" => row(
                &input.dest,
                &scope,
                "MLflow lineage",
                "MLflow store metadata: registered models, versions, runs, datasets".into(),
            ),
            "model-card" => {
                let m = model_in_dest();
                row(&input.dest, &m, "model documentation", "model card".into())
            }
            "evaluation-artifact" => {
                let m = model_in_dest();
                let run = doc
                    .models
                    .iter()
                    .find(|x| x.name == m)
                    .and_then(|x| x.source_run.clone())
                    .unwrap_or_default();
                row(
                    &input.dest,
                    &m,
                    "evaluation",
                    format!("artifact of source run {run}"),
                )
            }
            "log-extract" | "log-excerpt" => {
                let display = source.display().to_string();
                let models = doc
                    .log_files
                    .iter()
                    .find(|f| f.path == display)
                    .map(|f| f.models.clone())
                    .unwrap_or_default();
                let systems = models.keys().cloned().collect::<Vec<_>>().join(", ");
                let counts = if models.is_empty() {
                    "no records".to_string()
                } else {
                    models
                        .iter()
                        .map(|(m, n)| format!("{n} of {m}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let detail = if input.role == "log-excerpt" {
                    format!(
                        "the period's accepted inference records of the scope ({counts}), \
                         cut from {display}"
                    )
                } else {
                    format!("inference-log extract; accepted in the period: {counts}")
                };
                row(
                    &input.dest,
                    &systems,
                    "inference records (record-keeping)",
                    detail,
                )
            }
            "audit" => {
                let audits: Vec<_> = evidence
                    .audits
                    .iter()
                    .filter(|a| &a.file == source)
                    .collect();
                let system = audits
                    .iter()
                    .map(|a| a.system.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let detail = audits
                    .iter()
                    .map(|a| format!("{} audit of {}", a.framework.id, a.assessed_on))
                    .collect::<Vec<_>>()
                    .join("; ");
                row(&input.dest, &system, "audits", detail)
            }
            "audit-evidence" => {
                let real = canonical_of(source);
                let (mut systems, mut cited) = (Vec::<&str>::new(), Vec::new());
                for a in &doc.audits {
                    for c in &a.controls {
                        let cites = c
                            .evidence
                            .iter()
                            .any(|e| canonical_of(&config.base_dir.join(e)) == real);
                        if cites {
                            if !systems.contains(&a.system.as_str()) {
                                systems.push(&a.system);
                            }
                            cited.push(format!("{} {} ({})", a.framework, c.id, a.system));
                        }
                    }
                }
                row(
                    &input.dest,
                    &systems.join(", "),
                    "audit evidence",
                    format!("cited by {}", cited.join(", ")),
                )
            }
            "exceptions" => row(
                &input.dest,
                &scope,
                "exceptions",
                "the exceptions register as filed".into(),
            ),
            other => row(&input.dest, &scope, "evidence", other.to_string()),
        };
        out.push(r);
    }
    out.push(row(
        "sources.csv",
        &scope,
        "chain of custody",
        "every input's original path, size, time and SHA-256".into(),
    ));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// version ↔ run ↔ dataset ↔ git commit ↔ evaluation ↔ approval, as the inventory found them.
fn lineage_chain(m: &crate::kpi::ModelKpis) -> String {
    let or_none = |v: Option<&str>| v.unwrap_or("none").to_string();
    format!(
        "version {} ↔ run {} ↔ datasets {} ↔ git commit {} ↔ evaluation {} ↔ approval {}",
        or_none(m.version.as_deref()),
        or_none(m.source_run.as_deref()),
        if m.datasets.is_empty() {
            "none".to_string()
        } else {
            m.datasets.join(", ")
        },
        or_none(m.git_commit.as_deref()),
        if m.evaluation_metrics.is_empty() {
            "none".to_string()
        } else {
            m.evaluation_metrics
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        },
        or_none(m.approved_by.as_deref()),
    )
}

/// The request index as CSV.
pub fn request_index_csv(rows: &[IndexRow]) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| Error::Usage(format!("cannot write data/request-index.csv: {e}"));
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(["path", "system", "evidences", "detail"])
        .map_err(fail)?;
    for r in rows {
        w.write_record([&r.path, &r.system, r.evidences, &r.detail])
            .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("cannot write data/request-index.csv: {e}")))
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
