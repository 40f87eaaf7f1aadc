//! `dossier verify --chain Q1.zip Q2.zip Q3.zip`: the links of a ledger of bundles (issue 23).
//! In: the bundles, oldest first. Out: every broken link, named — a bundle that records no
//! previous bundle, one whose predecessor was replaced (the recorded SHA-256 is not the file's),
//! one given out of order (it links to a bundle elsewhere in the list) and a missing bundle (it
//! links to one not in the list). Each bundle is verified on its own by `verify::verify`; this
//! checks only what joins them.

use std::path::PathBuf;

use serde::Serialize;

use crate::ingest::previous::{self, Bundle};

#[derive(Debug, Serialize, PartialEq)]
pub struct LinkProblem {
    pub bundle: String,
    pub problem: String,
}

/// Every broken link between consecutive bundles of `paths` (oldest first).
pub fn check(paths: &[PathBuf]) -> Vec<LinkProblem> {
    let mut problems = Vec::new();
    let read: Vec<Option<Bundle>> = paths
        .iter()
        .map(|p| match previous::read(p) {
            Ok(b) => Some(b),
            Err(e) => {
                problems.push(LinkProblem {
                    bundle: p.display().to_string(),
                    problem: format!("cannot be read as a bundle: {e}"),
                });
                None
            }
        })
        .collect();
    for i in 1..read.len() {
        let (Some(Some(before)), Some(Some(this))) = (read.get(i - 1), read.get(i)) else {
            continue;
        };
        let name = |j: usize| {
            paths
                .get(j)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        if let Some(problem) = judge(this, before, (&read, i), &name) {
            problems.push(LinkProblem {
                bundle: name(i),
                problem,
            });
        }
    }
    problems
}

/// What is wrong with the link from `this` (position `i`) to `before`, if anything.
fn judge(
    this: &Bundle,
    before: &Bundle,
    (all, i): (&[Option<Bundle>], usize),
    name: &dyn Fn(usize) -> String,
) -> Option<String> {
    let Some(link) = &this.previous else {
        return Some(format!(
            "records no previous bundle, so nothing links it to {} before it: the chain is \
             broken here",
            before.link.id
        ));
    };
    if link.sha256 == before.link.sha256
        && link.tagmanifest_sha256 == before.link.tagmanifest_sha256
    {
        return (link.id != before.link.id).then(|| {
            format!(
                "links to the right file under another id ({} recorded, {} found)",
                link.id, before.link.id
            )
        });
    }
    if link.id == before.link.id {
        return Some(format!(
            "links to {} with SHA-256 {}, but {} has SHA-256 {}: the previous bundle was \
             replaced or altered after this one was built",
            link.id,
            link.sha256,
            name(i - 1),
            before.link.sha256
        ));
    }
    let elsewhere = all
        .iter()
        .enumerate()
        .find(|(_, b)| b.as_ref().is_some_and(|b| b.link.sha256 == link.sha256));
    Some(match elsewhere {
        Some((j, _)) => format!(
            "links to {} ({}, position {} of the chain), not to {} before it: the chain is out \
             of order",
            link.id,
            name(j),
            j + 1,
            before.link.id
        ),
        None => format!(
            "links to {} (SHA-256 {}), which is not in the chain: a bundle is missing between \
             {} and this one",
            link.id, link.sha256, before.link.id
        ),
    })
}
