//! The zip side of `dossier verify`: every entry read from the archive in memory, with caps, and
//! hashed; the central directory read by hand, since zip readers silently keep one of two entries
//! of the same name. In: the bundle file. Out: the entries by path inside the bag's top-level
//! folder, or the problems that stopped the read. Guarantees: nothing is extracted to disk; no
//! absolute or `..` path, no symlink, no entry past its declared size, no zip bomb is accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};

use crate::digest::HashingReader;
use crate::vocab::layout;

/// The most a bundle may decompress to in all.
const MAX_TOTAL_BYTES: u64 = 64 << 30;
/// Above this ratio an entry larger than `RATIO_FLOOR` is taken for a zip bomb. Text compresses
/// about 5–30:1; nothing evidential compresses 200:1.
const MAX_RATIO: u64 = 200;
const RATIO_FLOOR: u64 = 1 << 20;
/// Tag files (manifests, bag-info, signatures, keys) are small; read at most this much of one.
const MAX_TAG_BYTES: u64 = 64 << 20;

pub(super) struct Entry {
    pub hash: String,
    pub size: u64,
    /// Kept for tag files only.
    pub bytes: Option<Vec<u8>>,
}

/// The bag as read from the zip.
pub(super) struct Bag {
    /// The single top-level folder.
    pub root: String,
    /// Every entry read, by its path inside `root`.
    pub entries: BTreeMap<String, Entry>,
    /// Entries refused unread (a link, a zip bomb, one that would not decompress), by path inside
    /// `root`: present, but not to be trusted — and not "missing".
    pub refused: BTreeSet<String>,
}

/// Every entry of the zip, decompressed in memory and hashed, keyed by its path inside the bag's
/// top-level folder. `None` when the zip cannot be read at all.
pub(super) fn read_entries(
    file: std::fs::File,
    keep_also: &[&str],
    problem: &mut impl FnMut(&str, String),
) -> Option<Bag> {
    let mut zip = match zip::ZipArchive::new(file) {
        Ok(z) => z,
        Err(e) => {
            problem("(zip)", format!("not a readable zip: {e}"));
            return None;
        }
    };
    let mut roots = BTreeSet::new();
    let mut entries = BTreeMap::new();
    let mut refused = BTreeSet::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                problem(&format!("(entry {i})"), format!("cannot be read: {e}"));
                continue;
            }
        };
        let name = entry.name().to_string();
        if let Some(why) = unsafe_name(&name) {
            problem(&name, why.into());
            continue;
        }
        let inside = name
            .split_once('/')
            .map_or(String::new(), |(_, rest)| rest.to_string());
        if entry.is_symlink() {
            problem(&name, "is a symbolic link".into());
            refused.insert(inside);
            continue;
        }
        if entry.is_dir() {
            continue;
        }
        let (declared, packed) = (entry.size(), entry.compressed_size().max(1));
        if declared > RATIO_FLOOR && declared / packed > MAX_RATIO {
            problem(
                &name,
                format!(
                    "compression ratio {}:1 exceeds {MAX_RATIO}:1 (zip bomb?)",
                    declared / packed
                ),
            );
            refused.insert(inside);
            continue;
        }
        total = total.saturating_add(declared);
        if total > MAX_TOTAL_BYTES {
            problem(
                &name,
                format!(
                    "the bundle decompresses to more than {} GiB",
                    MAX_TOTAL_BYTES >> 30
                ),
            );
            return None;
        }
        let (root, rest) = name.split_once('/').unwrap_or((&name, ""));
        roots.insert(root.to_string());
        // Tag files are kept for parsing; the report is kept to check its own signature; a
        // caller may ask for a few payload files more (the exact bytes that were hashed).
        let keep =
            !rest.starts_with(layout::DATA) || rest == layout::REPORT || keep_also.contains(&rest);
        match hash_entry(&mut entry, declared, keep) {
            Ok(e) => {
                entries.insert(rest.to_string(), e);
            }
            Err(m) => {
                problem(&name, m);
                refused.insert(inside);
            }
        }
    }
    if roots.len() != 1 {
        problem(
            "(zip)",
            format!("expected one top-level folder, found {}", roots.len()),
        );
        return None;
    }
    roots.into_iter().next().map(|root| Bag {
        root,
        entries,
        refused,
    })
}

fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Some("has an absolute path");
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Some("has a `..` component that escapes the bundle");
    }
    if name.contains('\0') {
        return Some("has a NUL byte in its name");
    }
    None
}

fn hash_entry(
    entry: &mut impl Read,
    declared: u64,
    keep: bool,
) -> std::result::Result<Entry, String> {
    let broken = |e: std::io::Error| format!("cannot be decompressed: {e}");
    let mut reader = HashingReader::new(entry.take(declared.saturating_add(1)));
    let mut kept = Vec::new();
    if keep {
        (&mut reader)
            .take(MAX_TAG_BYTES)
            .read_to_end(&mut kept)
            .map_err(broken)?;
    }
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(broken)?;
    let (size, hash) = reader.finish();
    if size > declared {
        return Err(format!(
            "decompresses to more than the {declared} bytes it declares"
        ));
    }
    Ok(Entry {
        hash,
        size,
        bytes: keep.then_some(kept),
    })
}

/// The names in the zip's central directory, duplicates included. Zip readers index entries by
/// name and silently keep one of two; an auditor must hear about the other.
pub(super) fn central_directory_names(
    file: &mut std::fs::File,
) -> std::result::Result<Vec<String>, String> {
    let len = file.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let tail_len = len.min(65_557);
    let mut tail = vec![0u8; tail_len as usize];
    file.seek(SeekFrom::Start(len - tail_len))
        .map_err(|e| e.to_string())?;
    file.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or("no end-of-central-directory record: not a zip")?;
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
    let u32_at =
        |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
    let u64_at = |b: &[u8], i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let (mut count, mut size, mut offset) = (
        u16_at(&tail, eocd + 10),
        u32_at(&tail, eocd + 12),
        u32_at(&tail, eocd + 16),
    );
    if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        // zip64: the locator sits just before the classic record.
        let loc = eocd
            .checked_sub(20)
            .filter(|&l| tail[l..l + 4] == [0x50, 0x4b, 0x06, 0x07])
            .ok_or("zip64 locator missing")?;
        let rec_offset = u64_at(&tail, loc + 8);
        let mut rec = [0u8; 56];
        file.seek(SeekFrom::Start(rec_offset))
            .map_err(|e| e.to_string())?;
        file.read_exact(&mut rec).map_err(|e| e.to_string())?;
        if rec[..4] != [0x50, 0x4b, 0x06, 0x06] {
            return Err("zip64 end-of-central-directory record missing".into());
        }
        count = u64_at(&rec, 32);
        size = u64_at(&rec, 40);
        offset = u64_at(&rec, 48);
    }
    if offset.checked_add(size).is_none_or(|end| end > len) || size > 1 << 30 {
        return Err("the central directory lies outside the file".into());
    }
    let mut cd = vec![0u8; size as usize];
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| e.to_string())?;
    file.read_exact(&mut cd).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    let mut i = 0usize;
    while names.len() < count as usize {
        if i + 46 > cd.len() || cd[i..i + 4] != [0x50, 0x4b, 0x01, 0x02] {
            return Err(format!(
                "central directory entry {} is malformed",
                names.len() + 1
            ));
        }
        let (n, e, c) = (
            u16_at(&cd, i + 28) as usize,
            u16_at(&cd, i + 30) as usize,
            u16_at(&cd, i + 32) as usize,
        );
        let name = cd
            .get(i + 46..i + 46 + n)
            .ok_or("central directory entry runs past its end")?;
        names.push(String::from_utf8_lossy(name).into_owned());
        i += 46 + n + e + c;
    }
    Ok(names)
}
