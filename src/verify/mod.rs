//! `dossier verify BUNDLE.zip`: a bundle in, a verdict out, trusting nothing inside the bundle but
//! the key (SPEC §7). Nothing is extracted to disk: every entry is decompressed in memory, with
//! caps, and hashed. Checked: the zip's structure (no absolute or `..` paths, no duplicate names —
//! read from the central directory itself, since zip readers silently keep one — no symlinks,
//! bounded sizes and compression ratios), the BagIt structure, every manifest and tag-manifest
//! line, payload files missing from the manifest, `Payload-Oxum`, and both signatures. Every
//! problem is listed with the file it concerns.

pub mod chain;
mod entries;
mod profile;
mod timestamp;

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::sign;
use crate::vocab::layout;
use entries::{Bag, Entry, central_directory_names, read_entries};

#[derive(Debug, Serialize)]
pub struct Report {
    pub bundle: String,
    pub ok: bool,
    pub signed: bool,
    /// Whether the signature was checked against a key given with --pubkey.
    pub key_pinned: bool,
    pub fingerprint: Option<String>,
    /// The TSA's genTime, when the bundle carries a time-stamp token.
    pub time_stamp: Option<String>,
    /// Whether the token was checked against a root given with --tsa-ca.
    pub time_stamp_pinned: bool,
    pub payload_files: usize,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Problem {
    pub file: String,
    pub problem: String,
}

pub fn verify(bundle: &Path, pubkey: Option<&Path>, tsa_ca: Option<&Path>) -> Result<Report> {
    verify_reading(bundle, pubkey, tsa_ca, &[]).map(|(report, _)| report)
}

/// What a caller reads from a bundle while it is verified: the bag's folder name and the bytes
/// of its tag files and the payload files asked for, exactly as they were hashed.
#[derive(Debug, Default)]
pub struct Contents {
    pub root: String,
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

/// `verify`, keeping the bytes of the payload files named in `keep` (paths inside the bag).
pub fn verify_reading(
    bundle: &Path,
    pubkey: Option<&Path>,
    tsa_ca: Option<&Path>,
    keep: &[&str],
) -> Result<(Report, Contents)> {
    let roots = tsa_ca.map(crate::tsa::load_pem_certificates).transpose()?;
    let pinned = pubkey
        .map(|p| {
            let text = crate::fsio::read_small_text(p, "public key")?;
            sign::parse_public_pem(&text).map_err(|m| Error::Sign {
                path: p.to_path_buf(),
                message: m,
            })
        })
        .transpose()?;
    let mut file = crate::fsio::open_regular(bundle, "bundle", None)?.0;
    let mut report = Report {
        bundle: bundle.display().to_string(),
        ok: false,
        signed: false,
        key_pinned: pinned.is_some(),
        fingerprint: None,
        time_stamp: None,
        time_stamp_pinned: false,
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
    let entries = match read_entries(file, keep, &mut problem) {
        Some(e) => e,
        None => {
            report.ok = false;
            return Ok((report, Contents::default()));
        }
    };
    check_bag(&entries, pinned.as_ref(), roots.as_deref(), &mut report);
    report.ok = report.problems.is_empty();
    let contents = Contents {
        root: entries.root.clone(),
        files: entries
            .entries
            .into_iter()
            .filter_map(|(name, e)| Some((name, e.bytes?)))
            .collect(),
    };
    Ok((report, contents))
}

fn check_bag(
    bag: &Bag,
    pinned: Option<&ed25519_dalek::VerifyingKey>,
    roots: Option<&[cms::cert::x509::Certificate]>,
    report: &mut Report,
) {
    let (root, entries) = (&bag.root, &bag.entries);
    // "Changed after signing" is only true of a signed bag.
    let signed = entries.contains_key(layout::TAGMANIFEST_SIG);
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
    match text(layout::BAGIT) {
        Some(t) if t.lines().next().map(str::trim) == Some("BagIt-Version: 1.0") => {}
        Some(_) => problem(layout::BAGIT, "does not declare BagIt-Version: 1.0".into()),
        None => problem(layout::BAGIT, "missing".into()),
    }
    let manifest = text(layout::MANIFEST);
    let listed = match &manifest {
        Some(m) => check_manifest(m, bag, layout::MANIFEST, signed, &mut problem),
        None => {
            problem(layout::MANIFEST, "missing".into());
            BTreeSet::new()
        }
    };
    for (name, _) in entries.iter().filter(|(n, _)| n.starts_with(layout::DATA)) {
        if manifest.is_some() && !listed.contains(name) {
            problem(name, format!("is not listed in {}", layout::MANIFEST));
        }
    }
    let tagmanifest = text(layout::TAGMANIFEST);
    let covered = match &tagmanifest {
        Some(t) => {
            let covered = check_manifest(t, bag, layout::TAGMANIFEST, signed, &mut problem);
            for required in layout::TAG_FILES {
                if !covered.contains(required) {
                    problem(layout::TAGMANIFEST, format!("does not cover {required}"));
                }
            }
            covered
        }
        None => {
            problem(layout::TAGMANIFEST, "missing".into());
            BTreeSet::new()
        }
    };
    let dossier = profile::made_by_dossier(text(layout::BAG_INFO).as_deref());
    profile::check(bag, &listed, &covered, signed, dossier, &mut problem);
    let payload: Vec<&Entry> = entries
        .iter()
        .filter(|(n, _)| n.starts_with(layout::DATA))
        .map(|(_, e)| e)
        .collect();
    report.payload_files = payload.len();
    match text(layout::BAG_INFO).as_deref().and_then(|info| {
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
                    layout::BAG_INFO,
                    format!("Payload-Oxum {oxum} does not match the payload ({actual})"),
                );
            }
        }
        None => problem(layout::BAG_INFO, "missing, or without Payload-Oxum".into()),
    }
    // Signatures.
    let sig = |name: &str| entries.get(name).and_then(|e| e.bytes.clone());
    let tag_sig = sig(layout::TAGMANIFEST_SIG);
    let bundled = text(layout::SIGNER_PUB);
    report.signed = tag_sig.is_some();
    if let (Some(k), Some(pem)) = (pinned, &bundled)
        && sign::parse_public_pem(pem).ok().as_ref() != Some(k)
    {
        problem(
            layout::SIGNER_PUB,
            "is not the key given with --pubkey (or not an Ed25519 key at all)".into(),
        );
    }
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
                problem(layout::SIGNER_PUB, m);
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
            layout::TAGMANIFEST_SIG,
            "missing: the bundle is unsigned".into(),
        ),
        (Some(s), Some(k), Some(t)) if !sign::verify(k, t.as_bytes(), s) => problem(
            layout::TAGMANIFEST_SIG,
            "does not verify against the tag manifest with this key (tampered, or wrong key)"
                .into(),
        ),
        (Some(_), None, _) => problem(layout::SIGNER_PUB, "missing, and no --pubkey given".into()),
        _ => {}
    }
    if let Some(pdf) = entries.get(layout::REPORT).and_then(|e| e.bytes.as_deref()) {
        match (sig(layout::REPORT_SIG), &key) {
            (None, _) if report.signed => problem(
                layout::REPORT_SIG,
                format!("missing for {}", layout::REPORT),
            ),
            (Some(s), Some(k)) if !sign::verify(k, pdf, &s) => problem(
                layout::REPORT_SIG,
                format!("does not verify against {} with this key", layout::REPORT),
            ),
            _ => {}
        }
    }
    let stamp = timestamp::check(bag, tag_sig.as_deref(), roots, &mut problem);
    report.time_stamp = stamp.gen_time;
    report.time_stamp_pinned = stamp.pinned;
    report.warnings.extend(stamp.warnings);
    report.problems.extend(problems);
}

/// Parse `HASH  PATH` lines, check each against the entries, and return the paths listed.
fn check_manifest(
    text: &str,
    bag: &Bag,
    manifest: &str,
    signed: bool,
    problem: &mut impl FnMut(&str, String),
) -> BTreeSet<String> {
    let entries = &bag.entries;
    let mut listed = BTreeSet::new();
    for line in layout::parse_manifest(text) {
        let (hash, path) = match line {
            Ok((_, hash, path)) => (hash, path.to_string()),
            Err(n) => {
                problem(manifest, format!("line {n} is not `HASH PATH`"));
                continue;
            }
        };
        match entries.get(&path) {
            // Refused unread: named where it was refused, and not missing.
            None if bag.refused.contains(&path) => {}
            None => problem(
                &path,
                format!("listed in {manifest} but missing from the bundle"),
            ),
            Some(e) if !e.hash.eq_ignore_ascii_case(hash) => problem(
                &path,
                if signed {
                    format!("SHA-256 does not match {manifest} (changed after signing)")
                } else {
                    format!("SHA-256 does not match {manifest}")
                },
            ),
            Some(_) => {}
        }
        listed.insert(path);
    }
    listed
}
