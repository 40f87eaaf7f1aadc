//! dossier: offline AI/ML audit evidence. The binary calls `run()`, which parses the command line
//! (`cli`), hands it to its command (`commands/`), which runs the stages in the order data flows —
//! `config` → `ingest` → `kpi` → `report` → `bundle` → `sign` → `verify` — and prints any error
//! once, on stderr, exiting with the status `error::Exit` decides (SPEC §1). `vocab` (the domain's
//! names), `fsio` (the one way an input is opened), `digest`, `error` and `ui` are shared by
//! every stage.

// Errors are built once per run and carry the file, line and hint the user needs; their size is
// irrelevant next to the I/O that produced them.
#![allow(clippy::result_large_err)]

pub mod answer;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod config;
pub mod digest;
pub mod error;
pub mod fsio;
pub mod ingest;
pub mod init;
pub mod kpi;
pub mod ordered;
pub mod output;
pub mod progress;
pub mod report;
pub mod sign;
pub mod standards;
pub mod tsa;
pub mod ui;
pub mod verify;
pub mod vocab;
pub mod watchdog;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, ColorChoice};
use error::Error;
use ui::{Color, Out, Ui};

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout and usage errors on stderr, with exit 0 or 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let color = match cli.color {
        ColorChoice::Auto => Color::Auto,
        ColorChoice::Always => Color::Always,
        ColorChoice::Never => Color::Never,
    };
    let ui = Ui::new(cli.quiet, color);
    // Progress only for a person watching: a terminal on stderr, and not --quiet.
    progress::enable(!cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let mut out = Out::default();
    error::record_panics();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        commands::run(cli.command, &ui, &mut out)
    }))
    .unwrap_or_else(|_| {
        Err(Error::Internal(format!(
            "dossier stopped unexpectedly: {}",
            error::last_panic()
        )))
    });
    match outcome {
        Ok(exit) => exit.into(),
        Err(err) => {
            if !matches!(err, Error::StdoutClosed) {
                ui.error(&err);
            }
            err.exit().into()
        }
    }
}
