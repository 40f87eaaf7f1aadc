//! Progress on long work (issue 23): the log pass (bytes of the files read), staging (bytes hashed
//! and zipped) and report typesetting (a spinner), drawn on stderr with indicatif. In: whether to
//! draw at all, decided once in `run()` — only when stderr is a terminal and `--quiet` is not
//! given. Out: bars that are no-ops otherwise. Guarantees: a bar never writes to stdout and never
//! touches an output byte; it is cleared when dropped; colour plays no part (the templates have
//! none), so `NO_COLOR` and `--color never` leave progress as it is.

use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static DRAW: OnceLock<bool> = OnceLock::new();

/// Decide, once per run, whether bars are drawn.
pub fn enable(draw: bool) {
    let _ = DRAW.set(draw);
}

fn drawing() -> bool {
    DRAW.get().copied().unwrap_or(false)
}

/// A progress bar, or nothing when progress is not drawn. Clones share one bar (workers).
#[derive(Clone, Default)]
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar over `total` bytes.
    pub fn bytes(label: &str, total: u64) -> Bar {
        if !drawing() {
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg:24} [{bar:32}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(label.to_string());
        Bar(Some(bar))
    }

    /// A spinner for work of unknown length.
    pub fn spinner(label: &str) -> Bar {
        if !drawing() {
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_message(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(Some(bar))
    }

    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    /// Clear the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
