//! The one way dossier opens an input file. In: a path, what it is (for messages), and optionally
//! the folder it must stay inside. Out: an open `File` and its size, or an error naming the path.
//! Guarantees, checked on the file actually opened (its descriptor), never on a name that could
//! change between check and use: only regular files are read — a FIFO, socket or device is refused
//! without blocking (the open is non-blocking), and so is anything under /proc, /sys or /dev;
//! a file confined to a folder must really lie inside it, whatever symlinks its path goes through;
//! a small file (config, register, audit, template, library) is refused above its size cap before
//! it is read; and no file holding a PEM private key is ever read as evidence, template data or an
//! answer library (`refuse_private_key`, `KeyScanner` for streams).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The most a config, exceptions register, audit, framework, template, answer library or MLflow
/// metadata file may hold: far above any real one, far below what would hurt.
pub const SMALL_FILE_CAP: u64 = 64 << 20;

/// What marks a PEM private key (PKCS#8 `PRIVATE KEY`, and `RSA`/`EC`/`ENCRYPTED` variants).
const KEY_MARK: &[u8] = b"PRIVATE KEY-----";

/// Open `path` for reading if it is a regular file; `within`, when given, is a folder the file
/// must really lie inside.
pub fn open_regular(path: &Path, what: &str, within: Option<&Path>) -> Result<(File, u64)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(format!("cannot read {what}"), path, e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {what}"), path, e))?;
    if !meta.is_file() {
        return Err(refused(path, format!("{what}: {}", kind_of(&meta))));
    }
    let real = real_path(&file).map_err(|e| Error::io(format!("cannot read {what}"), path, e))?;
    if ["/proc/", "/sys/", "/dev/"]
        .iter()
        .any(|p| real.starts_with(p))
    {
        return Err(refused(
            path,
            format!(
                "{what}: resolves to {}, a kernel file, not evidence",
                real.display()
            ),
        ));
    }
    if let Some(root) = within {
        let root = std::fs::canonicalize(root).map_err(|e| Error::io("cannot resolve", root, e))?;
        if !real.starts_with(&root) {
            return Err(refused(
                path,
                format!(
                    "{what}: resolves to {}, outside {}",
                    real.display(),
                    root.display()
                ),
            ));
        }
    }
    Ok((file, meta.len()))
}

/// A small input read whole: a regular file, at most `SMALL_FILE_CAP` bytes, holding no private key.
pub fn read_small(path: &Path, what: &str) -> Result<Vec<u8>> {
    read_small_within(path, what, None)
}

pub fn read_small_within(path: &Path, what: &str, within: Option<&Path>) -> Result<Vec<u8>> {
    let (file, size) = open_regular(path, what, within)?;
    if size > SMALL_FILE_CAP {
        return Err(refused(
            path,
            format!(
                "{what}: {size} bytes is more than the {} MiB such a file may hold",
                SMALL_FILE_CAP >> 20
            ),
        ));
    }
    let mut bytes = Vec::new();
    file.take(SMALL_FILE_CAP + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {what}"), path, e))?;
    if bytes.len() as u64 > SMALL_FILE_CAP {
        return Err(refused(path, format!("{what}: grew while being read")));
    }
    refuse_private_key(path, &bytes)?;
    Ok(bytes)
}

/// `read_small` as UTF-8 text.
pub fn read_small_text(path: &Path, what: &str) -> Result<String> {
    String::from_utf8(read_small(path, what)?)
        .map_err(|_| refused(path, format!("{what}: not UTF-8 text")))
}

/// A private key is never evidence: refuse bytes that hold a PEM private-key block.
pub fn refuse_private_key(path: &Path, bytes: &[u8]) -> Result<()> {
    if contains(bytes, KEY_MARK) {
        return Err(private_key(path));
    }
    Ok(())
}

fn private_key(path: &Path) -> Error {
    refused(
        path,
        "holds a PEM private key; a signing key is never evidence, template data or an answer \
         library"
            .into(),
    )
}

/// Watches a stream for a PEM private-key block across chunk boundaries.
#[derive(Default)]
pub struct KeyScanner {
    tail: Vec<u8>,
}

impl KeyScanner {
    /// Feed the next chunk; an error once a private key has been seen.
    pub fn scan(&mut self, path: &Path, chunk: &[u8]) -> Result<()> {
        let keep = KEY_MARK.len() - 1;
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(chunk.get(..keep.min(chunk.len())).unwrap_or_default());
        if contains(&window, KEY_MARK) || contains(chunk, KEY_MARK) {
            return Err(private_key(path));
        }
        let start = chunk.len().saturating_sub(keep);
        self.tail = chunk.get(start..).unwrap_or_default().to_vec();
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    // memchr's SIMD search: this runs over every byte copied into a bundle.
    memchr::memmem::find(haystack, needle).is_some()
}

/// The path of the file behind an open descriptor, as the kernel resolved it.
pub fn real_path(file: &File) -> std::io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

fn kind_of(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let kind = if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    };
    format!("is {kind}; only regular files are read")
}

fn refused(path: &Path, message: String) -> Error {
    Error::Refused {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_split_across_chunks_is_seen() {
        let text = b"intro -----BEGIN PRIVATE KEY-----\nMC4C\n";
        for split in 0..text.len() {
            let (a, b) = text.split_at(split);
            let mut s = KeyScanner::default();
            let seen = s.scan(Path::new("x"), a).is_err() || s.scan(Path::new("x"), b).is_err();
            assert!(seen, "split at {split}");
        }
        let mut s = KeyScanner::default();
        assert!(
            s.scan(Path::new("x"), b"-----BEGIN PUBLIC KEY-----")
                .is_ok()
        );
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = open_regular(&fifo, "log file", None).unwrap_err();
        assert!(err.to_string().contains("named pipe"), "{err}");
        let err = read_small(Path::new("/dev/zero"), "config").unwrap_err();
        assert!(err.to_string().contains("device"), "{err}");
        let err = read_small(Path::new("/proc/self/status"), "config").unwrap_err();
        assert!(err.to_string().contains("kernel file"), "{err}");
        assert!(read_small(tmp.path(), "config").is_err(), "a folder");
    }

    #[test]
    fn confinement_follows_the_opened_file_not_the_name() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(tmp.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret"), root.join("tag")).unwrap();
        let err = open_regular(&root.join("tag"), "MLflow store file", Some(&root)).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        std::fs::write(root.join("ok"), "y").unwrap();
        assert!(open_regular(&root.join("ok"), "MLflow store file", Some(&root)).is_ok());
    }
}
