//! dossier: offline AI/ML audit evidence. The binary calls `run()`, which parses the command line,
//! resolves a `Config`, runs the stages in the order data flows (config → ingest → kpi → report →
//! bundle → sign → verify), prints results on stdout, and prints any error once, on stderr, with
//! its exit code decided by `Error::exit_code` (SPEC §1).

// Errors are built once per run and carry the file, line and hint the user needs; their size is
// irrelevant next to the I/O that produced them.
#![allow(clippy::result_large_err)]

pub mod answer;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod error;
pub mod ingest;
pub mod init;
pub mod kpi;
pub mod output;
pub mod report;
pub mod sign;
pub mod verify;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use cli::{
    AnswerArgs, BuildArgs, Cli, ColorChoice, Command, CommonArgs, KpisArgs, OutputFormat,
    VerifyArgs,
};
use config::{Config, Overrides};
use error::{Error, Result};

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout and usage errors on stderr, with exit 0 or 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let ui = Ui {
        quiet: cli.quiet,
        color: use_color(cli.color),
    };
    match dispatch(cli.command, &ui) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            ui.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

fn dispatch(command: Command, ui: &Ui) -> Result<u8> {
    match command {
        Command::Kpis(args) => kpis(args, ui),
        Command::Build(args) => build(args, ui),
        Command::Verify(args) => verify_bundle(args, ui),
        Command::Keygen(args) => {
            let (key, public, fingerprint) = sign::keygen(&args.output)?;
            println!("{}", key.display());
            println!("{}", public.display());
            ui.status(&format!(
                "fingerprint sha256:{fingerprint}; keep {} secret",
                key.display()
            ));
            Ok(0)
        }
        Command::Init(args) => {
            for path in init::scaffold(&args.dir)? {
                println!("{}", path.display());
            }
            ui.status(&format!(
                "next: edit {} and run `dossier kpis -c {}`",
                args.dir.join("dossier.yaml").display(),
                args.dir.join("dossier.yaml").display()
            ));
            Ok(0)
        }
        Command::Answer(args) => answer(args, ui),
    }
}

fn kpis(args: KpisArgs, ui: &Ui) -> Result<u8> {
    let config = load_config(&args.common)?;
    let evidence = ingest::ingest(&config)?;
    let doc = kpi::build(&config, &evidence)?;
    for w in &doc.warnings {
        ui.warn(w);
    }
    let text = match args.format {
        OutputFormat::Table => output::table(&doc),
        OutputFormat::Json => output::json(&doc)?,
        OutputFormat::Csv => output::csv(&doc)?,
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`dossier kpis | head`) is not an error worth a message.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush());
    if args.check {
        return Ok(check_targets(&doc, ui));
    }
    Ok(0)
}

/// `--check`: exit 3 when a portfolio KPI misses its target, naming each on stderr. A KPI with no
/// value (n/a) cannot miss; it is named too, so nobody mistakes it for a pass.
fn check_targets(doc: &kpi::Document, ui: &Ui) -> u8 {
    let mut missed = 0;
    for (name, k) in &doc.portfolio.0 {
        match (k.met, k.value, k.target) {
            (Some(false), Some(v), Some(t)) => {
                missed += 1;
                eprintln!(
                    "{} {name} = {v} misses its target {t}",
                    ui.paint("missed:", "31")
                );
            }
            (None, None, Some(t)) => ui.warn(&format!(
                "{name} is n/a (empty denominator); target {t} not checked"
            )),
            _ => {}
        }
    }
    if missed > 0 { 3 } else { 0 }
}

fn build(args: BuildArgs, ui: &Ui) -> Result<u8> {
    let config = load_config_at(&args.common, args.timestamp.clone())?;
    let evidence = ingest::ingest(&config)?;
    let doc = kpi::build(&config, &evidence)?;
    for w in &doc.warnings {
        ui.warn(w);
    }
    let key_path = args.key.clone().or_else(|| config.signing_key.clone());
    let key = key_path.as_deref().map(sign::Key::load).transpose()?;
    let request = bundle::Request {
        config: &config,
        evidence: &evidence,
        doc: &doc,
        key: key.as_ref(),
        out_dir: &args.output,
        force: args.force,
        build_time: config.build_time,
    };
    let prepared = bundle::prepare(&request)?;
    let pdf = report::render(
        prepared.kpis_json(),
        &prepared.facts_json()?,
        &config.template,
        config.build_time,
    )?;
    let built = prepared.finish(Some(&pdf))?;
    println!("{}", built.zip.display());
    if let Some(pdf) = &built.pdf {
        println!("{}", pdf.display());
    }
    match &built.fingerprint {
        Some(fp) => ui.status(&format!(
            "{}: {} payload files, {} bytes, signed by sha256:{fp}",
            built.name, built.payload_files, built.payload_bytes
        )),
        None => ui.warn(&format!(
            "{} is UNSIGNED: no signing key (--key, DOSSIER_SIGNING_KEY or signing.key); \
             nobody can tell it from a forgery",
            built.zip.display()
        )),
    }
    Ok(0)
}

/// SPEC §1: exit 0 when the bundle verifies, 4 when it does not; every problem is listed.
fn verify_bundle(args: VerifyArgs, ui: &Ui) -> Result<u8> {
    let report = verify::verify(&args.bundle, args.pubkey.as_deref())?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Usage(format!("cannot serialise the verification report: {e}")))?;
        println!("{text}");
    } else {
        for w in &report.warnings {
            ui.warn(w);
        }
        for p in &report.problems {
            println!("FAIL {}: {}", p.file, p.problem);
        }
        if report.ok {
            println!(
                "OK {}: {} payload files verified, signed by sha256:{}",
                report.bundle,
                report.payload_files,
                report.fingerprint.as_deref().unwrap_or("?")
            );
        } else {
            println!(
                "FAILED {}: {} problem(s)",
                report.bundle,
                report.problems.len()
            );
        }
    }
    Ok(if report.ok { 0 } else { 4 })
}

fn answer(args: AnswerArgs, ui: &Ui) -> Result<u8> {
    let overrides = Overrides {
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
        ..Overrides::default()
    };
    let config = config::load(&args.config, &overrides)?;
    let evidence = ingest::ingest(&config)?;
    let doc = kpi::build(&config, &evidence)?;
    for w in &doc.warnings {
        ui.warn(w);
    }
    let library = args
        .library
        .clone()
        .unwrap_or_else(|| config.base_dir.join("answers.yaml"));
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| answer::default_output(&args.questionnaire));
    let outcome = answer::run(
        &answer::Job {
            questionnaire: &args.questionnaire,
            library: &library,
            output: &output,
            id_column: &args.id_column,
            question_column: &args.question_column,
            force: args.force,
        },
        &doc,
    )?;
    for (id, question) in &outcome.unanswered {
        ui.warn(&format!("unanswered: {id} {question}"));
    }
    println!("{}", output.display());
    ui.status(&format!(
        "{} answered, {} unanswered",
        outcome.answered,
        outcome.unanswered.len()
    ));
    Ok(0)
}

fn load_config(common: &CommonArgs) -> Result<Config> {
    load_config_at(common, None)
}

fn load_config_at(common: &CommonArgs, timestamp: Option<String>) -> Result<Config> {
    let overrides = Overrides {
        period: common.period.clone(),
        as_of: common.as_of.clone(),
        systems: common.systems.clone(),
        request_id: common.request_id.clone(),
        baseline: common.baseline.clone(),
        strict: common.strict,
        timestamp,
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
    };
    config::load(&common.config, &overrides)
}

/// Where status, warnings and errors go: stderr only, so stdout carries results alone.
struct Ui {
    quiet: bool,
    color: bool,
}

impl Ui {
    fn status(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("{} {message}", self.paint("warning:", "33"));
        }
    }

    fn error(&self, err: &Error) {
        eprintln!("{} {err}", self.paint("error:", "31"));
        if let Some(hint) = err.hint() {
            eprintln!("  {} {hint}", self.paint("hint:", "36"));
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
        }
    }
}
