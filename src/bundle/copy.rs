//! One input copied into the bundle, under the rules every input is read by. In: an input (a
//! file the config or a store names, or a cut in the build's spool) and where to write it. Out:
//! its bytes written and their SHA-256. Guarantees: the file is opened under fsio's rules (a
//! regular file, inside its folder); a PEM private key in it stops the copy with an error naming
//! the file; the bytes read must be as many as when the input was listed.

use std::io::{Read, Seek, Write};
use std::path::Path;

use super::inputs::Input;
use crate::digest::{CopyError, copy_hashing_with};
use crate::error::{Error, Result};
use crate::fsio::{KeyScanner, open_regular};

/// A reader that refuses to pass on a PEM private key.
struct Refusing<'a> {
    file: Box<dyn Read + 'a>,
    path: &'a Path,
    scanner: KeyScanner,
    refused: Option<Error>,
}

impl Read for Refusing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if let Err(e) = self
            .scanner
            .scan(self.path, buf.get(..n).unwrap_or_default())
        {
            self.refused = Some(e);
            return Err(std::io::Error::other("private key"));
        }
        Ok(n)
    }
}

/// Copy an input to `to`, hashing the same bytes. The file is opened under fsio's rules (a
/// regular file, inside its folder), must hold no private key, and must still have the size it
/// had when it was listed.
pub(super) fn copy_input(input: &Input, to: &mut impl Write, buf: &mut [u8]) -> Result<String> {
    let file: Box<dyn Read> = match input.spooled {
        Some(offset) => {
            let mut spool = std::fs::File::open(&input.source)
                .map_err(|e| Error::io("cannot read", &input.source, e))?;
            spool
                .seek(std::io::SeekFrom::Start(offset))
                .map_err(|e| Error::io("cannot read", &input.source, e))?;
            Box::new(spool.take(input.size))
        }
        None => Box::new(open_regular(&input.source, "evidence", input.within.as_deref())?.0),
    };
    let mut reader = Refusing {
        file,
        path: &input.source,
        scanner: KeyScanner::default(),
        refused: None,
    };
    let copied = copy_hashing_with(&mut reader, to, buf);
    if let Some(e) = reader.refused {
        return Err(e);
    }
    let (total, hash) = copied.map_err(|e| match e {
        CopyError::Read(e) => Error::io("cannot read", &input.source, e),
        CopyError::Write(e) => Error::io("cannot write the zip for", &input.source, e),
    })?;
    unchanged(input, total)?;
    Ok(hash)
}

/// An input must still have the size it was listed with once it has been read whole.
pub(super) fn unchanged(input: &Input, read: u64) -> Result<()> {
    if read == input.size {
        return Ok(());
    }
    Err(Error::Bundle {
        path: input.source.clone(),
        message: format!(
            "changed while being read ({} bytes listed, {read} read)",
            input.size
        ),
    })
}
