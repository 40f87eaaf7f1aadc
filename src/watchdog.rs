//! A bound on time and memory for the one stage that runs code a user wrote: a report template
//! (Typst) or an answer library's templates (MiniJinja). In: what is running (named in the error)
//! and its limits. While the guard lives, a thread checks every 50 ms; past the time limit, or
//! once the process has grown by more than the memory limit since the guard was set, it prints one
//! error naming the template and ends the process with exit 1 — a loop inside a library cannot be
//! interrupted any other way. Staging files such a stop leaves behind are removed by the next
//! build (`bundle::stage`), with a notice.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Limits for user templates: far above what the default report or a real answer library takes
/// (well under a second and a few hundred MiB), far below what would hurt the machine.
pub struct Limits {
    pub seconds: u64,
    pub grow_bytes: u64,
}

impl Limits {
    /// 20 s and 1 GiB of growth, or `DOSSIER_TEMPLATE_SECONDS` seconds (tests use a short one).
    pub fn for_templates() -> Limits {
        let seconds = std::env::var("DOSSIER_TEMPLATE_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&s| s > 0)
            .unwrap_or(20);
        Limits {
            seconds,
            grow_bytes: 1 << 30,
        }
    }
}

/// Watches while alive; dropping it stops the watch.
pub struct Guard {
    done: Arc<AtomicBool>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// Start watching `what` (a template's path) under `limits`.
pub fn watch(what: &Path, doing: &'static str, limits: Limits) -> Guard {
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let what: PathBuf = what.to_path_buf();
    let start = Instant::now();
    let base = resident_bytes().unwrap_or(0);
    let spawned = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let grown = resident_bytes().unwrap_or(0).saturating_sub(base);
                let why = if start.elapsed() > Duration::from_secs(limits.seconds) {
                    format!("ran longer than {} s", limits.seconds)
                } else if grown > limits.grow_bytes {
                    format!("took more than {} MiB of memory", limits.grow_bytes >> 20)
                } else {
                    continue;
                };
                eprintln!(
                    "error: {}: {doing} {why} (a loop without end, or data without bound?); \
                     stopped",
                    what.display()
                );
                std::process::exit(1);
            }
        });
    // Without a watchdog thread the template still runs; the limits are a defence, not a gate.
    drop(spawned);
    Guard { done }
}

/// The process's resident set, from /proc/self/status (`VmRSS:  N kB`).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
