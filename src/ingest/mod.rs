//! Every configured source in, the parsed evidence out (`Evidence`), in the order data flows:
//! MLflow stores, scored audits, the exceptions register, inference-log extracts.
//! Ingestion only reads, validates and normalises; what the evidence means is decided in `kpi`.

pub mod audits;
pub mod exceptions;
pub mod logs;
pub mod mlflow;
pub mod previous;
pub mod responses;

use std::path::PathBuf;

use crate::config::Config;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub stores: Vec<mlflow::Store>,
    pub audits: Vec<audits::Audit>,
    pub exceptions: Vec<exceptions::Exception>,
    pub logs: logs::LogData,
    /// The management responses to remediation items (`sources.responses`).
    pub responses: Vec<responses::Response>,
    /// The previous bundle this build links to (`--baseline PREVIOUS.zip`, `bundle.previous`).
    pub previous: Option<previous::Bundle>,
    /// Problems that did not stop ingestion; each names its file.
    pub warnings: Vec<String>,
}

pub fn ingest(config: &Config) -> Result<Evidence> {
    let stores = config
        .mlflow
        .iter()
        .map(mlflow::read)
        .collect::<Result<Vec<_>>>()?;
    let mut warnings: Vec<String> = stores
        .iter()
        .flat_map(|s| s.warnings.iter().cloned())
        .collect();
    let audits = audits::read_all(config, &mut warnings)?;
    let exceptions = exceptions::read_all(config, &mut warnings)?;
    let logs = logs::read_all(config, &mut warnings)?;
    let responses = match &config.responses {
        Some(path) => responses::read(path)?,
        None => Vec::new(),
    };
    let previous = config
        .previous
        .as_deref()
        .map(|p| crate::error::contain(p, "reading the previous bundle", || previous::read(p)))
        .transpose()?;
    Ok(Evidence {
        previous,
        responses,
        stores,
        audits,
        exceptions,
        logs,
        warnings,
    })
}

/// The files a list of glob patterns names, sorted and without repeats. A pattern without glob
/// characters must name an existing file; a glob that matches nothing is a warning.
pub fn expand_globs(
    patterns: &[String],
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for pattern in patterns {
        let is_glob = pattern.contains(['*', '?', '[']);
        if !is_glob {
            let path = PathBuf::from(pattern);
            std::fs::metadata(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            out.push(path);
            continue;
        }
        let paths = glob::glob(pattern)
            .map_err(|e| Error::Usage(format!("{what}: bad glob `{pattern}`: {e}")))?;
        let mut matched = 0;
        for entry in paths {
            let path = entry.map_err(|e| {
                Error::io(
                    "cannot read",
                    e.path(),
                    std::io::Error::other(e.to_string()),
                )
            })?;
            // Anything but a folder is handed on, so a FIFO or device a glob reaches is refused
            // by name (fsio) instead of being skipped unseen.
            if !path.is_dir() {
                out.push(path);
                matched += 1;
            }
        }
        if matched == 0 {
            warnings.push(format!("{what}: `{pattern}` matches no file"));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
