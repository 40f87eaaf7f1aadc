//! A log source summarised on Spark (`engine: spark`, issue 22): the records never leave the
//! cluster, only the engine-neutral summary does (docs/log-summary.md, docs/spark.md). In: the
//! source (a Parquet folder or a table), its field map, success values, the period, and how to
//! reach Spark (`spark-submit` and a master, or a Spark Connect server and a Python client). Out:
//! the per-model summaries, the counts of every record by code (accepted, outside the period,
//! each reject reason), the excerpt asked for, and what an auditor needs to rerun it: the SQL
//! text, Spark's version, the master, the files read, a table's catalog facts. How: the launcher
//! runs `driver.py` (written into a temporary folder, with the request), which reports the
//! source's schema; `sql` (with `schema` and `values`) writes the statements for that schema
//! into the folder; the driver runs them and sends back the rows (`reply`).
//! Guarantees: a Spark that cannot be started or reached, a query error, a missing or unreadable
//! column, a reply that is not the protocol's, or a run past its time limit is an error naming
//! the source; Spark's own log is kept (its last 64 KiB) for that error and goes nowhere else.

mod reply;
mod schema;
mod sql;
mod values;

pub(super) use sql::{ACCEPTED, OUTSIDE};

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::summary::ModelSummary;
use crate::config::{FieldMap, Period, SparkClient, SparkSource};

/// The driver, shipped inside dossier.
const DRIVER: &str = include_str!("driver.py");

/// Spark's log kept for an error message.
const LOG_TAIL: usize = 64 << 10;

/// A file Spark read, as its file system (Hadoop's) describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparkFile {
    /// As Spark names it: a URI (`file:/…`, `s3a://…`).
    pub path: String,
    pub size: Option<u64>,
    /// Last modified, ms since the epoch.
    pub modified_ms: Option<i64>,
}

/// What one run gives the log stage.
#[derive(Debug, Clone, Default)]
pub struct SparkSummary {
    pub models: BTreeMap<String, ModelSummary>,
    /// Records per code: `accepted`, `outside period` or a reject reason's label.
    pub codes: BTreeMap<String, u64>,
    pub sql: Vec<(String, String)>,
    pub version: String,
    /// Every file Spark read, with its size and time when the file system gave them.
    pub files: Vec<SparkFile>,
    /// When the run began and ended (RFC 3339, UTC): facts of the run, not of the build.
    pub started: String,
    pub finished: String,
    /// The records asked for the bundle (`excerpt_rows`), each its mapped fields as JSON text,
    /// in time order.
    pub excerpt: Vec<String>,
    /// A table's catalog facts (provider, location, created; a Delta table's version), as
    /// `DESCRIBE TABLE EXTENDED` and `DESCRIBE HISTORY` gave them.
    pub table: Vec<(String, String)>,
}

/// Run the summary on Spark.
pub fn summarise(
    source: &SparkSource,
    (fields, success): (&FieldMap, &[String]),
    period: Period,
    scope: &[String],
) -> Result<SparkSummary, String> {
    let folder = tempfile::Builder::new()
        .prefix("dossier-spark-")
        .tempdir()
        .map_err(|e| format!("cannot make a folder for the Spark driver: {e}"))?;
    let driver = folder.path().join("driver.py");
    std::fs::write(&driver, DRIVER).map_err(|e| format!("cannot write the Spark driver: {e}"))?;
    let (mut cmd, conf) = launcher(source)?;
    let remote = matches!(source.client, SparkClient::Connect { .. }).then_some(&source.master);
    let request = serde_json::json!({
        "path": source.path, "table": source.table, "remote": remote, "conf": conf,
    });
    std::fs::write(folder.path().join("request.json"), request.to_string())
        .map_err(|e| format!("cannot write the Spark driver's request: {e}"))?;
    // Its own process group: spark-submit starts a JVM, which starts Python; a time limit stops
    // them all.
    cmd.arg(&driver)
        .arg(folder.path())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = now();
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot start {} ({e}); is Spark installed?",
            cmd.get_program().to_string_lossy()
        )
    })?;
    let log = collect_log(child.stderr.take());
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = stop_at(
        child.id(),
        Instant::now() + source.timeout,
        Arc::clone(&done),
    );
    let outcome = reply::talk(
        &mut child,
        folder.path(),
        (fields, success),
        (period, scope, source.excerpt_rows),
    );
    if outcome.is_err() {
        kill_group(child.id());
    }
    let status = child.wait();
    done.store(true, Ordering::SeqCst);
    let timed_out = watchdog.join().unwrap_or(false);
    let log = log.join().unwrap_or_default();
    if timed_out {
        return Err(with_log(
            format!(
                "Spark did not finish within {} s (spark.timeout_seconds)",
                source.timeout.as_secs()
            ),
            &log,
        ));
    }
    match (outcome, status) {
        (Ok(summary), Ok(s)) if s.success() => Ok(SparkSummary {
            started,
            finished: now(),
            ..summary
        }),
        (Err(e), _) => Err(with_log(e, &log)),
        (Ok(_), Ok(s)) => Err(with_log(format!("the Spark driver failed ({s})"), &log)),
        (Ok(_), Err(e)) => Err(format!("cannot wait for the Spark driver: {e}")),
    }
}

/// The command that runs the driver, and the settings the driver applies itself: spark-submit
/// takes every setting as `--conf`; a Spark Connect client applies session settings (the cluster's
/// own are the server's). The session time zone is UTC unless the config says otherwise.
fn launcher(source: &SparkSource) -> Result<(Command, BTreeMap<String, String>), String> {
    let mut conf = source.conf.clone();
    conf.entry("spark.sql.session.timeZone".into())
        .or_insert_with(|| "UTC".into());
    let cmd = match &source.client {
        SparkClient::Submit(submit) => {
            conf.entry("spark.ui.enabled".into())
                .or_insert_with(|| "false".into());
            let mut cmd = Command::new(submit);
            cmd.arg("--master").arg(&source.master);
            for (k, v) in &conf {
                cmd.arg("--conf").arg(format!("{k}={v}"));
            }
            conf.clear();
            cmd
        }
        // A Connect client sets only session settings, which the driver applies.
        SparkClient::Connect { python } => {
            reachable(&source.master)?;
            Command::new(python)
        }
    };
    Ok((cmd, conf))
}

/// Whether a Spark Connect server listens at `sc://host[:port][/;params]` (port 15002 unless
/// named): an unreachable one is an error at once, not after the client's retries.
fn reachable(master: &str) -> Result<(), String> {
    let authority = master
        .trim_start_matches("sc://")
        .split(['/', ';'])
        .next()
        .unwrap_or_default();
    let named_port = authority
        .rsplit_once(':')
        .filter(|(_, p)| p.parse::<u16>().is_ok() && !p.is_empty());
    let address = match named_port {
        Some(_) => authority.to_string(),
        None => format!("{authority}:15002"),
    };
    let fail = |e: &dyn std::fmt::Display| format!("cannot reach Spark Connect at {address}: {e}");
    let targets = address.to_socket_addrs().map_err(|e| fail(&e))?;
    let mut last = String::from("no address");
    for target in targets {
        match TcpStream::connect_timeout(&target, Duration::from_secs(10)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(&last))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A thread that stops the process group `pid` at `deadline` unless `done` is set first;
/// whether it did.
fn stop_at(pid: u32, deadline: Instant, done: Arc<AtomicBool>) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        while !done.load(Ordering::SeqCst) {
            if Instant::now() >= deadline {
                kill_group(pid);
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    })
}

fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// Spark's log, read as it comes (so the pipe never fills), its last `LOG_TAIL` bytes kept.
fn collect_log(stderr: Option<std::process::ChildStderr>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut stderr) = stderr else {
            return kept;
        };
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(buf.get(..n).unwrap_or_default());
            if kept.len() > 2 * LOG_TAIL {
                kept.drain(..kept.len() - LOG_TAIL);
            }
        }
        kept
    })
}

/// An error with the end of Spark's log: its last lines that say ERROR or Exception.
fn with_log(message: String, log: &[u8]) -> String {
    let text = String::from_utf8_lossy(log);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("Exception") || l.contains("Error:"))
        .collect();
    let tail = lines
        .get(lines.len().saturating_sub(5)..)
        .unwrap_or_default();
    match tail.is_empty() {
        true => message,
        false => format!(
            "{message}\n  Spark's log ends:\n    {}",
            tail.join("\n    ")
        ),
    }
}
