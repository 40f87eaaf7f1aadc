//! `dossier export --format oscal-ar|oscal-poam|cyclonedx`: one standard document alone, for
//! upload to a GRC platform or a supply-chain tool — the same bytes the bundle carries for the
//! same inputs and build time, since it cites the evidence files by the bag paths and SHA-256
//! a build would give them. On stdout, or written atomically to `-o FILE` (an existing file only
//! with `--force`), whose path is then printed.

use std::io::Write;

use super::{assess, overrides};
use crate::cli::{ExportArgs, ExportFormat};
use crate::error::{Error, Exit, Result};
use crate::standards::{Basis, Standard};
use crate::ui::{Out, Ui};

pub fn run(args: ExportArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    let assessed = assess(
        &args.common.config,
        &overrides(&args.common, args.timestamp),
        ui,
    )?;
    let carried =
        crate::bundle::carried_evidence(&assessed.config, &assessed.evidence, &assessed.doc)?;
    let basis = Basis {
        config: &assessed.config,
        evidence: &assessed.evidence,
        doc: &assessed.doc,
        carried: &carried,
    };
    let which = match args.format {
        ExportFormat::OscalAr => Standard::AssessmentResults,
        ExportFormat::OscalPoam => Standard::Poam,
        ExportFormat::Cyclonedx => Standard::CycloneDx,
    };
    let bytes = crate::standards::document(&basis, which)?;
    match &args.output {
        None => out.write(&String::from_utf8_lossy(&bytes))?,
        Some(path) => {
            crate::bundle::write_atomically(path, args.force, |file| {
                file.write_all(&bytes)
                    .map_err(|e| Error::io("cannot write", path, e))
            })?;
            out.path(path)?;
        }
    }
    Ok(Exit::Success)
}
