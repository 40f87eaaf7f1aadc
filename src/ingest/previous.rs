//! The previous bundle of a ledger (issue 23): a bundle zip in, what a link to it records out —
//! its id (the bag's folder), the SHA-256 of the zip file and of its `tagmanifest-sha256.txt`,
//! its period — and the link it itself records to the bundle before it (`Previous-*` fields of
//! its `bag-info.txt`). Guarantees: the zip is read once to hash it and its two tag files are read
//! with a size cap; a file that is no dossier bundle is an error naming it. Whether the bundle's
//! signatures hold is `dossier verify`'s business (it needs the signer's key).

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::vocab::layout;

/// The `bag-info.txt` field names of a link.
pub const ID_FIELD: &str = "Previous-Bundle-Id";
pub const SHA256_FIELD: &str = "Previous-Bundle-Sha256";
pub const TAGMANIFEST_FIELD: &str = "Previous-Tagmanifest-Sha256";

/// A link from one bundle to the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub id: String,
    pub sha256: String,
    pub tagmanifest_sha256: String,
}

/// A bundle as a member of a ledger.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// A link to this bundle.
    pub link: Link,
    /// `Internal-Sender-Description` (title, period, as-of, scope), for messages.
    pub description: String,
    /// The link this bundle records to its predecessor, if any.
    pub previous: Option<Link>,
}

/// A tag file is small; a bigger one is no dossier bundle's.
const TAG_LIMIT: u64 = 1 << 20;

pub fn read(path: &Path) -> Result<Bundle> {
    let fail = |message: String| Error::Baseline {
        path: path.to_path_buf(),
        message,
    };
    let (file, _) = crate::fsio::open_regular(path, "previous bundle", None)?;
    let mut hashing = crate::digest::HashingReader::new(file);
    std::io::copy(&mut hashing, &mut std::io::sink())
        .map_err(|e| Error::io("cannot read", path, e))?;
    let (_, sha256) = hashing.finish();
    let (file, _) = crate::fsio::open_regular(path, "previous bundle", None)?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| fail(format!("not a readable bundle zip: {e}")))?;
    let root = zip
        .file_names()
        .filter_map(|n| n.split_once('/'))
        .find(|(root, rest)| !root.is_empty() && *rest == layout::TAGMANIFEST)
        .map(|(root, _)| root.to_string())
        .ok_or_else(|| fail(format!("no <bundle>/{} in the zip", layout::TAGMANIFEST)))?;
    let mut tag = |name: &str| -> Result<Vec<u8>> {
        let entry = zip
            .by_name(&format!("{root}/{name}"))
            .map_err(|e| fail(format!("cannot read {name}: {e}")))?;
        let mut bytes = Vec::new();
        entry
            .take(TAG_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("cannot read {name}: {e}")))?;
        if bytes.len() as u64 > TAG_LIMIT {
            return Err(fail(format!("{name} is larger than 1 MiB")));
        }
        Ok(bytes)
    };
    let tagmanifest = tag(layout::TAGMANIFEST)?;
    let info = String::from_utf8_lossy(&tag(layout::BAG_INFO)?).into_owned();
    let field = |name: &str| bag_info_field(&info, name);
    let previous = match (
        field(ID_FIELD),
        field(SHA256_FIELD),
        field(TAGMANIFEST_FIELD),
    ) {
        (Some(id), Some(sha256), Some(tagmanifest_sha256)) => Some(Link {
            id,
            sha256,
            tagmanifest_sha256,
        }),
        _ => None,
    };
    Ok(Bundle {
        link: Link {
            id: root,
            sha256,
            tagmanifest_sha256: crate::digest::sha256_hex(&tagmanifest),
        },
        description: field("Internal-Sender-Description").unwrap_or_default(),
        previous,
    })
}

/// The value of `name` in a `bag-info.txt` (the first such line).
pub fn bag_info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_by_name() {
        let info = "Source-Organization: A: B\nPrevious-Bundle-Id: q1\n";
        assert_eq!(
            bag_info_field(info, "Previous-Bundle-Id").as_deref(),
            Some("q1")
        );
        assert_eq!(
            bag_info_field(info, "Source-Organization").as_deref(),
            Some("A: B")
        );
        assert_eq!(bag_info_field(info, "Missing"), None);
    }
}
