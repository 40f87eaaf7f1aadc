//! The command line of SPEC §1 as clap types, and nothing else. Dates, periods, the build
//! timestamp and `SOURCE_DATE_EPOCH` are parsed by clap (with `config`'s parsers), so a malformed
//! value is clap's usage error. `commands/` turns these into a resolved `Config`; no stage ever
//! sees a clap type.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Period, parse_date, parse_epoch, parse_period, parse_timestamp};

#[derive(Debug, Parser)]
#[command(
    name = "dossier",
    version,
    about = "Signed AI/ML audit evidence from MLflow exports, inference logs and scored audits",
    long_about = "dossier reads MLflow exports, inference-log extracts and scored control audits, \
computes coverage KPIs, typesets a signed PDF audit report and writes a verifiable evidence bundle.\n\n\
Exit codes: 0 success, 1 failed, 2 usage error, 3 a KPI missed its target (--check), \
4 verification failed.",
    after_help = GETTING_STARTED
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print nothing on stderr but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// When to colour stderr (NO_COLOR is honoured)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// The workflow, shown under `dossier --help`.
const GETTING_STARTED: &str = "\
Getting started:
  1. dossier init my-audit/                 a commented dossier.yaml, example audits, a register
  2. edit my-audit/dossier.yaml             point sources.mlflow at your mlflow.db or mlruns/
  3. dossier kpis -c my-audit/dossier.yaml  check the numbers (--format json|csv; --check)
  4. dossier keygen -o my-audit/keys/       an Ed25519 signing key pair (signing.key in the
                                            scaffold names it; keep the .key file private)
  5. dossier build -c my-audit/dossier.yaml --key my-audit/keys/dossier-signing.key
                                            the signed report and evidence bundle in dist/
  6. dossier verify dist/<name>.zip --pubkey my-audit/keys/dossier-signing.pub

Every dossier.yaml key: dossier init --reference

Each command's --help has examples.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest, compute KPIs, typeset the report, write and sign the evidence bundle
    #[command(after_help = "Examples:
  dossier build -c dossier.yaml --key keys/dossier-signing.key
  dossier build -c dossier.yaml --key keys/dossier-signing.key --baseline dist/<last quarter>.zip
  dossier build -c dossier.yaml --key keys/dossier-signing.key --system credit-risk-scorer \\
    --period 2026-08-01..2026-08-31 --request-id REQ-2026-0042
  dossier build -c dossier.yaml --unsigned          # a draft, said on purpose")]
    Build(BuildArgs),
    /// Ingest and compute KPIs only; print them
    #[command(after_help = "Examples:
  dossier kpis -c dossier.yaml                      # a table
  dossier kpis -c dossier.yaml --format json > q3.json
  dossier kpis -c dossier.yaml --baseline q3.json   # each KPI's change since then
  dossier kpis -c dossier.yaml --check              # exit 3 if a KPI misses its target")]
    Kpis(KpisArgs),
    /// Verify a bundle end to end, trusting nothing inside it but the key
    #[command(after_help = "Examples:
  dossier verify dist/<name>.zip --pubkey keys/dossier-signing.pub
  dossier verify dist/<name>.zip --pubkey keys/dossier-signing.pub --tsa-ca tsa-root.pem
  dossier verify --chain q1.zip q2.zip q3.zip --pubkey keys/dossier-signing.pub")]
    Verify(VerifyArgs),
    /// Create a new Ed25519 signing key pair (never overwrites)
    #[command(after_help = "Example:
  dossier keygen -o keys/     # keys/dossier-signing.key (0600) and keys/dossier-signing.pub")]
    Keygen(KeygenArgs),
    /// Scaffold a commented dossier.yaml and example audit and exception files
    #[command(after_help = "Examples:
  dossier init my-audit/
  dossier init my-audit/ --force    # replace the scaffold's own files
  dossier init --reference          # every dossier.yaml key, type and default")]
    Init(InitArgs),
    /// Fill a customer questionnaire (CSV or XLSX) from an answer library
    #[command(after_help = "Example:
  dossier answer questionnaire.xlsx -c dossier.yaml --library answers.yaml -o answered.xlsx")]
    Answer(AnswerArgs),
    /// Write one standard document alone, for upload: OSCAL assessment results or POA&M, or the
    /// CycloneDX ML-BOM (the bundle carries all of them)
    #[command(after_help = "Examples:
  dossier export -c dossier.yaml --format oscal-ar -o assessment-results.json
  dossier export -c dossier.yaml --format cyclonedx > bom.cdx.json")]
    Export(ExportArgs),
}

/// Flags shared by `build` and `kpis`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The config file
    #[arg(short, long, default_value = "dossier.yaml")]
    pub config: PathBuf,

    /// The as-of date (YYYY-MM-DD); default: the day after the period ends
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,

    /// The reporting period, inclusive UTC dates: START..END (overrides the config)
    #[arg(long, value_name = "START..END", value_parser = parse_period)]
    pub period: Option<Period>,

    /// Restrict to these systems or models (repeatable): the scope of a regulator request
    #[arg(long = "system", value_name = "NAME")]
    pub systems: Vec<String>,

    /// The request id of a regulator documentation request
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,

    /// An earlier bundle (.zip) or KPI document (.json, `kpis --format json`) to trend against
    #[arg(long, value_name = "PREVIOUS")]
    pub baseline: Option<PathBuf>,

    /// Make a rejected log row or an unreadable evidence file fatal instead of counted
    #[arg(long)]
    pub strict: bool,

    #[command(flatten)]
    pub epoch: EpochArg,
}

/// `SOURCE_DATE_EPOCH` (reproducible builds): the build time when `--timestamp` is not given.
#[derive(Debug, Args)]
pub struct EpochArg {
    #[arg(long = "source-date-epoch", hide = true, env = "SOURCE_DATE_EPOCH", value_parser = parse_epoch)]
    pub source_date_epoch: Option<DateTime<Utc>>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Output folder
    #[arg(short, long, default_value = "dist")]
    pub output: PathBuf,

    /// The build time written everywhere (RFC 3339); default: SOURCE_DATE_EPOCH, else now
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp)]
    pub timestamp: Option<DateTime<Utc>>,

    /// The signing key (PKCS#8 PEM); else DOSSIER_SIGNING_KEY, signing.key, or dossier-signing.key
    /// beside the config
    #[arg(long, value_name = "PEM", env = "DOSSIER_SIGNING_KEY")]
    pub key: Option<PathBuf>,

    /// Write the bundle unsigned when no signing key is found (without it, no key is an error)
    #[arg(long, env = "DOSSIER_UNSIGNED")]
    pub unsigned: bool,

    /// RFC 3161 time-stamp authority (http://…) to stamp the signature; replaces signing.tsa.url
    #[arg(long, value_name = "URL", conflicts_with = "no_tsa")]
    pub tsa_url: Option<String>,

    /// No time-stamp, even if signing.tsa is configured
    #[arg(long)]
    pub no_tsa: bool,

    /// Replace existing outputs
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct KpisArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Exit 3 if any KPI misses its target
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Which document
    #[arg(long, value_enum)]
    pub format: ExportFormat,

    /// Write it here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The time written as the document's last-modified (RFC 3339); default: SOURCE_DATE_EPOCH,
    /// else now
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp)]
    pub timestamp: Option<DateTime<Utc>>,

    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// OSCAL assessment results (data/oscal/assessment-results.json)
    OscalAr,
    /// OSCAL plan of action and milestones (data/oscal/poam.json)
    OscalPoam,
    /// CycloneDX 1.6 ML-BOM (data/mlbom/bom.cdx.json)
    Cyclonedx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle to verify; with --chain, the bundles of a ledger, oldest first
    #[arg(required = true, num_args = 1.., value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,

    /// Verify each bundle and every link between them (Previous-Bundle-* in bag-info.txt)
    #[arg(long)]
    pub chain: bool,

    /// The signer's public key (SPKI PEM) to pin; without it the bundled key is used, with a warning
    #[arg(long, value_name = "PEM")]
    pub pubkey: Option<PathBuf>,

    /// The time-stamp authority's root certificate(s) (PEM) the bundle's token must chain to
    #[arg(long, value_name = "PEM")]
    pub tsa_ca: Option<PathBuf>,

    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Folder for dossier-signing.key and dossier-signing.pub
    #[arg(short, long, default_value = ".")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to scaffold into
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Replace the scaffold's files where they exist (other files are never touched)
    #[arg(long)]
    pub force: bool,

    /// Print the reference of every dossier.yaml key (docs/config.md) and write nothing
    #[arg(long)]
    pub reference: bool,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The questionnaire (CSV or XLSX)
    pub questionnaire: PathBuf,

    /// The config file
    #[arg(short, long, default_value = "dossier.yaml")]
    pub config: PathBuf,

    #[command(flatten)]
    pub epoch: EpochArg,

    /// The answer library (YAML); default: answers.yaml beside the config
    #[arg(long, value_name = "YAML")]
    pub library: Option<PathBuf>,

    /// Output file; default: dist/<questionnaire file name>
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Column holding the question id
    #[arg(long, default_value = "id")]
    pub id_column: String,

    /// Column holding the question text
    #[arg(long, default_value = "question")]
    pub question_column: String,

    /// Column the answer goes in (an existing one, e.g. "Response"; added after the last used
    /// column when absent)
    #[arg(long, default_value = "answer")]
    pub answer_column: String,

    /// Column the evidence references go in (added when absent)
    #[arg(long, default_value = "evidence")]
    pub evidence_column: String,

    /// Column the status (answered / unanswered) goes in (added when absent)
    #[arg(long, default_value = "status")]
    pub status_column: String,

    /// Column a library entry's `choice:` goes in, e.g. a Yes/No/N-A dropdown (added when absent
    /// and some answer has a choice); the value must be one the cell's dropdown allows
    #[arg(long, default_value = "choice")]
    pub choice_column: String,

    /// XLSX: a sheet to answer (repeatable); default: every sheet with the id and question header
    #[arg(long = "sheet", value_name = "NAME")]
    pub sheets: Vec<String>,

    /// Answer from this signed bundle's KPI document, verified first (exit 4 if it does not
    /// verify), citing evidence by bag path and SHA-256, instead of recomputing from the sources
    #[arg(long, value_name = "ZIP")]
    pub bundle: Option<PathBuf>,

    /// With --bundle: the signer's public key (SPKI PEM) the bundle must verify against
    #[arg(long, value_name = "PEM", requires = "bundle")]
    pub pubkey: Option<PathBuf>,

    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,
}
