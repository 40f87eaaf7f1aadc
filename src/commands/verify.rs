//! `dossier verify BUNDLE.zip`: the verdict on stdout (text, or `--json`); exit 0 when the bundle
//! verifies, 4 when it does not, with every problem listed (SPEC §1, §7). With `--chain`, each
//! bundle of a ledger is verified and so is every link between them (issue 23).

use std::path::PathBuf;

use crate::cli::VerifyArgs;
use crate::error::{Error, Exit, Result, contain};
use crate::ui::{Out, Ui};
use crate::verify::{self, Report, chain::LinkProblem};

pub fn run(args: VerifyArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    if args.bundles.len() > 1 && !args.chain {
        return Err(Error::Usage(
            "several bundles given: verify them as a ledger with --chain (oldest first), or one \
             at a time"
                .into(),
        ));
    }
    let mut reports = Vec::new();
    for bundle in &args.bundles {
        reports.push(contain(bundle, "reading the bundle", || {
            verify::verify(bundle, args.pubkey.as_deref(), args.tsa_ca.as_deref())
        })?);
    }
    let links: Vec<LinkProblem> = if args.chain {
        verify::chain::check(&args.bundles)
    } else {
        Vec::new()
    };
    if args.json {
        print_json(&reports, &links, args.chain, out)?;
    } else {
        for report in &reports {
            print_report(report, ui, out)?;
        }
        if args.chain {
            print_links(&args.bundles, &links, out)?;
        }
    }
    let ok = reports.iter().all(|r| r.ok) && links.is_empty();
    Ok(if ok {
        Exit::Success
    } else {
        Exit::VerifyFailed
    })
}

fn print_json(reports: &[Report], links: &[LinkProblem], chain: bool, out: &mut Out) -> Result<()> {
    let value = match (chain, reports) {
        (false, [one]) => serde_json::to_value(one),
        _ => serde_json::to_value(serde_json::json!({
            "ok": reports.iter().all(|r| r.ok) && links.is_empty(),
            "bundles": reports,
            "links": links,
        })),
    };
    let text = value
        .and_then(|v| serde_json::to_string_pretty(&v))
        .map_err(|e| Error::Internal(format!("cannot serialise the verification report: {e}")))?;
    out.line(&text)
}

fn print_report(report: &Report, ui: &Ui, out: &mut Out) -> Result<()> {
    for w in &report.warnings {
        ui.warn(w);
    }
    if let Some(t) = &report.time_stamp {
        ui.status(&format!(
            "time-stamped at {t} (TSA genTime){}",
            if report.time_stamp_pinned {
                ", checked against --tsa-ca"
            } else {
                ", unpinned"
            }
        ));
    }
    for p in &report.problems {
        out.line(&format!("FAIL {}: {}", p.file, p.problem))?;
    }
    if report.ok {
        out.line(&format!(
            "OK {}: {} payload files verified, signed by sha256:{}",
            report.bundle,
            report.payload_files,
            report.fingerprint.as_deref().unwrap_or("?")
        ))
    } else {
        out.line(&format!(
            "FAILED {}: {} problem(s)",
            report.bundle,
            report.problems.len()
        ))
    }
}

fn print_links(bundles: &[PathBuf], links: &[LinkProblem], out: &mut Out) -> Result<()> {
    for p in links {
        out.line(&format!("FAIL link {}: {}", p.bundle, p.problem))?;
    }
    if links.is_empty() {
        out.line(&format!(
            "OK chain: {} bundles, {} link(s) hold",
            bundles.len(),
            bundles.len().saturating_sub(1)
        ))
    } else {
        out.line(&format!("FAILED chain: {} broken link(s)", links.len()))
    }
}
