//! The dossier profile of a bag (SPEC §6–7): what a bundle dossier wrote must hold, and the only
//! files it may hold. In: the bag as read, the paths the two manifests list, whether it is signed.
//! Out: problems naming each file. Guarantees: a dossier bundle (its bag-info names dossier as the
//! agent) lacking a file of SPEC §6 is named; every file in the zip is covered by the manifest, the
//! tag manifest, or is one of the known signature files — anything else (`README-auditor.txt` at
//! the root, `signature/note.txt`) is named as "not covered by any signature"; `fetch.txt` is
//! refused, since a dossier bundle is complete.

use std::collections::BTreeSet;

use super::entries::Bag;
use crate::vocab::layout;

/// The payload every dossier bundle holds.
const REQUIRED_PAYLOAD: [&str; 9] = [
    layout::KPIS_JSON,
    layout::MODELS_CSV,
    layout::PORTFOLIO_CSV,
    layout::SCORES_CSV,
    layout::REMEDIATION_CSV,
    layout::EXCEPTIONS_CSV,
    layout::BASELINE_JSON,
    layout::SOURCES,
    layout::REPORT,
];

/// The signature files of a signed bundle: none of them is in a manifest (they sign the manifests).
const SIGNATURE_FILES: [&str; 3] = [
    layout::SIGNER_PUB,
    layout::TAGMANIFEST_SIG,
    layout::REPORT_SIG,
];

/// A time-stamped bundle's two more: the token and the TSA's certificates (never required).
const TIME_STAMP_FILES: [&str; 2] = [layout::TAGMANIFEST_TSR, layout::TSA_CHAIN];

/// Whether bag-info names dossier as the software that made the bag.
pub(super) fn made_by_dossier(bag_info: Option<&str>) -> bool {
    bag_info.is_some_and(|info| {
        info.lines().any(|l| {
            l.strip_prefix("Bag-Software-Agent:")
                .is_some_and(|v| v.trim().starts_with("dossier"))
        })
    })
}

pub(super) fn check(
    bag: &Bag,
    listed: &BTreeSet<String>,
    covered: &BTreeSet<String>,
    signed: bool,
    dossier: bool,
    problem: &mut impl FnMut(&str, String),
) {
    let present = |p: &str| bag.entries.contains_key(p) || bag.refused.contains(p);
    if dossier {
        let signature: &[&str] = if signed { &SIGNATURE_FILES } else { &[] };
        for required in REQUIRED_PAYLOAD.iter().chain(signature) {
            if !present(required) {
                problem(
                    required,
                    "missing: every dossier bundle holds it (SPEC §6)".into(),
                );
            }
        }
    }
    for name in bag.entries.keys() {
        if name == "fetch.txt" {
            problem(
                name,
                "is refused: a dossier bundle is complete and fetches nothing".into(),
            );
            continue;
        }
        let known = listed.contains(name)
            || covered.contains(name)
            || name == layout::TAGMANIFEST
            || SIGNATURE_FILES.contains(&name.as_str())
            || TIME_STAMP_FILES.contains(&name.as_str());
        // Payload files outside the manifest are named by the manifest check already.
        if !known && !name.starts_with(layout::DATA) {
            problem(name, "is not covered by any signature".into());
        }
    }
}
