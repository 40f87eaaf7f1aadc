//! The engine-neutral log summary (issue 20; docs/log-summary.md): everything the KPI document
//! needs of the period's accepted records, per model, in a few numbers — so any engine that can
//! count, sort and take exact quantiles can produce it, and the KPI stage never sees a record.
//! In: the log pass's per-model tallies (`tally`: counts, and each accepted record's latency,
//! time and PSI-window score). Out: a `ModelSummary` per model name.
//! Guarantees: quantiles are exact with linear interpolation between closest ranks (numpy's
//! default); a figure whose inputs are empty is `None`, never 0; every count is exact.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::tally::{Chunks, ModelTally, Tallies};
use crate::config::Period;

/// SPEC §4: PSI compares the first and the last 30 days' scores.
pub const PSI_WINDOW_DAYS: i64 = 30;
/// A period shorter than this has no PSI windows at all.
pub const PSI_MIN_PERIOD_DAYS: i64 = 60;
/// The number of PSI bins: cut at the nine deciles of the first window's scores.
pub const PSI_BINS: usize = 10;

/// One model's accepted records of the period, summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Accepted records.
    pub requests: u64,
    /// Records with a status value, and those whose status is not a success value.
    pub with_status: u64,
    pub errors: u64,
    /// Exact latency quantiles (ms) over the records with a latency, linear interpolation.
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// The mean score over the records with a score.
    pub score_mean: Option<f64>,
    /// The first and last record's time, ns since the Unix epoch, UTC.
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    /// The longest time between two consecutive records (ns); `None` for one record or none.
    pub longest_inner_gap_ns: Option<i64>,
    /// Records per day, by day index from the period's first day (0-based, UTC days).
    pub daily: BTreeMap<i64, u64>,
    /// Records per version value (records without a version are not counted here).
    pub versions: BTreeMap<String, u64>,
    /// The PSI windows' score counts per bin; `None` when the period is under 60 days or the
    /// first window has no score.
    pub psi_bins: Option<PsiBins>,
}

/// Scores of the first 30 days (`[start, start + 30 d)`) and of the last 30 days
/// (`[end − 30 d, end)`) counted in 10 bins: the edges are the first window's deciles (linear),
/// and a score `x` falls in bin `#{edges < x}` (intervals closed on the right, as `pandas.cut`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiBins {
    pub first: [u64; PSI_BINS],
    pub last: [u64; PSI_BINS],
}

/// The embedded producer: every model's summary from the pass's tallies. Polars takes the exact
/// quantiles and sorts the times; each model's values are dropped once summarised.
pub(super) fn summarise(
    tallies: Tallies,
    period: Period,
) -> PolarsResult<BTreeMap<String, ModelSummary>> {
    let mut out = BTreeMap::new();
    for (name, t) in tallies {
        out.insert(name.into_string(), summarise_one(t, period)?);
    }
    Ok(out)
}

fn summarise_one(t: ModelTally, period: Period) -> PolarsResult<ModelSummary> {
    let [p50, p95, p99] = match quantiles(t.latency, &[0.50, 0.95, 0.99])?.as_slice() {
        [a, b, c] => [*a, *b, *c],
        _ => [None; 3],
    };
    let (first_ts, last_ts, longest_inner_gap_ns) = times(t.ts)?;
    let psi_bins = psi_bins(t.psi, period)?;
    Ok(ModelSummary {
        requests: t.requests,
        with_status: t.with_status,
        errors: t.errors,
        latency_p50_ms: p50,
        latency_p95_ms: p95,
        latency_p99_ms: p99,
        score_mean: (t.scores > 0).then(|| (t.score_sum.0 + t.score_sum.1) / t.scores as f64),
        first_ts,
        last_ts,
        longest_inner_gap_ns,
        daily: t
            .daily
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(d, n)| (d as i64, *n))
            .collect(),
        versions: t
            .versions
            .into_iter()
            .map(|(v, n)| (v.into_string(), n))
            .collect(),
        psi_bins,
    })
}

/// Exact quantiles with linear interpolation (Polars' `Linear`, numpy's default); `None`s when
/// there are no values.
fn quantiles(values: Chunks<f64>, qs: &[f64]) -> PolarsResult<Vec<Option<f64>>> {
    let ca = float_array(values)?;
    if ca.is_empty() {
        return Ok(vec![None; qs.len()]);
    }
    ca.quantiles(qs, QuantileMethod::Linear)
}

/// The chunks as one Polars array, without copying them.
fn float_array(values: Chunks<f64>) -> PolarsResult<Float64Chunked> {
    let mut chunks = values.into_chunks().into_iter();
    let mut ca = Float64Chunked::from_vec("v".into(), chunks.next().unwrap_or_default());
    for c in chunks {
        ca.append_owned(Float64Chunked::from_vec("v".into(), c))?;
    }
    Ok(ca)
}

/// The first and last time and the longest gap between consecutive times, from the times
/// sorted by Polars (the unsorted ones are dropped first, so only one copy is ever held).
fn times(ts: Chunks<i64>) -> PolarsResult<(Option<i64>, Option<i64>, Option<i64>)> {
    let mut chunks = ts.into_chunks().into_iter();
    let mut ca = Int64Chunked::from_vec("ts".into(), chunks.next().unwrap_or_default());
    for c in chunks {
        ca.append_owned(Int64Chunked::from_vec("ts".into(), c))?;
    }
    let sorted = ca.sort(false);
    drop(ca);
    let mut previous: Option<i64> = None;
    let mut gap: Option<i64> = None;
    for t in sorted.into_no_null_iter() {
        if let Some(p) = previous {
            gap = Some(gap.map_or(t - p, |g| g.max(t - p)));
        }
        previous = Some(t);
    }
    Ok((sorted.first(), sorted.last(), gap))
}

/// The PSI windows' bin counts (see `PsiBins`): edges at the first window's deciles.
fn psi_bins(psi: [Chunks<f64>; 2], period: Period) -> PolarsResult<Option<PsiBins>> {
    let [first, last] = psi;
    if period.days() < PSI_MIN_PERIOD_DAYS || first.len() == 0 {
        return Ok(None);
    }
    let first = float_array(first)?;
    let qs: Vec<f64> = (1..=9).map(|i| i as f64 / 10.0).collect();
    let edges: Vec<f64> = first
        .quantiles(&qs, QuantileMethod::Linear)?
        .into_iter()
        .flatten()
        .collect();
    let bin = |x: f64| (edges.iter().filter(|e| **e < x).count()).min(PSI_BINS - 1);
    let mut bins = PsiBins::default();
    for x in first.into_no_null_iter() {
        if let Some(slot) = bins.first.get_mut(bin(x)) {
            *slot += 1;
        }
    }
    for chunk in last.into_chunks() {
        for x in chunk {
            if let Some(slot) = bins.last.get_mut(bin(x)) {
                *slot += 1;
            }
        }
    }
    Ok(Some(bins))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// 2026-07-01T00:00:00Z in ns (date -u -d 2026-07-01 +%s → 1782864000).
    const JULY_1: i64 = 1_782_864_000 * 1_000_000_000;
    const HOUR: i64 = 3_600 * 1_000_000_000;

    #[test]
    fn a_small_table_summarises_to_figures_worked_by_hand() {
        let period = Period {
            start: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 7, 31).unwrap(),
        };
        let records = df!(
            "model" => ["a", "a", "a", "a", "b"],
            "version" => [Some("1"), Some("1"), Some("2"), None, Some("1")],
            "ts" => [JULY_1, JULY_1 + HOUR, JULY_1 + 30 * HOUR, JULY_1 + 31 * HOUR, JULY_1],
            "latency" => [Some(10.0), Some(20.0), Some(30.0), Some(40.0), None],
            "score" => [Some(0.5), None, Some(1.0), None, None],
            "has_status" => [true, true, true, false, false],
            "is_error" => [false, true, false, false, false],
        )
        .unwrap();
        let mut gathered = super::super::tally::Gathered::default();
        gathered
            .add_frame(&records, &super::super::tally::Window::of(period))
            .unwrap();
        let s = summarise(gathered.tallies, period).unwrap();
        let a = &s["a"];
        assert_eq!((a.requests, a.with_status, a.errors), (4, 3, 1));
        // numpy.quantile([10, 20, 30, 40], q), linear: 25, 30 + 0.85·10, 30 + 0.97·10.
        assert_eq!(a.latency_p50_ms, Some(25.0));
        assert!((a.latency_p95_ms.unwrap() - 38.5).abs() < 1e-12);
        assert!((a.latency_p99_ms.unwrap() - 39.7).abs() < 1e-12);
        assert_eq!(a.score_mean, Some(0.75));
        assert_eq!(
            (a.first_ts, a.last_ts),
            (Some(JULY_1), Some(JULY_1 + 31 * HOUR))
        );
        assert_eq!(a.longest_inner_gap_ns, Some(29 * HOUR));
        assert_eq!(a.daily, BTreeMap::from([(0, 2), (1, 2)]));
        assert_eq!(
            a.versions,
            BTreeMap::from([("1".to_string(), 2), ("2".to_string(), 1)])
        );
        assert_eq!(a.psi_bins, None, "a 31-day period has no PSI windows");
        let b = &s["b"];
        assert_eq!(
            (b.requests, b.latency_p50_ms, b.longest_inner_gap_ns),
            (1, None, None)
        );
    }

    #[test]
    fn the_summary_is_plain_json_another_engine_can_write() {
        let summary = ModelSummary {
            requests: 3,
            daily: BTreeMap::from([(0, 1), (2, 2)]),
            versions: BTreeMap::from([("7".to_string(), 3)]),
            psi_bins: Some(PsiBins {
                first: [1; PSI_BINS],
                last: [2; PSI_BINS],
            }),
            latency_p50_ms: Some(12.5),
            ..Default::default()
        };
        let text = serde_json::to_string(&summary).unwrap();
        assert!(text.contains(r#""daily":{"0":1,"2":2}"#), "{text}");
        let back: ModelSummary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, summary);
    }
}
