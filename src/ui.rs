//! Where a command's words go. Results go to stdout through `Out`, and nothing else does; status,
//! warnings and errors go to stderr through `Ui`, and `--quiet` silences all of them but errors.
//! Guarantees: no write panics — a reader that has gone (a closed pipe) ends the run quietly
//! (`Error::StdoutClosed`, exit 0, as ripgrep does), any other failure (a full disk) is an error
//! naming stdout; a failed write to stderr is ignored, since there is nowhere left to say it.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// When to colour stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// stderr: status, warnings and the one error of a run.
pub struct Ui {
    quiet: bool,
    color: bool,
}

impl Ui {
    pub fn new(quiet: bool, color: Color) -> Self {
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
            }
        };
        Ui { quiet, color }
    }

    pub fn status(&self, message: &str) {
        if !self.quiet {
            say(message);
        }
    }

    pub fn warn(&self, message: &str) {
        if !self.quiet {
            say(&format!("{} {message}", self.paint("warning:", "33")));
        }
    }

    /// A KPI that missed its target (`kpis --check`).
    pub fn missed(&self, message: &str) {
        if !self.quiet {
            say(&format!("{} {message}", self.paint("missed:", "31")));
        }
    }

    pub fn error(&self, err: &Error) {
        say(&format!("{} {err}", self.paint("error:", "31")));
        if let Some(hint) = err.hint() {
            say(&format!("  {} {hint}", self.paint("hint:", "36")));
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

fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// stdout: the results of a command.
pub struct Out {
    stdout: std::io::StdoutLock<'static>,
}

impl Default for Out {
    fn default() -> Self {
        Out {
            stdout: std::io::stdout().lock(),
        }
    }
}

impl Out {
    /// `text` as it is.
    pub fn write(&mut self, text: &str) -> Result<()> {
        self.stdout
            .write_all(text.as_bytes())
            .and_then(|_| self.stdout.flush())
            .map_err(stdout_error)
    }

    /// `text` and a line end.
    pub fn line(&mut self, text: &str) -> Result<()> {
        self.write(&format!("{text}\n"))
    }

    /// A path on a line of its own.
    pub fn path(&mut self, path: &Path) -> Result<()> {
        self.line(&path.display().to_string())
    }
}

fn stdout_error(e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => Error::StdoutClosed,
        _ => Error::io("cannot write results to", Path::new("stdout"), e),
    }
}
