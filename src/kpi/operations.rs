//! The period's accepted log records in (a Polars table from `ingest::logs`), the operational
//! figures of SPEC §4 out: per production model `requests`, `error_rate`, latency quantiles
//! (linear interpolation between closest ranks, as numpy's default), `logging_coverage`,
//! `longest_gap_hours`, `unregistered_versions` and `score_psi`, plus the daily request counts
//! the report charts, and the records of models nobody registered. Every figure is a Polars
//! aggregation; a figure whose inputs are empty is `None` (n/a), never 0.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::Serialize;

use super::ModelKpis;
use crate::config::Period;
use crate::error::{Error, Result};
use crate::ingest::logs::{LogData, NS_PER_DAY, period_bounds_ns};

const NS_PER_HOUR: f64 = 3.6e12;
/// SPEC §4: PSI compares the first and the last 30 days, each with at least 100 scores.
const PSI_WINDOW_DAYS: i64 = 30;
const PSI_MIN_PERIOD_DAYS: i64 = 60;
const PSI_MIN_SCORES: u64 = 100;
const PSI_FLOOR: f64 = 1e-4;

/// Records of a model name that no store registers: a finding of its own.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnknownModel {
    pub model: String,
    pub records: u64,
}

/// What `apply` fills into each production model.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    requests: u64,
    with_status: u64,
    errors: u64,
    p50: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    score_mean: Option<f64>,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    max_inner_gap: Option<i64>,
    daily: BTreeMap<i64, u64>,
    versions: BTreeMap<String, u64>,
    psi: Option<f64>,
}

/// Fill the operational fields of the production models; return the unregistered models seen.
/// `registered` maps every registered model (in production or not) to its versions.
pub fn apply(
    logs: &LogData,
    period: Period,
    models: &mut [ModelKpis],
    registered: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<UnknownModel>> {
    if !logs.configured {
        return Ok(Vec::new());
    }
    let figures = compute(&logs.records, period).map_err(|e| Error::Logs {
        path: "sources.logs".into(),
        line: None,
        message: format!("computing the operational KPIs: {e}"),
    })?;
    let (start, end) = period_bounds_ns(period);
    let days = period.days().max(1) as usize;
    for m in models.iter_mut().filter(|m| m.in_production) {
        let f = figures.get(&m.name).cloned().unwrap_or_default();
        fill(m, &f, start, end, days, registered);
    }
    Ok(figures
        .iter()
        .filter(|(name, _)| !registered.contains_key(*name))
        .map(|(name, f)| UnknownModel {
            model: name.clone(),
            records: f.requests,
        })
        .collect())
}

fn fill(
    m: &mut ModelKpis,
    f: &Figures,
    start: i64,
    end: i64,
    days: usize,
    registered: &BTreeMap<String, Vec<String>>,
) {
    m.requests = Some(f.requests);
    m.records_with_status = Some(f.with_status);
    m.errors = Some(f.errors);
    m.error_rate = (f.with_status > 0).then(|| f.errors as f64 / f.with_status as f64);
    m.latency_p50_ms = f.p50;
    m.latency_p95_ms = f.p95;
    m.latency_p99_ms = f.p99;
    m.score_mean = f.score_mean;
    m.score_psi = f.psi;
    m.days_with_records = Some(f.daily.len() as u64);
    m.logging_coverage = Some(f.daily.len() as f64 / days as f64);
    let gap = match (f.first_ts, f.last_ts) {
        (Some(first), Some(last)) => (first - start)
            .max(end - last)
            .max(f.max_inner_gap.unwrap_or(0)),
        _ => end - start,
    };
    m.longest_gap_hours = Some(gap as f64 / NS_PER_HOUR);
    m.daily_requests = (0..days as i64)
        .map(|d| f.daily.get(&d).copied().unwrap_or(0))
        .collect();
    let known = registered.get(&m.name);
    m.unregistered_versions = f
        .versions
        .keys()
        .filter(|v| known.is_none_or(|k| !k.contains(v)))
        .cloned()
        .collect();
    m.versions_in_logs = f.versions.clone();
}

/// Every figure per model name found in the records.
fn compute(records: &DataFrame, period: Period) -> PolarsResult<BTreeMap<String, Figures>> {
    let (start, end) = period_bounds_ns(period);
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
    let sorted_ts = col("ts").sort(SortOptions::default());
    let per_model = lf.clone().group_by([col("model")]).agg([
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
    let daily = lf
        .clone()
        .group_by([col("model"), col("day")])
        .agg([len().cast(DataType::UInt64).alias("n")]);
    let daily = stream(daily)?;
    let versions = lf
        .clone()
        .filter(col("version").is_not_null())
        .group_by([col("model"), col("version")])
        .agg([len().cast(DataType::UInt64).alias("n")]);
    let versions = stream(versions)?;

    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    let model = per_model.column("model")?.str()?.clone();
    let u =
        |name: &str| -> PolarsResult<UInt64Chunked> { Ok(per_model.column(name)?.u64()?.clone()) };
    let f = |name: &str| -> PolarsResult<Float64Chunked> {
        Ok(per_model
            .column(name)?
            .cast(&DataType::Float64)?
            .f64()?
            .clone())
    };
    let i = |name: &str| -> PolarsResult<Int64Chunked> {
        Ok(per_model
            .column(name)?
            .cast(&DataType::Int64)?
            .i64()?
            .clone())
    };
    let (requests, with_status, errors) = (u("requests")?, u("with_status")?, u("errors")?);
    let (p50, p95, p99, mean) = (f("p50")?, f("p95")?, f("p99")?, f("score_mean")?);
    let (first, last, gap) = (i("first_ts")?, i("last_ts")?, i("max_inner_gap")?);
    for row in 0..per_model.height() {
        let Some(name) = model.get(row) else { continue };
        out.insert(
            name.to_string(),
            Figures {
                requests: requests.get(row).unwrap_or(0),
                with_status: with_status.get(row).unwrap_or(0),
                errors: errors.get(row).unwrap_or(0),
                p50: p50.get(row),
                p95: p95.get(row),
                p99: p99.get(row),
                score_mean: mean.get(row),
                first_ts: first.get(row),
                last_ts: last.get(row),
                max_inner_gap: gap.get(row),
                ..Default::default()
            },
        );
    }
    for (name, key, n) in triples(&daily, "day")? {
        if let (Some(fig), Ok(day)) = (out.get_mut(&name), key.parse::<i64>()) {
            fig.daily.insert(day, n);
        }
    }
    for (name, version, n) in triples(&versions, "version")? {
        if let Some(fig) = out.get_mut(&name) {
            fig.versions.insert(version, n);
        }
    }
    for (name, psi) in psi(lf, period, start, end)? {
        if let Some(fig) = out.get_mut(&name) {
            fig.psi = Some(psi);
        }
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

/// SPEC §4 `score_psi` per model: 10 bins at the deciles (linear) of the first 30 days' scores,
/// a score `x` falling in bin `#{edges < x}` (intervals closed on the right, as `pandas.cut`);
/// shares floored at 1e-4; PSI = Σ (last − first) · ln(last / first).
fn psi(lf: LazyFrame, period: Period, start: i64, end: i64) -> PolarsResult<Vec<(String, f64)>> {
    if period.days() < PSI_MIN_PERIOD_DAYS {
        return Ok(Vec::new());
    }
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
    let mut hist: BTreeMap<String, [[u64; 10]; 2]> = BTreeMap::new();
    for i in 0..counts.height() {
        if let (Some(m), Some(w), Some(b), Some(n)) =
            (model.get(i), win.get(i), bins.get(i), n.get(i))
        {
            hist.entry(m.to_string()).or_default()[w as usize][(b as usize).min(9)] += n;
        }
    }
    Ok(hist
        .into_iter()
        .filter_map(|(m, [first, last])| psi_of(&first, &last).map(|p| (m, p)))
        .collect())
}

/// PSI from the two windows' bin counts; `None` when a window has fewer than 100 scores.
fn psi_of(first: &[u64; 10], last: &[u64; 10]) -> Option<f64> {
    let (n_first, n_last) = (first.iter().sum::<u64>(), last.iter().sum::<u64>());
    if n_first < PSI_MIN_SCORES || n_last < PSI_MIN_SCORES {
        return None;
    }
    let share = |c: u64, n: u64| (c as f64 / n as f64).max(PSI_FLOOR);
    Some(
        first
            .iter()
            .zip(last)
            .map(|(&e, &a)| {
                let (e, a) = (share(e, n_first), share(a, n_last));
                (a - e) * (a / e).ln()
            })
            .sum(),
    )
}

/// Every registered model name with its versions, for telling unknown models and versions.
pub fn registered_versions(
    stores: &[crate::ingest::mlflow::Store],
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for store in stores {
        for model in &store.models {
            out.entry(model.name.clone())
                .or_default()
                .extend(model.versions.iter().map(|v| v.version.clone()));
        }
    }
    out.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}
