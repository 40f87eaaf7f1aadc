//! One file a command (typst-cli style): each turns its clap arguments into a resolved `Config`
//! and runs the stages it needs, in data-flow order. `assess` is the step `kpis`, `build` and
//! `answer` share — load the config, ingest, compute the KPI document, print its warnings.
//! In: the parsed command line. Out: results on stdout (`Out`), everything else on stderr (`Ui`),
//! and the run's `Exit`. Stages never see a clap type.

mod answer;
mod build;
mod export;
mod init;
mod keygen;
mod kpis;
mod verify;

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::cli::{Command, CommonArgs};
use crate::config::{self, Config, Overrides};
use crate::error::{Exit, Result};
use crate::ingest::{self, Evidence};
use crate::kpi::{self, Document};
use crate::ui::{Out, Ui};

pub fn run(command: Command, ui: &Ui, out: &mut Out) -> Result<Exit> {
    match command {
        Command::Kpis(args) => kpis::run(args, ui, out),
        Command::Build(args) => build::run(args, ui, out),
        Command::Verify(args) => verify::run(args, ui, out),
        Command::Keygen(args) => keygen::run(args, ui, out),
        Command::Init(args) => init::run(args, ui, out),
        Command::Answer(args) => answer::run(args, ui, out),
        Command::Export(args) => export::run(args, ui, out),
    }
}

/// The config, the evidence read from it and the KPI document computed from both.
struct Assessed {
    config: Config,
    evidence: Evidence,
    doc: Document,
}

/// Load the config, ingest every source, compute the document and print its warnings.
fn assess(config_path: &Path, overrides: &Overrides, ui: &Ui) -> Result<Assessed> {
    assess_loaded(config::load(config_path, overrides)?, ui)
}

/// Ingest every source of a loaded config, compute the document and print its warnings.
fn assess_loaded(config: Config, ui: &Ui) -> Result<Assessed> {
    let evidence = ingest::ingest(&config)?;
    let doc = kpi::build(&config, &evidence)?;
    for w in &doc.warnings {
        ui.warn(w);
    }
    Ok(Assessed {
        config,
        evidence,
        doc,
    })
}

/// The overrides of the flags `kpis` and `build` share; `--timestamp` wins over
/// `SOURCE_DATE_EPOCH` (SPEC §1).
fn overrides(common: &CommonArgs, timestamp: Option<DateTime<Utc>>) -> Overrides {
    Overrides {
        period: common.period,
        as_of: common.as_of,
        systems: common.systems.clone(),
        request_id: common.request_id.clone(),
        baseline: common.baseline.clone(),
        strict: common.strict,
        build_time: timestamp.or(common.epoch.source_date_epoch),
        ..Default::default()
    }
}
