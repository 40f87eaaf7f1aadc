//! The `bundle:` section and `signing.tsa` of SPEC §2 resolved: how much of each source a bundle
//! carries (minimised by default), which log fields are redacted, and the time-stamp authority
//! with `--tsa-url` and `--no-tsa` applied. In: the raw sections and the overrides. Out: the
//! resolved values, or the key and message of the first rule broken.

use std::path::PathBuf;

use serde::Deserialize;

use super::Overrides;
use super::raw::{RawBundle, RawTsa};

/// A time-stamp authority: where to ask, and the root its tokens must chain to (checked at build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tsa {
    pub url: String,
    pub ca: Option<PathBuf>,
}

/// How much of each source a bundle carries (minimised by default: SPEC §6).
#[derive(Debug, Clone, Default)]
pub struct BundlePolicy {
    /// Copy the MLflow stores' files whole, instead of the lineage extracts of their models.
    pub include_stores: bool,
    pub log_extracts: LogExtracts,
    /// Log fields (canonical names) replaced by a keyed hash in minimised extracts.
    pub redact: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogExtracts {
    /// The mapped fields of every record, with its file and line.
    #[default]
    Minimised,
    /// The files as they are.
    Original,
}

/// `signing.tsa` with `--tsa-url` and `--no-tsa` applied.
pub(super) fn resolve_tsa(
    raw: Option<RawTsa>,
    overrides: &Overrides,
    join: &dyn Fn(&str) -> PathBuf,
) -> std::result::Result<Option<Tsa>, String> {
    if overrides.no_tsa {
        return Ok(None);
    }
    let ca = raw.as_ref().and_then(|t| t.ca.as_deref()).map(join);
    let url = match (&overrides.tsa_url, raw) {
        (Some(url), _) => url.clone(),
        (None, Some(t)) => t.url,
        (None, None) => return Ok(None),
    };
    if !url.starts_with("http://") {
        return Err(format!(
            "`{url}` is not an http:// URL (the token is signed by the TSA, so plain HTTP cannot \
             alter it unnoticed; dossier builds no TLS)"
        ));
    }
    Ok(Some(Tsa { url, ca }))
}

/// `bundle:` resolved. Redaction rewrites records, so it needs minimised extracts (an original
/// file is kept byte for byte or not at all), and names only fields an extract carries.
pub(super) fn resolve_bundle(
    raw: RawBundle,
) -> std::result::Result<BundlePolicy, (String, String)> {
    let log_extracts = raw.log_extracts.unwrap_or_default();
    let redact = raw.redact.unwrap_or_default();
    if !redact.is_empty() && log_extracts == LogExtracts::Original {
        return Err((
            "bundle.redact".into(),
            "needs `bundle.log_extracts: minimised`: an original extract is kept byte for byte"
                .into(),
        ));
    }
    for field in &redact {
        if !REDACTABLE.contains(&field.as_str()) {
            return Err((
                "bundle.redact".into(),
                format!(
                    "`{field}` cannot be redacted (the timestamp and the model key every KPI); \
                     redactable: {}",
                    REDACTABLE.join(", ")
                ),
            ));
        }
    }
    Ok(BundlePolicy {
        include_stores: raw.include_stores.unwrap_or(false),
        log_extracts,
        redact,
    })
}

/// The mapped fields a minimised log extract carries that may be hashed: the timestamp and the
/// model name cannot be, every KPI is keyed on them.
pub const REDACTABLE: [&str; 5] = ["version", "latency_ms", "status", "score", "request_id"];
