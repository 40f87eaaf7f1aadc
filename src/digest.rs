//! SHA-256 as the bundle, its manifests and the chain of custody write it: lowercase hex. In:
//! bytes, a file, or a stream on its way somewhere. Out: the digest (and, for a stream, how many
//! bytes passed). Guarantees: a stream is read once, in 1 MiB chunks, and the digest covers
//! exactly the bytes that were passed on — never a second read of a file that may have changed.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a whole file, in hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    file_digest(path).map(|(_, sha256)| sha256)
}

/// The size and SHA-256 (hex) of a whole file, read once.
pub fn file_digest(path: &Path) -> Result<(u64, String)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut reader = HashingReader::new(file);
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(reader.finish())
}

/// A reader that hashes and counts every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    /// Bytes read so far and their SHA-256 in hex.
    pub fn finish(self) -> (u64, String) {
        (self.read, hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let done = buf.get(..n).unwrap_or_default();
        self.hasher.update(done);
        self.read += n as u64;
        Ok(n)
    }
}

/// What went wrong in `copy_hashing`: reading the source or writing the target.
pub enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Copy all of `from` into `to`, hashing the bytes on the way; returns how many there were and
/// their SHA-256 in hex.
pub fn copy_hashing(
    from: &mut impl Read,
    to: &mut impl Write,
) -> std::result::Result<(u64, String), CopyError> {
    copy_hashing_with(from, to, &mut vec![0u8; 1 << 20])
}

/// `copy_hashing` through the caller's buffer: a loop over thousands of files reuses one, where
/// a fresh megabyte per file (between the small allocations that outlive it) grew the heap by
/// gigabytes.
pub fn copy_hashing_with(
    from: &mut impl Read,
    to: &mut impl Write,
    buf: &mut [u8],
) -> std::result::Result<(u64, String), CopyError> {
    let mut reader = HashingReader::new(from);
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        to.write_all(chunk).map_err(CopyError::Write)?;
    }
    Ok(reader.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }

    #[test]
    fn digests_match_sha256sum() {
        // printf abc | sha256sum
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), abc);
        let mut out = Vec::new();
        let (n, hash) = copy_hashing(&mut &b"abc"[..], &mut out).ok().unwrap();
        assert_eq!((n, hash.as_str(), out.as_slice()), (3, abc, &b"abc"[..]));
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), b"abc").unwrap();
        assert_eq!(sha256_file(tmp.path()).unwrap(), abc);
    }
}
