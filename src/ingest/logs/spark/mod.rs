//! A log source summarised on Spark (`engine: spark`, issue 22): the records never leave the
//! cluster, only the engine-neutral summary does (docs/log-summary.md, docs/spark.md). In: the
//! source (a Parquet folder or a table), its field map, success values, the period, and how to
//! reach Spark (`spark-submit` and a master). Out: the per-model summaries, the counts of every
//! record by code (accepted, outside the period, each reject reason), and what an auditor needs
//! to rerun it: the SQL text, Spark's version, the master, the files read. How: `spark-submit`
//! runs `driver.py` (written into a temporary folder, with the request), which reports the
//! source's schema; `sql` writes the statements for that schema into the folder; the driver runs
//! them and sends back the rows.
//! Guarantees: a Spark that cannot be started or reached, a query error, a missing or unreadable
//! column, a reply that is not the protocol's, or a run past its time limit is an error naming
//! the source; Spark's own log is kept (its last 64 KiB) for that error and goes nowhere else.

mod schema;
mod sql;
mod values;

pub(super) use sql::{ACCEPTED, OUTSIDE};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::summary::{ModelSummary, PSI_BINS, PsiBins};
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
    let outcome = talk(
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

/// The conversation with the driver: the source's schema, the statements, the rows.
fn talk(
    child: &mut std::process::Child,
    folder: &std::path::Path,
    (fields, success): (&FieldMap, &[String]),
    (period, scope, excerpt): (Period, &[String], Option<u64>),
) -> Result<SparkSummary, String> {
    let stdout = child.stdout.take().ok_or("no pipe from the Spark driver")?;
    let mut replies = BufReader::new(stdout).lines();
    let mut next = || -> Result<Value, String> {
        for line in replies.by_ref() {
            let line = line.map_err(|e| format!("cannot read the Spark driver's reply: {e}"))?;
            if let Some(json) = line.strip_prefix("DOSSIER\t") {
                let reply: Value = serde_json::from_str(json)
                    .map_err(|e| format!("the Spark driver's reply is not JSON: {e}"))?;
                if reply["kind"] == "error" {
                    return Err(format!(
                        "Spark: {}",
                        reply["message"].as_str().unwrap_or("?")
                    ));
                }
                return Ok(reply);
            }
        }
        Err("Spark stopped before it replied".into())
    };
    let about = next()?;
    let mut statements = sql::statements(&about["schema"], (fields, success), period, scope)?;
    statements.extend(excerpt.map(sql::excerpt));
    // Written whole, then renamed: the driver never reads half a file.
    let queries = serde_json::json!({"queries": statements});
    let partial = folder.join("statements.partial");
    std::fs::write(&partial, queries.to_string())
        .and_then(|_| std::fs::rename(&partial, folder.join("statements.json")))
        .map_err(|e| format!("cannot hand the Spark driver its statements: {e}"))?;
    let mut out = SparkSummary {
        version: about["version"].as_str().unwrap_or_default().to_string(),
        files: about["files"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|v| {
                        Some(SparkFile {
                            path: v.get(0)?.as_str()?.to_string(),
                            size: v.get(1).and_then(Value::as_u64),
                            modified_ms: v.get(2).and_then(Value::as_i64),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        table: about["table"]
            .as_array()
            .map(|facts| {
                facts
                    .iter()
                    .filter_map(|f| Some((f.get(0)?.as_str()?.into(), f.get(1)?.as_str()?.into())))
                    .collect()
            })
            .unwrap_or_default(),
        sql: statements
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect(),
        ..SparkSummary::default()
    };
    loop {
        let reply = next()?;
        match reply["kind"].as_str() {
            Some("done") => break,
            Some("row") => add_row(&mut out, &reply["query"], &reply["row"], period)?,
            _ => {
                return Err(format!(
                    "an unexpected reply from the Spark driver: {reply}"
                ));
            }
        }
    }
    Ok(out)
}

/// One result row into the summary.
fn add_row(
    out: &mut SparkSummary,
    query: &Value,
    row: &Value,
    period: Period,
) -> Result<(), String> {
    let bad = || format!("an unexpected row from Spark ({query}): {row}");
    let text = |k: &str| row[k].as_str().map(String::from);
    let count = |k: &str| row[k].as_u64().ok_or_else(bad);
    if query == "excerpt" {
        out.excerpt.push(text("record").ok_or_else(bad)?);
        return Ok(());
    }
    if query == "codes" {
        *out.codes.entry(text("code").ok_or_else(bad)?).or_default() += count("n")?;
        return Ok(());
    }
    let model = out
        .models
        .entry(text("model").ok_or_else(bad)?)
        .or_default();
    match query.as_str().unwrap_or_default() {
        "models" => {
            model.requests = count("requests")?;
            model.with_status = count("with_status")?;
            model.errors = count("errors")?;
            let q = |i: usize| row["latency_q"].get(i).and_then(Value::as_f64);
            (
                model.latency_p50_ms,
                model.latency_p95_ms,
                model.latency_p99_ms,
            ) = (q(0), q(1), q(2));
            model.score_mean = row["score_mean"].as_f64();
            model.first_ts = row["first_ts"].as_i64();
            model.last_ts = row["last_ts"].as_i64();
        }
        "gaps" => model.longest_inner_gap_ns = row["gap"].as_i64(),
        "daily" => {
            let day = row["day"].as_i64().ok_or_else(bad)?;
            model.daily.insert(day, count("n")?);
        }
        "versions" => {
            model
                .versions
                .insert(text("version").ok_or_else(bad)?, count("n")?);
        }
        "psi" if period.days() >= super::summary::PSI_MIN_PERIOD_DAYS => {
            let bins = model.psi_bins.get_or_insert_with(PsiBins::default);
            let window = if row["w"].as_u64() == Some(0) {
                &mut bins.first
            } else {
                &mut bins.last
            };
            let bin = usize::try_from(count("bin")?)
                .unwrap_or(PSI_BINS)
                .min(PSI_BINS - 1);
            if let Some(slot) = window.get_mut(bin) {
                *slot += count("n")?;
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
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
