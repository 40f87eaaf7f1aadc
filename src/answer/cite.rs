//! Evidence references as written into an answer. In: a library entry's evidence paths and, when
//! answering from a bundle, what its verified manifest says. Out: the text of the evidence cell.
//! Guarantees: from a bundle, every reference names a file or folder the bundle has, with the
//! SHA-256 an auditor can check against the bag (`sha256sum`, or `grep | sha256sum` for a
//! folder); a reference to anything the bundle lacks is an error naming the entry and the bundle.

use std::path::PathBuf;

use super::Job;
use super::library::Rule;
use crate::error::{Error, Result};

/// A bundle that verified, and what answers cite of it.
#[derive(Debug)]
pub struct Cited {
    pub bundle: PathBuf,
    /// The bag's folder name: the bundle id.
    pub id: String,
    pub sha256: String,
    pub fingerprint: Option<String>,
    pub key_pinned: bool,
    pub time_stamp: Option<String>,
    /// `manifest-sha256.txt` as (path, SHA-256) in the manifest's order.
    pub manifest: Vec<(String, String)>,
    /// `tagmanifest-sha256.txt` likewise: the tag files (`manifest-sha256.txt`, `bag-info.txt`)
    /// an answer may cite too.
    pub tag_manifest: Vec<(String, String)>,
}

impl Cited {
    /// The manifest's lines `<sha256>  <path>`, read leniently: the bundle verified already.
    pub fn parse_manifest(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(hash, path)| (path.to_string(), hash.to_string()))
            .collect()
    }

    /// `data/kpis/models.csv sha256:…`, or for a folder the count of its files and the SHA-256
    /// of their manifest lines (`grep '  data/evidence/mlflow/' manifest-sha256.txt | sha256sum`).
    fn reference(&self, path: &str) -> Option<String> {
        let mut files = self.manifest.iter().chain(&self.tag_manifest);
        if let Some((_, hash)) = files.find(|(p, _)| p == path) {
            return Some(format!("{path} sha256:{hash}"));
        }
        let folder = format!("{}/", path.trim_end_matches('/'));
        let lines: String = self
            .manifest
            .iter()
            .filter(|(p, _)| p.starts_with(&folder))
            .map(|(p, h)| format!("{h}  {p}\n"))
            .collect();
        let files = lines.lines().count();
        (files > 0).then(|| {
            format!(
                "{folder} ({files} files; their manifest lines sha256:{})",
                crate::digest::sha256_hex(lines.as_bytes())
            )
        })
    }
}

/// The evidence cell for `rule`: its paths as written, or — from a bundle — each with its hash.
pub(super) fn references(job: &Job<'_>, rule: &Rule, index: usize) -> Result<String> {
    let Some(cited) = job.cited else {
        return Ok(rule.evidence.join("; "));
    };
    let mut out = Vec::new();
    for path in &rule.evidence {
        let found = cited.reference(path.trim()).ok_or_else(|| Error::Answer {
            path: job.library.to_path_buf(),
            at: Some(format!("answers[{index}] ({})", rule.label)),
            message: format!(
                "cites `{path}`, which the bundle {} does not have",
                cited.bundle.display()
            ),
        })?;
        out.push(found);
    }
    Ok(out.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_cited_by_hash_and_folders_by_the_hash_of_their_manifest_lines() {
        let manifest = "aa  data/kpis/kpis.json\nbb  data/evidence/mlflow/a.json\ncc  data/evidence/mlflow/b.json\n";
        let cited = Cited {
            bundle: "b.zip".into(),
            id: "b".into(),
            sha256: String::new(),
            fingerprint: None,
            key_pinned: false,
            time_stamp: None,
            manifest: Cited::parse_manifest(manifest),
            tag_manifest: Cited::parse_manifest("dd  manifest-sha256.txt\n"),
        };
        assert_eq!(
            cited.reference("data/kpis/kpis.json").as_deref(),
            Some("data/kpis/kpis.json sha256:aa")
        );
        // printf 'bb  data/evidence/mlflow/a.json\ncc  data/evidence/mlflow/b.json\n' | sha256sum
        let folder = cited.reference("data/evidence/mlflow").unwrap();
        assert!(
            folder.starts_with("data/evidence/mlflow/ (2 files;"),
            "{folder}"
        );
        assert!(
            folder.ends_with("7572218923382a1e825c4ec51987a0456e0d809d201debe37f0539370178857d)"),
            "{folder}"
        );
        assert_eq!(
            cited.reference("manifest-sha256.txt").as_deref(),
            Some("manifest-sha256.txt sha256:dd")
        );
        assert_eq!(cited.reference("data/evidence/mlf"), None);
        assert_eq!(cited.reference("data/nothing.csv"), None);
    }
}
