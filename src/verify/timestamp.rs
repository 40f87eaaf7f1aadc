//! The bundle's RFC 3161 time-stamp, when it has one (`signature/tagmanifest-sha256.txt.sig.tsr`,
//! `signature/tsa-chain.pem`). In: the bag, the tag manifest's signature, the roots of `--tsa-ca`.
//! Out: problems and warnings for the report, and the TSA's genTime. Checked: the token is a
//! TSTInfo over SHA-256 of exactly the signature's bytes; `Bagging-Date` is not later than genTime
//! (a bag cannot have been made after the time it was stamped); with `--tsa-ca`, the TSA's
//! signature and chain to one of those roots — a token from another TSA fails — and a bundle
//! without a token fails too. Without `--tsa-ca` the token is reported as unpinned.

use cms::cert::x509::Certificate;

use super::entries::Bag;
use crate::tsa;
use crate::vocab::layout;

/// What the time-stamp check found.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub gen_time: Option<String>,
    pub pinned: bool,
    pub warnings: Vec<String>,
}

pub(super) fn check(
    bag: &Bag,
    signature: Option<&[u8]>,
    roots: Option<&[Certificate]>,
    problem: &mut impl FnMut(&str, String),
) -> Found {
    let mut found = Found::default();
    let bytes = |name: &str| bag.entries.get(name).and_then(|e| e.bytes.as_deref());
    let Some(token) = bytes(layout::TAGMANIFEST_TSR) else {
        if roots.is_some() {
            problem(
                layout::TAGMANIFEST_TSR,
                "missing: --tsa-ca was given, but the bundle has no time-stamp token".into(),
            );
        }
        return found;
    };
    let (content, info) = match tsa::reply_token(token) {
        Ok(p) => p,
        Err(m) => {
            problem(
                layout::TAGMANIFEST_TSR,
                format!("not an RFC 3161 time-stamp reply: {m}"),
            );
            return found;
        }
    };
    match signature {
        Some(sig) if tsa::stamps(&info, sig) => {}
        Some(_) => problem(
            layout::TAGMANIFEST_TSR,
            format!(
                "does not stamp {} (another signature's token)",
                layout::TAGMANIFEST_SIG
            ),
        ),
        None => problem(
            layout::TAGMANIFEST_TSR,
            format!(
                "stamps a signature the bundle does not have ({} missing)",
                layout::TAGMANIFEST_SIG
            ),
        ),
    }
    let gen_time = tsa::gen_time(&info);
    if let Some(date) = bagging_date(bag)
        && date.as_str() > gen_time.get(..10).unwrap_or_default()
    {
        problem(
            layout::BAG_INFO,
            format!("Bagging-Date {date} is later than the time-stamp's genTime {gen_time}"),
        );
    }
    match roots {
        Some(roots) => {
            let chain = match bytes(layout::TSA_CHAIN).map(Certificate::load_pem_chain) {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    problem(layout::TSA_CHAIN, format!("not PEM certificates: {e}"));
                    Vec::new()
                }
                None => Vec::new(),
            };
            match tsa::signature_and_chain(&content, &chain, roots, info.gen_time) {
                Ok(()) => found.pinned = true,
                Err(m) => problem(
                    layout::TAGMANIFEST_TSR,
                    format!("does not verify against --tsa-ca: {m}"),
                ),
            }
        }
        None => found.warnings.push(format!(
            "the time-stamp (genTime {gen_time}) was not checked against a TSA root: pass --tsa-ca \
             with the TSA's root certificate to pin it"
        )),
    }
    found.gen_time = Some(gen_time);
    found
}

fn bagging_date(bag: &Bag) -> Option<String> {
    let info = bag.entries.get(layout::BAG_INFO)?.bytes.as_deref()?;
    String::from_utf8_lossy(info)
        .lines()
        .find_map(|l| l.strip_prefix("Bagging-Date:"))
        .map(|v| v.trim().to_string())
}
