//! The one error type of dossier, and the one place exit statuses are decided. Every stage returns
//! `Result<T>`; variants are named by stage and carry the file (and line, key or record) they
//! concern, and every message is a sentence naming its path. `run()` prints an error once, as
//! `error: …` plus an optional hint, and exits with `Error::exit`'s status (SPEC §1); a command's
//! outcome (a missed target, a failed verification) is an `Exit` too, never a bare number.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The exit statuses of SPEC §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failed = 1,
    Usage = 2,
    /// `kpis --check`: a KPI missed its target.
    TargetMissed = 3,
    /// `verify`: the bundle did not verify.
    VerifyFailed = 4,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line itself is wrong (exit 2).
    #[error("{0}")]
    Usage(String),

    /// dossier itself failed (serialising a document, a worker thread that stopped): a bug to
    /// report, not something the user typed or fed (exit 1).
    #[error("internal error: {0}")]
    Internal(String),

    /// Whoever reads stdout has gone (`dossier kpis | head -0`): the run ends quietly, as
    /// ripgrep's does (exit 0, nothing printed).
    #[error("stdout was closed")]
    StdoutClosed,

    /// A file or folder could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: std::borrow::Cow<'static, str>,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `dossier.yaml` does not parse or does not validate.
    #[error("{}{}: {message}", path.display(), location(*line, *column, key))]
    Config {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        key: Option<String>,
        message: String,
        hint: Option<String>,
    },

    /// An MLflow store could not be read.
    #[error("{}: {message}", path.display())]
    Mlflow {
        path: PathBuf,
        message: String,
        hint: Option<String>,
    },

    /// A scored audit or framework file is invalid.
    #[error("{}{}: {message}", path.display(), at_suffix(at))]
    Audit {
        path: PathBuf,
        /// The control id or CSV row.
        at: Option<String>,
        message: String,
    },

    /// The exceptions register or the management-response register is invalid.
    #[error("{}{}: {message}", path.display(), at_suffix(at))]
    Exceptions {
        path: PathBuf,
        at: Option<String>,
        message: String,
    },

    /// An inference-log extract could not be read, or a record was rejected under `--strict`.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Logs {
        path: PathBuf,
        /// 1-based line in the file, when known.
        line: Option<u64>,
        message: String,
    },

    /// A questionnaire or answer library is invalid, or an answer template failed.
    #[error("{}{}: {message}", path.display(), at_suffix(at))]
    Answer {
        path: PathBuf,
        /// The question id, library entry or row.
        at: Option<String>,
        message: String,
    },

    /// An earlier baseline could not be read.
    #[error("baseline {}: {message}", path.display())]
    Baseline { path: PathBuf, message: String },

    /// A signing key could not be used.
    #[error("{}: {message}", path.display())]
    Sign { path: PathBuf, message: String },

    /// The time-stamp authority could not be asked, or its reply is not a token for the bundle.
    #[error("time-stamp authority {url}: {message}")]
    Tsa { url: String, message: String },

    /// The evidence bundle could not be assembled.
    #[error("{}: {message}", path.display())]
    Bundle { path: PathBuf, message: String },

    /// The report could not be typeset (a template error names its file:line:column).
    #[error("{}: {message}", path.display())]
    Report { path: PathBuf, message: String },

    /// An input that must not be read: not a regular file, outside its folder, too large, or a
    /// private key.
    #[error("{}: refused: {message}", path.display())]
    Refused { path: PathBuf, message: String },

    /// A library dossier uses (Polars, Typst, calamine, zip) panicked on an input: the input is
    /// named, the run stops cleanly.
    #[error("{}: {message}", path.display())]
    Panicked { path: PathBuf, message: String },

    /// `build` found no signing key and was not told `--unsigned` (exit 2).
    #[error(
        "no signing key: an unsigned bundle cannot be told from a forgery, so one is written only with --unsigned"
    )]
    NoKey,

    /// A file to be written exists already.
    #[error("{} exists already", path.display())]
    Exists { path: PathBuf },
}

impl Error {
    /// SPEC §1: 1 failed, 2 usage; a closed stdout is not a failure.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::NoKey => Exit::Usage,
            Error::StdoutClosed => Exit::Success,
            _ => Exit::Failed,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Config { hint, .. } | Error::Mlflow { hint, .. } => hint.as_deref(),
            Error::Exists { .. } => Some("pass --force to replace it, or choose another folder"),
            Error::NoKey => Some(
                "`dossier keygen -o DIR`, then --key DIR/dossier-signing.key (or DOSSIER_SIGNING_KEY, \
                 signing.key in the config, or the key beside the config); or pass --unsigned",
            ),
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Some("check the path; relative paths are resolved against the config file's folder")
            }
            _ => None,
        }
    }

    pub fn io(
        action: impl Into<std::borrow::Cow<'static, str>>,
        path: &Path,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action: action.into(),
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn mlflow(path: &Path, message: impl Into<String>) -> Self {
        Error::Mlflow {
            path: path.to_path_buf(),
            message: message.into(),
            hint: None,
        }
    }
}

/// The last panic's message and place, kept by the hook `run()` installs so that a contained panic
/// is reported once, as an error, instead of as a backtrace.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Install the hook that records a panic instead of printing it; `contain` and `run()` report it.
pub fn record_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| info.to_string());
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(message);
        }
    }));
}

/// Run `f`, a stage that hands `path` to a third-party library; a panic inside it becomes an
/// error naming the input and what was being done (`catch_unwind` is the last line of defence:
/// every panic it catches is a bug to fix at its root).
pub fn contain<T>(path: &Path, doing: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(Error::Panicked {
            path: path.to_path_buf(),
            message: format!("{doing} failed on this input ({})", last_panic()),
        })
    })
}

/// The recorded message of the last panic.
pub fn last_panic() -> String {
    LAST_PANIC
        .lock()
        .ok()
        .and_then(|mut p| p.take())
        .unwrap_or_else(|| "no message".into())
}

fn at_suffix(at: &Option<String>) -> String {
    at.as_deref().map(|a| format!(" ({a})")).unwrap_or_default()
}

fn location(line: Option<usize>, column: Option<usize>, key: &Option<String>) -> String {
    let mut out = String::new();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
        if let Some(column) = column {
            out.push_str(&format!(":{column}"));
        }
    }
    if let Some(key) = key.as_deref().filter(|k| !k.is_empty() && *k != ".") {
        out.push_str(&format!(" (at `{key}`)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_names_file_line_and_key() {
        let err = Error::Config {
            path: PathBuf::from("dossier.yaml"),
            line: Some(7),
            column: Some(3),
            key: Some("policy.targetz".into()),
            message: "unknown field `targetz`".into(),
            hint: None,
        };
        assert_eq!(
            err.to_string(),
            "dossier.yaml:7:3 (at `policy.targetz`): unknown field `targetz`"
        );
        assert_eq!(err.exit(), Exit::Failed);
        assert_eq!(Error::Usage("x".into()).exit(), Exit::Usage);
        assert_eq!(Error::Internal("x".into()).exit(), Exit::Failed);
        assert_eq!(Error::StdoutClosed.exit(), Exit::Success);
    }
}
