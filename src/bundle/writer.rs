//! Output files appear whole or not at all, and a build's outputs appear together. Each is written
//! to a temporary file beside its target and synced (`prepare`); only when every one is ready are
//! they linked into place (refusing an existing target) or, with `--force`, renamed over it
//! (`publish`). If publishing one fails, those already published by this call are removed again,
//! so a bundle never stands without its report. Temporary names carry the process id
//! (`.<name>.partial-<pid>`, `.dossier-excerpt-<pid>-…`; `.<root>.staging-<pid>-<n>` of earlier
//! versions), so the next build can recognise and remove what a crashed or stopped run left
//! behind (`remove_stale`).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file written and synced beside its target, not yet in place.
pub struct Prepared {
    temp: PathBuf,
    target: PathBuf,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // Gone after a rename; after a link, or when never published, remove it.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Create the temporary file beside `target`, to be written, then `finish`ed.
pub fn start(target: &Path) -> Result<(Prepared, File)> {
    let temp = temp_path(target);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| Error::io("cannot create", &temp, e))?;
    let prepared = Prepared {
        temp,
        target: target.to_path_buf(),
    };
    Ok((prepared, file))
}

impl Prepared {
    /// The file written: on disk before it is published.
    pub fn finish(self, file: File) -> Result<Prepared> {
        file.sync_all()
            .map_err(|e| Error::io("cannot write", &self.temp, e))?;
        Ok(self)
    }
}

/// Write `target`'s content to a temporary file beside it.
pub fn prepare(target: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<Prepared> {
    let (prepared, mut file) = start(target)?;
    write(&mut file)?;
    prepared.finish(file)
}

/// Put every prepared file in place, or none of them.
pub fn publish(files: Vec<Prepared>, force: bool) -> Result<()> {
    let mut done: Vec<PathBuf> = Vec::new();
    for f in &files {
        if let Err(e) = publish_one(&f.temp, &f.target, force) {
            for target in &done {
                let _ = std::fs::remove_file(target);
            }
            return Err(e);
        }
        done.push(f.target.clone());
    }
    Ok(())
}

/// One file, whole or not at all.
pub fn write_atomically(
    target: &Path,
    force: bool,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    publish(vec![prepare(target, write)?], force)
}

fn publish_one(temp: &Path, target: &Path, force: bool) -> Result<()> {
    if force {
        return std::fs::rename(temp, target).map_err(|e| Error::io("cannot write", target, e));
    }
    // link() fails if the target exists: no window in which another file could be overwritten.
    std::fs::hard_link(temp, target).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Exists {
            path: target.to_path_buf(),
        },
        _ => Error::io("cannot write", target, e),
    })
}

fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// The prefix of an excerpt's temporary file, with this process's id.
pub fn excerpt_prefix() -> String {
    format!(".dossier-excerpt-{}-", std::process::id())
}

/// Remove this tool's temporary files in `dir` left by runs that are no longer alive — named as
/// above for the bundle `root` — and say which.
pub fn remove_stale(dir: &Path, root: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let prefixes = [
        format!(".{root}.zip.partial-"),
        format!(".{root}.pdf.partial-"),
        format!(".{root}.staging-"),
        ".dossier-excerpt-".to_string(),
    ];
    let mut notices = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = prefixes.iter().find_map(|p| name.strip_prefix(p.as_str())) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let alive = !pid.is_empty() && Path::new("/proc").join(&pid).exists();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if pid.is_empty() || alive || !is_file {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            notices.push(format!(
                "removed {}, left by an earlier dossier run (process {pid}) that did not finish",
                entry.path().display()
            ));
        }
    }
    notices.sort();
    notices
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn never_overwrites_without_force_and_leaves_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.zip");
        write_atomically(&target, false, |f| {
            f.write_all(b"one").map_err(|e| Error::io("w", &target, e))
        })
        .unwrap();
        let err = write_atomically(&target, false, |f| {
            f.write_all(b"two").map_err(|e| Error::io("w", &target, e))
        });
        assert!(matches!(err, Err(Error::Exists { .. })));
        assert_eq!(std::fs::read(&target).unwrap(), b"one");
        write_atomically(&target, true, |f| {
            f.write_all(b"three")
                .map_err(|e| Error::io("w", &target, e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"three");
        let failed = write_atomically(&tmp.path().join("x.zip"), false, |_| {
            Err(Error::Usage("boom".into()))
        });
        assert!(failed.is_err());
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["out.zip"],
            "no partial file and no x.zip left behind"
        );
    }

    #[test]
    fn outputs_appear_together_or_not_at_all() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = tmp.path().join("b.zip");
        let pdf = tmp.path().join("b.pdf");
        // The PDF's target exists already: publishing both fails, and the zip is taken back.
        std::fs::write(&pdf, "older").unwrap();
        let a = prepare(&zip, |f| {
            f.write_all(b"z").map_err(|e| Error::io("w", &zip, e))
        })
        .unwrap();
        let b = prepare(&pdf, |f| {
            f.write_all(b"p").map_err(|e| Error::io("w", &pdf, e))
        })
        .unwrap();
        assert!(matches!(
            publish(vec![a, b], false),
            Err(Error::Exists { .. })
        ));
        assert!(!zip.exists(), "no bundle without its report");
        assert_eq!(std::fs::read(&pdf).unwrap(), b"older");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temporaries"
        );
    }

    #[test]
    fn stale_temporaries_of_dead_runs_are_removed_and_named() {
        let tmp = tempfile::tempdir().unwrap();
        // pid 4194305 is above Linux's pid_max (4194304): never alive.
        let dead = tmp.path().join(".b.staging-4194305-0");
        let live = tmp
            .path()
            .join(format!(".b.staging-{}-0", std::process::id()));
        let other = tmp.path().join(".b.staging-notes");
        for p in [&dead, &live, &other] {
            std::fs::write(p, "x").unwrap();
        }
        let notices = remove_stale(tmp.path(), "b");
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("4194305"));
        assert!(!dead.exists() && live.exists() && other.exists());
    }
}
