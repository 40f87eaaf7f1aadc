//! What the log pass keeps while it reads (issue 20): per model, the counts and only the values
//! an exact figure needs — each accepted record's latency and time, and the scores of the two
//! PSI windows; model, version and status are counted, never stored per record. In: accepted
//! records one at a time (`ModelTally::add`), from the JSON-lines reader or a Polars frame of
//! CSV or Parquet records (`Gathered::add_frame`). Out: `Gathered`, which `summary` turns into
//! the engine-neutral summary. Guarantees: memory is about 8 + 8 bytes per accepted record
//! (+ 8 for a score in a PSI window), in chunks, so no vector is ever copied to grow; tallies
//! merge in any order to the same figures (sums are compensated, so order moves no digit that
//! matters).

use std::collections::BTreeMap;

use polars::prelude::*;

use super::record::Accepted;
use super::summary::{PSI_MIN_PERIOD_DAYS, PSI_WINDOW_DAYS};
use super::{NS_PER_DAY, period_bounds_ns};
use crate::config::Period;

/// The period as the tally needs it: its bounds (ns), its days and its PSI windows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub start: i64,
    pub end: i64,
    days: usize,
    /// `[start, first)` and `[last, end)`; `None` for a period under 60 days.
    psi: Option<(i64, i64)>,
}

impl Window {
    pub(super) fn of(period: Period) -> Self {
        let (start, end) = period_bounds_ns(period);
        let window = PSI_WINDOW_DAYS * NS_PER_DAY;
        Window {
            start,
            end,
            days: usize::try_from(period.days()).unwrap_or(0),
            psi: (period.days() >= PSI_MIN_PERIOD_DAYS).then_some((start + window, end - window)),
        }
    }
}

/// Values appended in chunks: a chunk that is full is never moved again.
#[derive(Debug)]
pub(super) struct Chunks<T> {
    pub(super) done: Vec<Vec<T>>,
    open: Vec<T>,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks {
            done: Vec::new(),
            open: Vec::new(),
        }
    }
}

/// Elements in an open chunk before it is closed (8 MiB of f64).
const CHUNK: usize = 1 << 20;

impl<T: Copy> Chunks<T> {
    fn push(&mut self, v: T) {
        if self.open.capacity() == 0 {
            self.open.reserve_exact(CHUNK.min(4096));
        }
        if self.open.len() == self.open.capacity() && self.open.len() >= CHUNK {
            self.done.push(std::mem::take(&mut self.open));
            self.open.reserve_exact(CHUNK);
        }
        self.open.push(v);
    }

    /// Another tally's values: big chunks are taken as they are, small ones copied in.
    fn append(&mut self, other: Chunks<T>) {
        for chunk in other.done.into_iter().chain(std::iter::once(other.open)) {
            if chunk.len() >= CHUNK / 2 {
                self.done.push(chunk);
            } else {
                for v in chunk {
                    self.push(v);
                }
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.done.iter().map(Vec::len).sum::<usize>() + self.open.len()
    }

    /// Every chunk, closed ones first.
    pub(super) fn into_chunks(mut self) -> Vec<Vec<T>> {
        self.done.push(self.open);
        self.done.retain(|c| !c.is_empty());
        self.done
    }
}

/// One model's accepted records, tallied.
#[derive(Debug, Default)]
pub(super) struct ModelTally {
    pub requests: u64,
    pub with_status: u64,
    pub errors: u64,
    pub latency: Chunks<f64>,
    pub ts: Chunks<i64>,
    /// Compensated (Neumaier) sum of the scores, its correction, and how many there are.
    pub score_sum: (f64, f64),
    pub scores: u64,
    /// Records per day index from the period's first day.
    pub daily: Vec<u64>,
    pub versions: PlHashMap<Box<str>, u64>,
    /// Scores of the first and of the last PSI window.
    pub psi: [Chunks<f64>; 2],
}

impl ModelTally {
    pub(super) fn add(&mut self, r: &Accepted<'_>, w: &Window) {
        self.requests += 1;
        self.with_status += u64::from(r.has_status);
        self.errors += u64::from(r.is_error);
        if let Some(l) = r.latency {
            self.latency.push(l);
        }
        self.ts.push(r.ts);
        if let Some(s) = r.score {
            add_compensated(&mut self.score_sum, s);
            self.scores += 1;
            if let Some((first, last)) = w.psi {
                if r.ts < first {
                    self.psi[0].push(s);
                } else if r.ts >= last {
                    self.psi[1].push(s);
                }
            }
        }
        // ts is in [start, end): the quotient is the day, and below the period's day count.
        let day = usize::try_from((r.ts - w.start) / NS_PER_DAY).unwrap_or(0);
        if self.daily.len() < w.days.max(day + 1) {
            self.daily.resize(w.days.max(day + 1), 0);
        }
        if let Some(n) = self.daily.get_mut(day) {
            *n += 1;
        }
        if let Some(v) = &r.version {
            match self.versions.get_mut(v.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    self.versions.insert(v.as_ref().into(), 1);
                }
            }
        }
    }

    pub(super) fn merge(&mut self, other: ModelTally) {
        self.requests += other.requests;
        self.with_status += other.with_status;
        self.errors += other.errors;
        self.latency.append(other.latency);
        self.ts.append(other.ts);
        add_compensated(&mut self.score_sum, other.score_sum.0);
        add_compensated(&mut self.score_sum, other.score_sum.1);
        self.scores += other.scores;
        if self.daily.len() < other.daily.len() {
            self.daily.resize(other.daily.len(), 0);
        }
        for (a, b) in self.daily.iter_mut().zip(other.daily) {
            *a += b;
        }
        for (v, n) in other.versions {
            *self.versions.entry(v).or_default() += n;
        }
        let [first, last] = other.psi;
        self.psi[0].append(first);
        self.psi[1].append(last);
    }
}

/// Neumaier's compensated sum: the mean of 100 M scores keeps its last digits.
fn add_compensated((sum, c): &mut (f64, f64), x: f64) {
    let t = *sum + x;
    if sum.abs() >= x.abs() {
        *c += (*sum - t) + x;
    } else {
        *c += (x - t) + *sum;
    }
    *sum = t;
}

/// Per model name, the tallies of every accepted record read so far. Polars' hash map: a
/// faster hash than std's SipHash (two lookups per record), still seeded at random, so names
/// chosen to collide cannot slow the pass.
pub(super) type Tallies = PlHashMap<Box<str>, ModelTally>;

/// Add a record to its model's tally.
pub(super) fn add(tallies: &mut Tallies, r: &Accepted<'_>, w: &Window) {
    match tallies.get_mut(r.model.as_ref()) {
        Some(t) => t.add(r, w),
        None => {
            let mut t = ModelTally::default();
            t.add(r, w);
            tallies.insert(r.model.as_ref().into(), t);
        }
    }
}

/// Merge `other` into `into`.
pub(super) fn merge(into: &mut Tallies, other: Tallies) {
    for (name, t) in other {
        match into.get_mut(&name) {
            Some(mine) => mine.merge(t),
            None => {
                into.insert(name, t);
            }
        }
    }
}

/// Everything the pass gathered: the per-file account's counts and the tallies.
#[derive(Default)]
pub(super) struct Gathered {
    /// (file, code) → (records, first row).
    pub counts: BTreeMap<(u32, u32), (u64, u64)>,
    /// Accepted records per file and model.
    pub models: BTreeMap<u32, BTreeMap<String, u64>>,
    /// Scoped builds: the rows of each file's in-scope accepted records.
    pub rows: BTreeMap<u32, Vec<u64>>,
    /// Lines that are not JSON, 1-based, per file.
    pub bad_lines: BTreeMap<u32, Vec<u64>>,
    pub tallies: Tallies,
}

impl Gathered {
    /// Count `n` records of `code` in `file`, the first at `first_row`.
    pub(super) fn count(&mut self, (file, code): (u32, u32), n: u64, first_row: u64) {
        let entry = self.counts.entry((file, code)).or_insert((0, first_row));
        entry.0 += n;
        entry.1 = entry.1.min(first_row);
    }

    /// A Polars frame's accepted records (`model`, `version`, `ts`, `latency`, `score`,
    /// `has_status`, `is_error`) added to the tallies.
    pub(super) fn add_frame(&mut self, df: &DataFrame, w: &Window) -> PolarsResult<()> {
        let model = df.column("model")?.str()?;
        let version = df.column("version")?.str()?;
        let ts = df.column("ts")?.i64()?;
        let latency = df.column("latency")?.f64()?;
        let score = df.column("score")?.f64()?;
        let has_status = df.column("has_status")?.bool()?;
        let is_error = df.column("is_error")?.bool()?;
        for i in 0..df.height() {
            let (Some(m), Some(t)) = (model.get(i), ts.get(i)) else {
                continue;
            };
            let record = Accepted {
                model: m.into(),
                version: version.get(i).map(Into::into),
                ts: t,
                latency: latency.get(i),
                score: score.get(i),
                has_status: has_status.get(i).unwrap_or(false),
                is_error: is_error.get(i).unwrap_or(false),
            };
            add(&mut self.tallies, &record, w);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_every_value_whoever_merges_them() {
        let mut a = Chunks::default();
        let mut b = Chunks::default();
        (0..10).for_each(|i| a.push(i));
        (10..15).for_each(|i| b.push(i));
        let big = Chunks {
            done: vec![(100..100 + CHUNK as i64).collect()],
            open: vec![7],
        };
        a.append(b);
        a.append(big);
        assert_eq!(a.len(), 15 + CHUNK + 1);
        let mut all: Vec<i64> = a.into_chunks().concat();
        all.sort_unstable();
        let mut want: Vec<i64> = (0..15).chain(100..100 + CHUNK as i64).collect();
        want.push(7);
        want.sort_unstable();
        assert_eq!(all, want);
    }

    #[test]
    fn the_compensated_sum_keeps_what_a_plain_sum_loses() {
        // 1e16 + 1 + 1 − 1e16 = 2 exactly; a plain f64 sum gives 0 (1e16 + 1 rounds to 1e16).
        let xs = [1e16, 1.0, 1.0, -1e16];
        assert_eq!(xs.iter().sum::<f64>(), 0.0);
        let mut s = (0.0, 0.0);
        xs.iter().for_each(|x| add_compensated(&mut s, *x));
        assert_eq!(s.0 + s.1, 2.0);
    }
}
