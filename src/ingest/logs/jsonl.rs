//! Every JSON-lines log file read once, on every core (issue 20). In: the JSON-lines inputs
//! (NDJSON, Splunk exports, Elasticsearch dumps, materialised traces) in order. Out: their
//! counts, bad lines, scoped rows and tallies added to `Gathered`. How: this thread cuts each
//! file into slices of whole lines (`lines::LineSlices`); one worker per core reads a slice's
//! records (`fields`), classifies them (`record`) and tallies them (`tally`); one thread merges
//! the parts in file order, so each file's lines and rows are numbered as if it were read alone.
//! A slice's buffer is handed back and read into again. Guarantees: at most `3 × workers + 1`
//! slice buffers exist at once (queued, being read, handed back, being cut), whatever the files'
//! size; a panic in a worker is an error naming the file, and never hangs the pass.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::fields::{self, FieldTree};
use super::lines::{LineSlices, trim_line};
use super::record::classify;
use super::tally::{self, Gathered, Tallies, Window};
use super::{Input, is_json};
use crate::config::Config;
use crate::error::{Error, Result};

/// A slice of one file's lines, numbered in reading order.
struct Job {
    seq: u64,
    file: u32,
    bytes: Vec<u8>,
}

/// What one slice held: its lines, rows, bad lines and counts relative to the slice.
#[derive(Default)]
struct Part {
    seq: u64,
    file: u32,
    lines: u64,
    rows: u64,
    /// 0-based line indexes in the slice.
    bad: Vec<u64>,
    /// code → (records, first row in the slice).
    counts: BTreeMap<u32, (u64, u64)>,
    scoped_rows: Vec<u64>,
    tallies: Tallies,
}

/// How each input's records are read: its field tree and success values.
struct Reading<'c> {
    trees: Vec<Option<Arc<FieldTree>>>,
    success: Vec<&'c [String]>,
    window: Window,
    scope: Option<&'c [String]>,
}

/// Read every JSON-lines input into `out`.
pub(super) fn read_all(
    config: &Config,
    inputs: &[Input],
    out: &mut Gathered,
    bar: &crate::progress::Bar,
) -> Result<()> {
    let reading = reading(config, inputs)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 16));
    let (jobs_tx, jobs_rx) = sync_channel::<Job>(workers);
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let (parts_tx, parts_rx) = sync_channel::<std::result::Result<Part, u32>>(workers);
    let (spares_tx, spares_rx) = sync_channel::<Vec<u8>>(workers);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (rx, tx, reading) = (jobs_rx.clone(), parts_tx.clone(), &reading);
            let spares = spares_tx.clone();
            s.spawn(move || work(&rx, (&tx, &spares), reading));
        }
        drop(spares_tx);
        // Only the workers hold the queue: when they are gone, a send fails instead of waiting.
        drop(jobs_rx);
        drop(parts_tx);
        let merger = s.spawn(move || merge_in_order(parts_rx));
        let sent = send_slices(inputs, jobs_tx, &spares_rx, bar);
        let merged = merger
            .join()
            .map_err(|_| Error::Internal("the log merger stopped".into()))?;
        sent?;
        let gathered = merged.map_err(|file| panicked(inputs, file))?;
        absorb(out, gathered);
        Ok(())
    })
}

fn reading<'c>(config: &'c Config, inputs: &[Input]) -> Result<Reading<'c>> {
    let mut cache: BTreeMap<(usize, u8), Arc<FieldTree>> = BTreeMap::new();
    let mut trees = Vec::with_capacity(inputs.len());
    for input in inputs {
        if !is_json(input.format) {
            trees.push(None);
            continue;
        }
        let source = config
            .logs
            .get(input.source)
            .ok_or_else(|| Error::Internal("a log file names no source".into()))?;
        let key = (input.source, input.format as u8);
        let tree = match cache.get(&key) {
            Some(t) => t.clone(),
            None => {
                let t = FieldTree::new(source, input.format).map_err(|message| Error::Logs {
                    path: input.path.clone(),
                    line: None,
                    message,
                })?;
                cache.entry(key).or_insert(Arc::new(t)).clone()
            }
        };
        trees.push(Some(tree));
    }
    Ok(Reading {
        trees,
        success: inputs
            .iter()
            .map(|i| {
                config
                    .logs
                    .get(i.source)
                    .map_or(&[][..], |s| &s.success[..])
            })
            .collect(),
        window: Window::of(config.period),
        scope: config
            .scope
            .is_scoped()
            .then_some(&config.scope.systems[..]),
    })
}

/// Cut every JSON-lines input into slices and hand them out; closing the channel ends the
/// workers.
fn send_slices(
    inputs: &[Input],
    jobs: SyncSender<Job>,
    spares: &Receiver<Vec<u8>>,
    bar: &crate::progress::Bar,
) -> Result<()> {
    let mut seq = 0;
    for (file, input) in inputs.iter().enumerate() {
        if !is_json(input.format) {
            continue;
        }
        let mut slices = LineSlices::open(&input.path, super::scan::slice_bytes())?;
        while let Some(bytes) = slices.next_slice_in(spares.try_recv().unwrap_or_default())? {
            bar.inc(bytes.len() as u64);
            let job = Job {
                seq,
                file: file as u32,
                bytes,
            };
            seq += 1;
            if jobs.send(job).is_err() {
                // Every worker is gone: the merger reports why.
                return Ok(());
            }
        }
    }
    Ok(())
}

fn work(
    jobs: &Mutex<Receiver<Job>>,
    (parts, spares): (
        &SyncSender<std::result::Result<Part, u32>>,
        &SyncSender<Vec<u8>>,
    ),
    reading: &Reading<'_>,
) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let file = job.file;
        let part =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_slice(&job, reading)))
                .map_err(|_| file);
        // The slice's buffer goes back to be read into again (or is dropped when enough are).
        let _ = spares.try_send(job.bytes);
        let failed = part.is_err();
        if parts.send(part).is_err() || failed {
            return;
        }
    }
}

/// One slice's records read, classified and tallied.
fn read_slice(job: &Job, reading: &Reading<'_>) -> Part {
    let mut part = Part {
        seq: job.seq,
        file: job.file,
        ..Default::default()
    };
    let i = job.file as usize;
    let Some(Some(tree)) = reading.trees.get(i) else {
        return part;
    };
    let success = reading.success.get(i).copied().unwrap_or_default();
    let bounds = (reading.window.start, reading.window.end);
    let mut rest = &job.bytes[..];
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(at) => (rest.get(..at).unwrap_or_default(), rest.get(at + 1..)),
            None => (rest, None),
        };
        rest = next.unwrap_or_default();
        let index = part.lines;
        part.lines += 1;
        let text = trim_line(line);
        if text.is_empty() {
            continue;
        }
        let outcome = fields::read(tree, text).and_then(|f| classify(&f, bounds, success));
        let Ok(outcome) = outcome else {
            part.bad.push(index);
            continue;
        };
        let row = part.rows;
        part.rows += 1;
        let admitted = match (reading.scope, outcome.model.as_deref()) {
            (Some(systems), Some(m)) => systems.iter().any(|s| s == m),
            _ => true,
        };
        if !admitted {
            continue;
        }
        let entry = part.counts.entry(outcome.code).or_insert((0, row));
        entry.0 += 1;
        if let Some(record) = outcome.accepted {
            tally::add(&mut part.tallies, &record, &reading.window);
            if reading.scope.is_some() {
                part.scoped_rows.push(row);
            }
        }
    }
    part
}

/// Parts merged in slice order, so every file's line and row numbers continue across slices;
/// `Err(file)` when a worker panicked on that file.
fn merge_in_order(
    parts: Receiver<std::result::Result<Part, u32>>,
) -> std::result::Result<Gathered, u32> {
    let mut out = Gathered::default();
    let mut waiting: BTreeMap<u64, Part> = BTreeMap::new();
    let mut next = 0u64;
    // Per file: lines and rows of the slices merged so far.
    let mut before: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for part in parts {
        let part = part?;
        waiting.insert(part.seq, part);
        while let Some(part) = waiting.remove(&next) {
            next += 1;
            let at = before.entry(part.file).or_default();
            locate(&mut out, part, at);
        }
    }
    Ok(out)
}

/// One part's counts and rows placed in its file, its tallies merged.
fn locate(out: &mut Gathered, part: Part, (lines, rows): &mut (u64, u64)) {
    let file = part.file;
    if !part.bad.is_empty() {
        let bad = out.bad_lines.entry(file).or_default();
        bad.extend(part.bad.iter().map(|b| *lines + b + 1));
    }
    for (code, (n, first)) in part.counts {
        out.count((file, code), n, *rows + first);
    }
    if !part.scoped_rows.is_empty() {
        let scoped = out.rows.entry(file).or_default();
        scoped.extend(part.scoped_rows.iter().map(|r| *rows + r));
    }
    let models = out.models.entry(file).or_default();
    for (name, t) in &part.tallies {
        *models.entry(name.to_string()).or_default() += t.requests;
    }
    tally::merge(&mut out.tallies, part.tallies);
    *lines += part.lines;
    *rows += part.rows;
}

/// The JSON pass's findings added to what the other readers found.
fn absorb(out: &mut Gathered, other: Gathered) {
    for ((file, code), (n, first)) in other.counts {
        out.count((file, code), n, first);
    }
    for (file, models) in other.models {
        let mine = out.models.entry(file).or_default();
        for (m, n) in models {
            *mine.entry(m).or_default() += n;
        }
    }
    for (file, rows) in other.rows {
        out.rows.entry(file).or_default().extend(rows);
    }
    for (file, bad) in other.bad_lines {
        out.bad_lines.entry(file).or_default().extend(bad);
    }
    tally::merge(&mut out.tallies, other.tallies);
}

fn panicked(inputs: &[Input], file: u32) -> Error {
    let path = inputs
        .get(file as usize)
        .map(|i| i.path.clone())
        .unwrap_or_default();
    Error::Panicked {
        path,
        message: format!(
            "reading the log file failed on this input ({})",
            crate::error::last_panic()
        ),
    }
}
