//! `dossier kpis`: the KPI document on stdout as a table, JSON or CSV; with `--check`, exit 3 when
//! a portfolio KPI misses its target, naming each on stderr (silenced by `--quiet`).

use super::{assess, overrides};
use crate::cli::{KpisArgs, OutputFormat};
use crate::error::{Exit, Result};
use crate::kpi::Document;
use crate::output;
use crate::ui::{Out, Ui};

pub fn run(args: KpisArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    let assessed = assess(&args.common.config, &overrides(&args.common, None), ui)?;
    let doc = &assessed.doc;
    let text = match args.format {
        OutputFormat::Table => output::table(doc),
        OutputFormat::Json => output::json(doc)?,
        OutputFormat::Csv => output::csv(doc)?,
    };
    out.write(&text)?;
    if args.check {
        return Ok(check_targets(doc, ui));
    }
    Ok(Exit::Success)
}

/// `--check`: a portfolio KPI that misses its target is named, and the run exits 3. A KPI with no
/// value (n/a) cannot miss; it is named too, so nobody mistakes it for a pass.
fn check_targets(doc: &Document, ui: &Ui) -> Exit {
    let mut missed = 0;
    for (kpi, k) in &doc.portfolio.0 {
        match (k.met, k.value, k.target) {
            (Some(false), Some(_), Some(t)) => {
                missed += 1;
                ui.missed(&format!(
                    "{kpi} = {} misses its target {}",
                    output::kpi_figure(*kpi, k.value, k),
                    output::kpi_target(*kpi, t)
                ));
            }
            (None, None, Some(t)) => ui.warn(&format!(
                "{kpi} is n/a (empty denominator); target {} not checked",
                output::kpi_target(*kpi, t)
            )),
            _ => {}
        }
    }
    if missed > 0 {
        Exit::TargetMissed
    } else {
        Exit::Success
    }
}
