//! The one integration-test binary (as just and ripgrep do): every module runs the real
//! `dossier` binary on `fixtures/` and `sample-evidence/`, so Polars and Typst are linked once.

mod common;

mod answer;
mod auditor;
mod audits;
mod bad_input;
mod bundle;
mod cli;
mod export_shapes;
mod exports;
mod hostile;
mod ledger;
mod logs;
mod minimised;
mod mlflow;
mod progress;
mod questionnaires;
mod report;
mod request;
mod spark;
mod standards;
mod traces;
mod tsa;
