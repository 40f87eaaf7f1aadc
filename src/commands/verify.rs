//! `dossier verify BUNDLE.zip`: the verdict on stdout (text, or `--json`); exit 0 when the bundle
//! verifies, 4 when it does not, with every problem listed (SPEC §1, §7).

use crate::cli::VerifyArgs;
use crate::error::{Error, Exit, Result, contain};
use crate::ui::{Out, Ui};
use crate::verify;

pub fn run(args: VerifyArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    let report = contain(&args.bundle, "reading the bundle", || {
        verify::verify(&args.bundle, args.pubkey.as_deref(), args.tsa_ca.as_deref())
    })?;
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| {
            Error::Internal(format!("cannot serialise the verification report: {e}"))
        })?;
        out.line(&text)?;
    } else {
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
            ))?;
        } else {
            out.line(&format!(
                "FAILED {}: {} problem(s)",
                report.bundle,
                report.problems.len()
            ))?;
        }
    }
    Ok(if report.ok {
        Exit::Success
    } else {
        Exit::VerifyFailed
    })
}
