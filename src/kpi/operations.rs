//! The engine-neutral log summary in (`ingest::logs::summary`, one `ModelSummary` per model
//! name, whichever engine produced it), the operational figures of SPEC §4 out: per production
//! model `requests`, `error_rate`, latency quantiles, `logging_coverage`, `longest_gap_hours`,
//! `unregistered_versions` and `score_psi`, plus the daily request counts the report charts, and
//! the records of models nobody registered. A figure whose inputs are empty is `None` (n/a),
//! never 0.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::ModelKpis;
use crate::config::Period;
use crate::error::Result;
use crate::ingest::logs::{LogData, ModelSummary, PsiBins, period_bounds_ns};

const NS_PER_HOUR: f64 = 3.6e12;
/// SPEC §4: PSI needs at least 100 scores in each window.
const PSI_MIN_SCORES: u64 = 100;
const PSI_FLOOR: f64 = 1e-4;

/// Records of a model name that no store registers: a finding of its own.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnknownModel {
    pub model: String,
    pub records: u64,
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
    let figures = &logs.models;
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
    f: &ModelSummary,
    start: i64,
    end: i64,
    days: usize,
    registered: &BTreeMap<String, Vec<String>>,
) {
    m.requests = Some(f.requests);
    m.records_with_status = Some(f.with_status);
    m.errors = Some(f.errors);
    m.error_rate = (f.with_status > 0).then(|| f.errors as f64 / f.with_status as f64);
    m.latency_p50_ms = f.latency_p50_ms;
    m.latency_p95_ms = f.latency_p95_ms;
    m.latency_p99_ms = f.latency_p99_ms;
    m.score_mean = f.score_mean;
    m.score_psi = f.psi_bins.as_ref().and_then(psi_of);
    m.days_with_records = Some(f.daily.len() as u64);
    m.logging_coverage = Some(f.daily.len() as f64 / days as f64);
    let gap = match (f.first_ts, f.last_ts) {
        (Some(first), Some(last)) => (first - start)
            .max(end - last)
            .max(f.longest_inner_gap_ns.unwrap_or(0)),
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

/// SPEC §4 `score_psi` from the two windows' bin counts: shares floored at 1e-4;
/// PSI = Σ (last − first) · ln(last / first); `None` when a window has fewer than 100 scores.
fn psi_of(bins: &PsiBins) -> Option<f64> {
    let (first, last) = (&bins.first, &bins.last);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_follows_spec_from_the_bins_and_needs_100_scores_a_window() {
        // First window even; the last piles into the outer bins, the empty ones floored at 1e-4.
        // By hand (python3): Σ (l − f)·ln(l / f) over f = 0.1 × 10, l = 0.2, 1e-4 × 8, 0.8.
        let bins = PsiBins {
            first: [10; 10],
            last: [20, 0, 0, 0, 0, 0, 0, 0, 0, 80],
        };
        let psi = psi_of(&bins).unwrap();
        assert!((psi - 7.045601816194405).abs() < 1e-12, "{psi}");
        let same = PsiBins {
            first: [10; 10],
            last: [10; 10],
        };
        assert_eq!(psi_of(&same), Some(0.0));
        let thin = PsiBins {
            first: [9; 10],
            last: [10; 10],
        };
        assert_eq!(psi_of(&thin), None, "90 scores in the first window");
    }
}
