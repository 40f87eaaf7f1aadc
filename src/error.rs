//! The one error type of dossier. Every stage returns `Result<T>`; variants are named by stage and
//! carry the file (and line, key or record) they concern. `run()` prints an error once, as
//! `error: …` plus an optional hint, and maps it to the exit code of SPEC §1 through `exit_code`.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line itself is wrong (exit 2).
    #[error("{0}")]
    Usage(String),

    /// A file or folder could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
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

    /// The exceptions register is invalid.
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

    /// The evidence bundle could not be assembled.
    #[error("{}: {message}", path.display())]
    Bundle { path: PathBuf, message: String },

    /// The report could not be typeset (a template error names its file:line:column).
    #[error("{}: {message}", path.display())]
    Report { path: PathBuf, message: String },

    /// A file to be written exists already.
    #[error("{} exists already", path.display())]
    Exists { path: PathBuf },
}

impl Error {
    /// SPEC §1: 1 failed, 2 usage. Codes 3 and 4 are outcomes, not errors; they are decided by the
    /// commands that produce them.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Config { hint, .. } | Error::Mlflow { hint, .. } => hint.as_deref(),
            Error::Exists { .. } => Some("pass --force to replace it, or choose another folder"),
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Some("check the path; relative paths are resolved against the config file's folder")
            }
            _ => None,
        }
    }

    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
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
        assert_eq!(err.exit_code(), 1);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
    }
}
