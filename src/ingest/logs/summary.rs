//! The engine-neutral log summary (issue 20; docs/log-summary.md): everything the KPI document
//! needs of the period's accepted records, per model, in a few numbers — so any engine that can
//! count, sort and take exact quantiles can produce it, and the KPI stage never sees a record.
//! In: the accepted records as the embedded Polars pass leaves them (`model`, `version`, `ts` ns
//! UTC, `latency`, `score`, `has_status`, `is_error`). Out: a `ModelSummary` per model name.
//! Guarantees: quantiles are exact with linear interpolation between closest ranks (numpy's
//! default); a figure whose inputs are empty is `None`, never 0; every count is exact.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{NS_PER_DAY, period_bounds_ns};
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

/// The embedded producer: every model's summary from the accepted records, with Polars.
pub fn summarise(
    records: &DataFrame,
    period: Period,
) -> PolarsResult<BTreeMap<String, ModelSummary>> {
    let (start, _) = period_bounds_ns(period);
    let lf = records
        .clone()
        .lazy()
        // ts ≥ start, so truncating the quotient is flooring it; below 2^53 ns (104 days) the
        // f64 quotient is exact enough for any period of up to a few years.
        .with_column(
            ((col("ts") - lit(start)) / lit(NS_PER_DAY))
                .cast(DataType::Int64)
                .alias("day"),
        );
    let mut out = per_model(lf.clone())?;
    let daily = lf
        .clone()
        .group_by([col("model"), col("day")])
        .agg([len().cast(DataType::UInt64).alias("n")]);
    for (name, key, n) in triples(&stream(daily)?, "day")? {
        if let (Some(fig), Ok(day)) = (out.get_mut(&name), key.parse::<i64>()) {
            fig.daily.insert(day, n);
        }
    }
    let versions = lf
        .clone()
        .filter(col("version").is_not_null())
        .group_by([col("model"), col("version")])
        .agg([len().cast(DataType::UInt64).alias("n")]);
    for (name, version, n) in triples(&stream(versions)?, "version")? {
        if let Some(fig) = out.get_mut(&name) {
            fig.versions.insert(version, n);
        }
    }
    for (name, bins) in psi_bins(lf, period)? {
        if let Some(fig) = out.get_mut(&name) {
            fig.psi_bins = Some(bins);
        }
    }
    Ok(out)
}

/// The per-model counts, quantiles, mean, first and last time and longest inner gap.
fn per_model(lf: LazyFrame) -> PolarsResult<BTreeMap<String, ModelSummary>> {
    let sorted_ts = col("ts").sort(SortOptions::default());
    let per_model = lf.group_by([col("model")]).agg([
        len().cast(DataType::UInt64).alias("requests"),
        col("has_status")
            .sum()
            .cast(DataType::UInt64)
            .alias("with_status"),
        col("is_error").sum().cast(DataType::UInt64).alias("errors"),
        quantile("latency", 0.50).alias("p50"),
        quantile("latency", 0.95).alias("p95"),
        quantile("latency", 0.99).alias("p99"),
        col("score").mean().alias("score_mean"),
        col("ts").min().alias("first_ts"),
        col("ts").max().alias("last_ts"),
        (sorted_ts.clone() - sorted_ts.shift(lit(1)))
            .max()
            .alias("max_inner_gap"),
    ]);
    let per_model = stream(per_model)?;
    let model = per_model.column("model")?.str()?.clone();
    let u =
        |name: &str| -> PolarsResult<UInt64Chunked> { Ok(per_model.column(name)?.u64()?.clone()) };
    let typed = |name: &str, dtype: &DataType| per_model.column(name)?.cast(dtype);
    let f = |name: &str| -> PolarsResult<Float64Chunked> {
        Ok(typed(name, &DataType::Float64)?.f64()?.clone())
    };
    let i = |name: &str| -> PolarsResult<Int64Chunked> {
        Ok(typed(name, &DataType::Int64)?.i64()?.clone())
    };
    let (requests, with_status, errors) = (u("requests")?, u("with_status")?, u("errors")?);
    let (p50, p95, p99, mean) = (f("p50")?, f("p95")?, f("p99")?, f("score_mean")?);
    let (first, last, gap) = (i("first_ts")?, i("last_ts")?, i("max_inner_gap")?);
    let mut out = BTreeMap::new();
    for row in 0..per_model.height() {
        let Some(name) = model.get(row) else { continue };
        out.insert(
            name.to_string(),
            ModelSummary {
                requests: requests.get(row).unwrap_or(0),
                with_status: with_status.get(row).unwrap_or(0),
                errors: errors.get(row).unwrap_or(0),
                latency_p50_ms: p50.get(row),
                latency_p95_ms: p95.get(row),
                latency_p99_ms: p99.get(row),
                score_mean: mean.get(row),
                first_ts: first.get(row),
                last_ts: last.get(row),
                longest_inner_gap_ns: gap.get(row),
                ..Default::default()
            },
        );
    }
    Ok(out)
}

/// Collect with the streaming engine, which frees each morsel of input as it goes.
fn stream(lf: LazyFrame) -> PolarsResult<DataFrame> {
    let mut out = LazyFrame::collect_all_with_engine(
        vec![lf.logical_plan],
        Engine::Streaming,
        OptFlags::default(),
    )?;
    out.pop()
        .ok_or_else(|| polars_err!(ComputeError: "the streaming engine returned no result"))
}

fn quantile(column: &str, q: f64) -> Expr {
    col(column).quantile(lit(q), QuantileMethod::Linear)
}

/// `(model, key as text, n)` rows of a grouped count.
fn triples(df: &DataFrame, key: &str) -> PolarsResult<Vec<(String, String, u64)>> {
    let model = df.column("model")?.str()?.clone();
    let keys = df.column(key)?.cast(&DataType::String)?;
    let keys = keys.str()?.clone();
    let n = df.column("n")?.u64()?.clone();
    Ok((0..df.height())
        .filter_map(|i| {
            Some((
                model.get(i)?.to_string(),
                keys.get(i)?.to_string(),
                n.get(i)?,
            ))
        })
        .collect())
}

/// The PSI windows' bin counts per model (see `PsiBins`).
fn psi_bins(lf: LazyFrame, period: Period) -> PolarsResult<BTreeMap<String, PsiBins>> {
    if period.days() < PSI_MIN_PERIOD_DAYS {
        return Ok(BTreeMap::new());
    }
    let (start, end) = period_bounds_ns(period);
    let window = PSI_WINDOW_DAYS * NS_PER_DAY;
    let scored = lf
        .filter(col("score").is_not_null())
        .with_column(
            when(col("ts").lt(lit(start + window)))
                .then(lit(0u32))
                .when(col("ts").gt_eq(lit(end - window)))
                .then(lit(1u32))
                .otherwise(lit(NULL))
                .cast(DataType::UInt32)
                .alias("window"),
        )
        .filter(col("window").is_not_null());
    let deciles: Vec<Expr> = (1..=9)
        .map(|i| quantile("score", i as f64 / 10.0).alias(format!("q{i}")))
        .collect();
    let edges = scored
        .clone()
        .filter(col("window").eq(lit(0u32)))
        .group_by([col("model")])
        .agg(deciles);
    let bin = (1..=9)
        .map(|i| col("score").gt(col(format!("q{i}"))).cast(DataType::UInt32))
        .reduce(|a, b| a + b)
        .unwrap_or(lit(0u32));
    let counts = scored
        .join(
            edges,
            [col("model")],
            [col("model")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_column(bin.cast(DataType::UInt32).alias("bin"))
        .group_by([col("model"), col("window"), col("bin")])
        .agg([len().cast(DataType::UInt64).alias("n")]);
    let counts = stream(counts)?;
    let model = counts.column("model")?.str()?.clone();
    let win = counts.column("window")?.u32()?.clone();
    let bins = counts.column("bin")?.u32()?.clone();
    let n = counts.column("n")?.u64()?.clone();
    let mut out: BTreeMap<String, PsiBins> = BTreeMap::new();
    for i in 0..counts.height() {
        if let (Some(m), Some(w), Some(b), Some(n)) =
            (model.get(i), win.get(i), bins.get(i), n.get(i))
        {
            let entry = out.entry(m.to_string()).or_default();
            let side = if w == 0 {
                &mut entry.first
            } else {
                &mut entry.last
            };
            if let Some(slot) = side.get_mut((b as usize).min(PSI_BINS - 1)) {
                *slot += n;
            }
        }
    }
    Ok(out)
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
        let s = summarise(&records, period).unwrap();
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
