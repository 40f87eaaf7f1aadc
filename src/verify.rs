//! `dossier verify BUNDLE.zip`: a bundle in, a verdict out, trusting nothing inside the bundle but
//! the key (SPEC §7). Nothing is extracted to disk: every entry is decompressed in memory, with
//! caps, and hashed. Checked: the zip's structure (no absolute or `..` paths, no duplicate names —
//! read from the central directory itself, since zip readers silently keep one — no symlinks,
//! bounded sizes and compression ratios), the BagIt structure, every manifest and tag-manifest
//! line, payload files missing from the manifest, `Payload-Oxum`, and both signatures. Every
//! problem is listed with the file it concerns.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::sign::{self, hex};

/// The most a bundle may decompress to in all.
const MAX_TOTAL_BYTES: u64 = 64 << 30;
/// Above this ratio an entry larger than `RATIO_FLOOR` is taken for a zip bomb. Text compresses
/// about 5–30:1; nothing evidential compresses 200:1.
const MAX_RATIO: u64 = 200;
const RATIO_FLOOR: u64 = 1 << 20;
/// Tag files (manifests, bag-info, signatures, keys) are small; read at most this much of one.
const MAX_TAG_BYTES: u64 = 64 << 20;

#[derive(Debug, Serialize)]
pub struct Report {
    pub bundle: String,
    pub ok: bool,
    pub signed: bool,
    /// Whether the signature was checked against a key given with --pubkey.
    pub key_pinned: bool,
    pub fingerprint: Option<String>,
    pub payload_files: usize,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Problem {
    pub file: String,
    pub problem: String,
}

struct Entry {
    hash: String,
    size: u64,
    /// Kept for tag files only.
    bytes: Option<Vec<u8>>,
}

pub fn verify(bundle: &Path, pubkey: Option<&Path>) -> Result<Report> {
    let pinned = pubkey
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Error::io("cannot read public key", p, e))?;
            sign::parse_public_pem(&text).map_err(|m| Error::Sign {
                path: p.to_path_buf(),
                message: m,
            })
        })
        .transpose()?;
    let mut file =
        std::fs::File::open(bundle).map_err(|e| Error::io("cannot read bundle", bundle, e))?;
    let mut report = Report {
        bundle: bundle.display().to_string(),
        ok: false,
        signed: false,
        key_pinned: pinned.is_some(),
        fingerprint: None,
        payload_files: 0,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let mut problem = |file: &str, text: String| {
        report.problems.push(Problem {
            file: file.to_string(),
            problem: text,
        })
    };
    match central_directory_names(&mut file) {
        Ok(names) => {
            let mut seen = BTreeSet::new();
            for n in &names {
                if !seen.insert(n) {
                    problem(n, "appears more than once in the zip".into());
                }
            }
        }
        Err(m) => problem("(zip)", m),
    }
    let entries = match read_entries(file, &mut problem) {
        Some(e) => e,
        None => {
            report.ok = false;
            return Ok(report);
        }
    };
    check_bag(&entries, pinned.as_ref(), &mut report);
    report.ok = report.problems.is_empty();
    Ok(report)
}

/// Every entry of the zip, decompressed in memory and hashed, keyed by its path inside the bag's
/// top-level folder. `None` when the zip cannot be read at all.
fn read_entries(
    file: std::fs::File,
    problem: &mut impl FnMut(&str, String),
) -> Option<(String, BTreeMap<String, Entry>)> {
    let mut zip = match zip::ZipArchive::new(file) {
        Ok(z) => z,
        Err(e) => {
            problem("(zip)", format!("not a readable zip: {e}"));
            return None;
        }
    };
    let mut roots = BTreeSet::new();
    let mut entries = BTreeMap::new();
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
        if entry.is_symlink() {
            problem(&name, "is a symbolic link".into());
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
        // Tag files are kept for parsing; the report is kept to check its own signature.
        let keep = !rest.starts_with("data/") || rest == "data/report/report.pdf";
        match hash_entry(&mut entry, declared, keep) {
            Ok(e) => {
                entries.insert(rest.to_string(), e);
            }
            Err(m) => problem(&name, m),
        }
    }
    if roots.len() != 1 {
        problem(
            "(zip)",
            format!("expected one top-level folder, found {}", roots.len()),
        );
        return None;
    }
    roots.into_iter().next().map(|r| (r, entries))
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
    let mut limited = entry.take(declared.saturating_add(1));
    let mut hasher = Sha256::new();
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = limited
            .read(&mut buf)
            .map_err(|e| format!("cannot be decompressed: {e}"))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
        if keep && size <= MAX_TAG_BYTES {
            kept.extend_from_slice(&buf[..n]);
        }
    }
    if size > declared {
        return Err(format!(
            "decompresses to more than the {declared} bytes it declares"
        ));
    }
    Ok(Entry {
        hash: hex(&hasher.finalize()),
        size,
        bytes: keep.then_some(kept),
    })
}

fn check_bag(
    read: &(String, BTreeMap<String, Entry>),
    pinned: Option<&ed25519_dalek::VerifyingKey>,
    report: &mut Report,
) {
    let (root, entries) = read;
    let mut problems: Vec<Problem> = Vec::new();
    let mut problem = |file: &str, text: String| {
        problems.push(Problem {
            file: format!("{root}/{file}"),
            problem: text,
        })
    };
    let text = |name: &str| {
        entries
            .get(name)
            .and_then(|e| e.bytes.as_deref())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    match text("bagit.txt") {
        Some(t) if t.lines().next().map(str::trim) == Some("BagIt-Version: 1.0") => {}
        Some(_) => problem("bagit.txt", "does not declare BagIt-Version: 1.0".into()),
        None => problem("bagit.txt", "missing".into()),
    }
    let manifest = text("manifest-sha256.txt");
    let listed = match &manifest {
        Some(m) => check_manifest(m, entries, "manifest-sha256.txt", &mut problem),
        None => {
            problem("manifest-sha256.txt", "missing".into());
            BTreeSet::new()
        }
    };
    for (name, _) in entries.iter().filter(|(n, _)| n.starts_with("data/")) {
        if manifest.is_some() && !listed.contains(name) {
            problem(name, "is not listed in manifest-sha256.txt".into());
        }
    }
    let tagmanifest = text("tagmanifest-sha256.txt");
    match &tagmanifest {
        Some(t) => {
            let covered = check_manifest(t, entries, "tagmanifest-sha256.txt", &mut problem);
            for required in ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"] {
                if !covered.contains(required) {
                    problem(
                        "tagmanifest-sha256.txt",
                        format!("does not cover {required}"),
                    );
                }
            }
        }
        None => problem("tagmanifest-sha256.txt", "missing".into()),
    }
    let payload: Vec<&Entry> = entries
        .iter()
        .filter(|(n, _)| n.starts_with("data/"))
        .map(|(_, e)| e)
        .collect();
    report.payload_files = payload.len();
    match text("bag-info.txt").as_deref().and_then(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("Payload-Oxum:"))
            .map(|v| v.trim().to_string())
    }) {
        Some(oxum) => {
            let actual = format!(
                "{}.{}",
                payload.iter().map(|e| e.size).sum::<u64>(),
                payload.len()
            );
            if oxum != actual {
                problem(
                    "bag-info.txt",
                    format!("Payload-Oxum {oxum} does not match the payload ({actual})"),
                );
            }
        }
        None => problem("bag-info.txt", "missing, or without Payload-Oxum".into()),
    }
    // Signatures.
    let sig = |name: &str| entries.get(name).and_then(|e| e.bytes.clone());
    let tag_sig = sig("signature/tagmanifest-sha256.txt.sig");
    let bundled = text("signature/signer.pub.pem");
    report.signed = tag_sig.is_some();
    let key = match (pinned, &bundled) {
        (Some(k), _) => Some(*k),
        (None, Some(pem)) => match sign::parse_public_pem(pem) {
            Ok(k) => {
                report.warnings.push(
                    "the signer's key was taken from the bundle itself: this proves integrity, not who \
                     signed; pass --pubkey with the key you expect to pin it"
                        .into(),
                );
                Some(k)
            }
            Err(m) => {
                problem("signature/signer.pub.pem", m);
                None
            }
        },
        (None, None) => None,
    };
    if let Some(k) = &key {
        report.fingerprint = sign::fingerprint(k).ok();
    }
    match (&tag_sig, &key, &tagmanifest) {
        (None, _, _) => problem(
            "signature/tagmanifest-sha256.txt.sig",
            "missing: the bundle is unsigned".into(),
        ),
        (Some(s), Some(k), Some(t)) if !sign::verify(k, t.as_bytes(), s) => problem(
            "signature/tagmanifest-sha256.txt.sig",
            "does not verify against the tag manifest with this key (tampered, or wrong key)"
                .into(),
        ),
        (Some(_), None, _) => problem(
            "signature/signer.pub.pem",
            "missing, and no --pubkey given".into(),
        ),
        _ => {}
    }
    if let Some(pdf) = entries
        .get("data/report/report.pdf")
        .and_then(|e| e.bytes.as_deref())
    {
        match (sig("signature/report.pdf.sig"), &key) {
            (None, _) if report.signed => problem(
                "signature/report.pdf.sig",
                "missing for data/report/report.pdf".into(),
            ),
            (Some(s), Some(k)) if !sign::verify(k, pdf, &s) => problem(
                "signature/report.pdf.sig",
                "does not verify against data/report/report.pdf with this key".into(),
            ),
            _ => {}
        }
    }
    report.problems.extend(problems);
}

/// Parse `HASH  PATH` lines, check each against the entries, and return the paths listed.
fn check_manifest(
    text: &str,
    entries: &BTreeMap<String, Entry>,
    manifest: &str,
    problem: &mut impl FnMut(&str, String),
) -> BTreeSet<String> {
    let mut listed = BTreeSet::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let Some((hash, path)) = line.split_once(char::is_whitespace) else {
            problem(manifest, format!("line {} is not `HASH PATH`", i + 1));
            continue;
        };
        let path = path.trim_start().to_string();
        match entries.get(&path) {
            None => problem(
                &path,
                format!("listed in {manifest} but missing from the bundle"),
            ),
            Some(e) if !e.hash.eq_ignore_ascii_case(hash) => problem(
                &path,
                format!("SHA-256 does not match {manifest} (changed after signing)"),
            ),
            Some(_) => {}
        }
        listed.insert(path);
    }
    listed
}

/// The names in the zip's central directory, duplicates included. Zip readers index entries by
/// name and silently keep one of two; an auditor must hear about the other.
fn central_directory_names(file: &mut std::fs::File) -> std::result::Result<Vec<String>, String> {
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
