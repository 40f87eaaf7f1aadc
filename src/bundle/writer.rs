//! Output files appear whole or not at all: written to a temporary file beside the target, synced,
//! then linked into place (refusing an existing target) or, with `--force`, renamed over it.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub fn write_atomically(
    target: &Path,
    force: bool,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    let temp = temp_path(target);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| Error::io("cannot create", &temp, e))?;
    let result = write(&mut file)
        .and_then(|_| {
            file.sync_all()
                .map_err(|e| Error::io("cannot write", &temp, e))
        })
        .and_then(|_| publish(&temp, target, force));
    // The temporary name is gone after a rename; after a link, or on failure, remove it.
    let _ = std::fs::remove_file(&temp);
    result
}

fn publish(temp: &Path, target: &Path, force: bool) -> Result<()> {
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
}
