//! Reading a file store's files: `meta.yaml` documents (an error naming the file, line and
//! column when malformed), YAML scalars as MLflow writes them, sorted folder listings, recursive
//! file lists and the one-value-per-file folders of tags and params. Guarantees: MLflow never
//! writes a symbolic link, so a listing that meets one is an error naming it — no walk follows a
//! link out of the store or round a loop — walks stop at `MAX_DEPTH`, and every file is read
//! through `fsio`, confined to the folder it was listed in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// How deep a tag or metric key may nest (`/` in a key is a folder); far beyond any real key.
const MAX_DEPTH: usize = 32;

/// A store file as text, read only if it really lies inside `within`.
pub(super) fn read_text(path: &Path, within: &Path) -> Result<String> {
    let bytes = crate::fsio::read_small_within(path, "MLflow store file", Some(within))?;
    String::from_utf8(bytes).map_err(|_| Error::Mlflow {
        path: path.to_path_buf(),
        message: "not UTF-8 text; MLflow writes UTF-8".into(),
        hint: Some("the store is damaged; restore this file or re-export the store".into()),
    })
}

pub(super) fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let within = path.parent().unwrap_or(Path::new("/"));
    let text = read_text(path, within)?;
    serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        Error::Mlflow {
            path: PathBuf::from(format!("{}{at}", path.display())),
            message: format!("malformed meta.yaml: {e}"),
            hint: Some("the store is damaged; restore this file or re-export the store".into()),
        }
    })
}

pub(super) fn yaml_scalar(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Sorted entry names of a folder. A name that is not UTF-8 is an error: MLflow never writes one,
/// so the store has been tampered with or damaged, and skipping it could drop evidence.
pub(super) fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("cannot list", dir, e))? {
        let entry = entry.map_err(|e| Error::io("cannot list", dir, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("cannot list", dir, e))?;
        if kind.is_symlink() {
            return Err(Error::Mlflow {
                path: entry.path(),
                message: "is a symbolic link; MLflow never writes one, and dossier does not \
                          follow links inside a store"
                    .into(),
                hint: Some("replace the link by the file or folder it points to".into()),
            });
        }
        match entry.file_name().into_string() {
            Ok(name) => out.push(name),
            Err(raw) => {
                return Err(Error::Mlflow {
                    path: dir.join(&raw),
                    message: "file name is not valid UTF-8; MLflow does not write such names"
                        .into(),
                    hint: Some("rename or remove the entry, then run again".into()),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Files below `dir`, keyed by their path relative to it with `/` (MLflow stores tag keys that
/// contain `/` as nested folders).
pub(super) fn walk_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![(String::new(), dir.to_path_buf(), 0usize)];
    while let Some((prefix, folder, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(Error::Mlflow {
                path: folder,
                message: format!("folders nest deeper than {MAX_DEPTH} levels"),
                hint: Some("the store is damaged; restore it or re-export it".into()),
            });
        }
        for name in list_dir(&folder)? {
            let path = folder.join(&name);
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if path.is_dir() {
                stack.push((key, path, depth + 1));
            } else {
                out.push((key, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A folder of `key` files holding values (tags, params, aliases).
pub(super) fn read_kv_dir(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (key, path) in walk_files(dir)? {
        let value = read_text(&path, dir)?;
        out.insert(key, value);
    }
    Ok(out)
}
