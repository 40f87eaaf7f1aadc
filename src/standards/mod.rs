//! The standard documents GRC platforms and supply-chain tools read, made from the KPI document
//! (issue 18): OSCAL 1.2.1 catalogs of the frameworks in use, an assessment plan, assessment
//! results and a POA&M (`oscal`, `results`, `poam`), and a CycloneDX 1.6 ML-BOM (`mlbom`). In: the
//! config, the evidence read, the KPI document and the evidence files the bundle carries (`Carried`:
//! bundle path and SHA-256). Out: (path under `data/`, bytes) pairs. Guarantees: every id is a
//! UUIDv5 of a stable name under dossier's namespace and every time is the build time or a date of
//! the evidence, so identical inputs give identical bytes; a regulator request's documents hold
//! only its systems (the document they are made from already does).

mod mlbom;
pub mod model;
mod oscal;
mod poam;
mod results;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::Evidence;
use crate::ingest::audits::framework::Framework;
use crate::kpi::Document;
use crate::vocab::InputRole;

pub const CATALOG_DIR: &str = "data/oscal/catalogs/";
pub const ASSESSMENT_PLAN: &str = "data/oscal/assessment-plan.json";
pub const ASSESSMENT_RESULTS: &str = "data/oscal/assessment-results.json";
pub const POAM: &str = "data/oscal/poam.json";
pub const MLBOM: &str = "data/mlbom/bom.cdx.json";

/// One of the documents alone (`dossier export --format …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    AssessmentResults,
    Poam,
    CycloneDx,
}

impl Standard {
    pub fn path(self) -> &'static str {
        match self {
            Standard::AssessmentResults => ASSESSMENT_RESULTS,
            Standard::Poam => POAM,
            Standard::CycloneDx => MLBOM,
        }
    }
}

/// An input file the bundle carries, as the standard documents cite it.
#[derive(Debug, Clone)]
pub struct Carried {
    pub role: InputRole,
    pub source: PathBuf,
    pub system: Option<String>,
    /// Its path in the bag, `data/…`.
    pub path: String,
    pub sha256: String,
}

/// What the documents are made from.
pub struct Basis<'a> {
    pub config: &'a Config,
    pub evidence: &'a Evidence,
    pub doc: &'a Document,
    pub carried: &'a [Carried],
}

impl Basis<'_> {
    /// The build time as OSCAL and CycloneDX write it.
    fn time(&self) -> String {
        self.config
            .build_time
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    /// A UUIDv5 of `name` under dossier's namespace, qualified by the organisation, period and
    /// scope, so two bundles of different reach never share an id.
    fn uuid(&self, name: &str) -> String {
        let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"urn:dossier");
        let doc = self.doc;
        let seed = format!(
            "{}\n{}..{}\n{}\n{}\n{name}",
            doc.organization,
            doc.period.start,
            doc.period.end,
            doc.scope.systems.join(","),
            doc.scope.request_id.as_deref().unwrap_or_default()
        );
        uuid::Uuid::new_v5(&ns, seed.as_bytes()).to_string()
    }

    /// The frameworks the document's audits use, by id.
    fn frameworks(&self) -> BTreeMap<&str, &Framework> {
        let used: Vec<&str> = self
            .doc
            .audits
            .iter()
            .map(|a| a.framework.as_str())
            .collect();
        self.evidence
            .audits
            .iter()
            .map(|a| &a.framework)
            .filter(|f| used.contains(&f.id.as_str()))
            .map(|f| (f.id.as_str(), f))
            .collect()
    }

    /// The carried file a path of the config's (as an audit lists evidence) was copied from.
    fn carried_for(&self, role: InputRole, source: &Path) -> Option<&Carried> {
        self.carried
            .iter()
            .find(|c| c.role == role && c.source == source)
    }
}

/// A framework's catalog path in the bag.
pub fn catalog_path(framework: &str) -> String {
    format!(
        "{CATALOG_DIR}{}.json",
        crate::vocab::layout::segment(framework)
    )
}

/// A bag path as a URI reference: every byte but the unreserved characters, `/` and the
/// sub-delimiters percent-encoded (a space in a file name is `%20`), as OSCAL's `uri-reference`
/// and CycloneDX's `iri-reference` want.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A vocabulary value as its serialised name (`high`, `in_progress`).
fn label<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn pretty<T: serde::Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("cannot serialise the {what}: {e}")))?;
    text.push('\n');
    Ok(text.into_bytes())
}

/// Every standard document, by its path in the bag.
pub fn documents(basis: &Basis<'_>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut catalogs = Vec::new();
    for framework in basis.frameworks().values() {
        let bytes = oscal::catalog(basis, framework)?;
        let path = catalog_path(&framework.id);
        catalogs.push((
            framework.id.clone(),
            path.clone(),
            crate::digest::sha256_hex(&bytes),
        ));
        out.push((path, bytes));
    }
    let plan = oscal::assessment_plan(basis, &catalogs)?;
    let plan_sha = crate::digest::sha256_hex(&plan);
    out.push((ASSESSMENT_PLAN.to_string(), plan));
    out.push((
        ASSESSMENT_RESULTS.to_string(),
        results::assessment_results(basis, &plan_sha)?,
    ));
    if let Some(poam) = poam::poam(basis)? {
        out.push((POAM.to_string(), poam));
    }
    out.push((MLBOM.to_string(), mlbom::bom(basis)?));
    Ok(out)
}

/// Every document a build of `doc` writes, with what it evidences: (bag path, kind, detail).
pub fn planned(doc: &Document) -> Vec<(String, &'static str, &'static str)> {
    let mut frameworks: Vec<&str> = doc.audits.iter().map(|a| a.framework.as_str()).collect();
    frameworks.sort();
    frameworks.dedup();
    let mut out: Vec<(String, &'static str, &'static str)> = frameworks
        .into_iter()
        .map(|f| {
            (
                catalog_path(f),
                "OSCAL catalog",
                "a control framework in use",
            )
        })
        .collect();
    out.extend([
        (
            ASSESSMENT_PLAN.to_string(),
            "OSCAL assessment plan",
            "systems, controls and period",
        ),
        (
            ASSESSMENT_RESULTS.to_string(),
            "OSCAL assessment results",
            "audits and KPIs, with evidence",
        ),
        (
            MLBOM.to_string(),
            "CycloneDX ML-BOM",
            "production models and their datasets",
        ),
    ]);
    if !doc.remediation.is_empty() {
        out.push((POAM.to_string(), "OSCAL POA&M", "the remediation plan"));
    }
    out
}

/// One document alone.
pub fn document(basis: &Basis<'_>, which: Standard) -> Result<Vec<u8>> {
    documents(basis)?
        .into_iter()
        .find(|(path, _)| path == which.path())
        .map(|(_, bytes)| bytes)
        .ok_or_else(|| match which {
            Standard::Poam => Error::Usage(
                "no remediation item: there is no POA&M to write (OSCAL wants at least one \
                 poam-item, and the bundle carries none either)"
                    .into(),
            ),
            _ => Error::Internal(format!("{} was not made", which.path())),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bag_paths_become_uri_references() {
        assert_eq!(uri_path("../evidence/a b.md"), "../evidence/a%20b.md");
        assert_eq!(uri_path("data/x%y#z?.json"), "data/x%25y%23z%3F.json");
        assert_eq!(uri_path("é"), "%C3%A9");
        assert_eq!(
            uri_path("catalogs/vendor-audit-10.json"),
            "catalogs/vendor-audit-10.json"
        );
    }
}
