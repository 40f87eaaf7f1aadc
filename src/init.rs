//! `dossier init [DIR]`: writes a commented `dossier.yaml`, an example audit in YAML and in CSV,
//! and an exceptions register — files that `dossier kpis` accepts as they are. Guarantees: an
//! existing file is never overwritten (nothing is written at all if any target exists), and each
//! file is created whole or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const FILES: [(&str, &str); 4] = [
    (
        "dossier.yaml",
        include_str!("../templates/init/dossier.yaml"),
    ),
    (
        "audits/example-audit.yaml",
        include_str!("../templates/init/audits/example-audit.yaml"),
    ),
    (
        "audits/example-audit.csv",
        include_str!("../templates/init/audits/example-audit.csv"),
    ),
    (
        "exceptions.csv",
        include_str!("../templates/init/exceptions.csv"),
    ),
];

/// Scaffold into `dir`; returns the files written. With `force`, the scaffold's own files are
/// replaced (each atomically); without it, nothing is written if any of them exists.
pub fn scaffold(dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
    for (name, _) in FILES {
        let path = dir.join(name);
        if path.exists() && !force {
            return Err(Error::Exists { path });
        }
    }
    let mut written = Vec::new();
    for (name, text) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        if force {
            crate::bundle::write_atomically(&path, true, |file| {
                file.write_all(text.as_bytes())
                    .map_err(|e| Error::io("cannot write", &path, e))
            })?;
            written.push(path);
            continue;
        }
        // create_new: a file that appeared since the check above is still not overwritten.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("cannot create", &path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io("cannot write", &path, e))?;
        written.push(path);
    }
    Ok(written)
}
