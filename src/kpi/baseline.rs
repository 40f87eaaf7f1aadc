//! The monitoring baseline of SPEC §4 in both directions. `snapshot` takes the KPI document's
//! figures as they are now — per production model `requests_per_day`, `error_rate`,
//! `latency_p99_ms`, `score_mean`, `score_psi` (null without log sources), and every portfolio KPI —
//! for `data/baseline/baseline.json`. `read` loads an earlier one: a `baseline.json`, or a whole
//! `dossier kpis --format json` document (whose `baseline` key is that snapshot). `trend` gives each
//! portfolio KPI's change since then.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::KpiTable;
use super::inventory::ModelKpis;
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::vocab::{Kpi, layout};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub as_of: String,
    pub period: BTreeMap<String, String>,
    #[serde(serialize_with = "kpi_figures")]
    pub portfolio: BTreeMap<String, Option<f64>>,
    #[serde(serialize_with = "kpi_figures")]
    pub portfolio_high: BTreeMap<String, Option<f64>>,
    pub models: BTreeMap<String, ModelBaseline>,
}

/// Portfolio figures by KPI name, a count's as an integer.
fn kpi_figures<S: serde::Serializer>(
    figures: &BTreeMap<String, Option<f64>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(figures.len()))?;
    for (name, value) in figures {
        let value = value.map(|v| match Kpi::from_name(name) {
            Some(kpi) => kpi.json_number(v),
            None => serde_json::Value::from(v),
        });
        map.serialize_entry(name, &value)?;
    }
    map.end()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ModelBaseline {
    pub requests_per_day: Option<f64>,
    pub error_rate: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub score_mean: Option<f64>,
    pub score_psi: Option<f64>,
    /// The update cadence (issue 23); absent from baselines written before it.
    #[serde(default)]
    pub versions_in_period: Option<u64>,
    #[serde(default)]
    pub production_version_age_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trend {
    /// The file the earlier baseline came from.
    pub source: String,
    pub previous_as_of: String,
    pub kpis: Vec<KpiChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KpiChange {
    pub kpi: Kpi,
    pub previous: Option<f64>,
    pub current: Option<f64>,
    /// current − previous; null when either is n/a.
    pub change: Option<f64>,
}

impl Serialize for KpiChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let number = |v: Option<f64>| v.map(|x| self.kpi.json_number(x));
        let mut out = s.serialize_struct("KpiChange", 4)?;
        out.serialize_field("kpi", &self.kpi)?;
        out.serialize_field("previous", &number(self.previous))?;
        out.serialize_field("current", &number(self.current))?;
        out.serialize_field("change", &number(self.change))?;
        out.end()
    }
}

pub fn snapshot(
    as_of: &str,
    period: (&str, &str),
    days: i64,
    portfolio: &KpiTable,
    portfolio_high: &KpiTable,
    models: &[ModelKpis],
) -> Baseline {
    let values = |t: &KpiTable| {
        t.0.iter()
            .map(|(k, v)| (k.name().to_string(), v.value))
            .collect()
    };
    Baseline {
        as_of: as_of.to_string(),
        period: BTreeMap::from([
            ("start".into(), period.0.into()),
            ("end".into(), period.1.into()),
        ]),
        portfolio: values(portfolio),
        portfolio_high: values(portfolio_high),
        models: models
            .iter()
            .filter(|m| m.in_production)
            .map(|m| {
                let figures = ModelBaseline {
                    requests_per_day: m.requests.map(|r| r as f64 / days.max(1) as f64),
                    error_rate: m.error_rate,
                    latency_p99_ms: m.latency_p99_ms,
                    score_mean: m.score_mean,
                    score_psi: m.score_psi,
                    versions_in_period: m.versions_in_period,
                    production_version_age_days: m.production_version_age_days,
                };
                (m.name.clone(), figures)
            })
            .collect(),
    }
}

pub fn read(path: &Path) -> Result<Baseline> {
    let fail = |message: String| Error::Baseline {
        path: path.to_path_buf(),
        message,
    };
    let text = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        crate::error::contain(path, "reading the baseline bundle", || from_bundle(path))?
    } else {
        crate::fsio::read_small_text(path, "baseline")?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("not JSON: {e}")))?;
    // A whole KPI document carries its snapshot under `baseline`.
    let snapshot = value.get("baseline").cloned().unwrap_or(value);
    serde_json::from_value(snapshot).map_err(|e| fail(format!("not a dossier baseline: {e}")))
}

/// Bundles hold `<root>/data/baseline/baseline.json`; its SHA-256 must be the one the bundle's
/// manifest lists, so a trend is never drawn against an altered baseline. (The signature is
/// `dossier verify`'s business: it needs the signer's key.)
fn from_bundle(path: &Path) -> Result<String> {
    use std::io::Read;
    const LIMIT: u64 = 16 << 20;
    let fail = |message: String| Error::Baseline {
        path: path.to_path_buf(),
        message,
    };
    let (file, _) = crate::fsio::open_regular(path, "baseline", None)?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| fail(format!("not a readable zip: {e}")))?;
    let name = zip
        .file_names()
        .find(|n| {
            n.split_once('/')
                .is_some_and(|(root, rest)| !root.is_empty() && rest == layout::BASELINE_JSON)
        })
        .map(String::from)
        .ok_or_else(|| fail(format!("no <bundle>/{} in the zip", layout::BASELINE_JSON)))?;
    let root = name.split('/').next().unwrap_or_default().to_string();
    let mut read = |entry: &str| -> Result<Vec<u8>> {
        let f = zip
            .by_name(entry)
            .map_err(|e| fail(format!("cannot read {entry}: {e}")))?;
        let mut bytes = Vec::new();
        f.take(LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("cannot read {entry}: {e}")))?;
        if bytes.len() as u64 > LIMIT {
            return Err(fail(format!("{entry} is larger than 16 MiB")));
        }
        Ok(bytes)
    };
    let baseline = read(&name)?;
    let manifest = String::from_utf8(read(&format!("{root}/{}", layout::MANIFEST))?)
        .map_err(|_| fail("the manifest is not UTF-8".into()))?;
    let listed = layout::parse_manifest(&manifest)
        .into_iter()
        .flatten()
        .find(|(_, _, p)| *p == layout::BASELINE_JSON)
        .map(|(_, h, _)| h.to_ascii_lowercase())
        .ok_or_else(|| {
            fail(format!(
                "the manifest does not list {}",
                layout::BASELINE_JSON
            ))
        })?;
    if sha256_hex(&baseline) != listed {
        return Err(fail(format!(
            "{} does not match the bundle's manifest (altered?); run `dossier verify` on it",
            layout::BASELINE_JSON
        )));
    }
    String::from_utf8(baseline).map_err(|_| fail("baseline.json is not UTF-8".into()))
}

pub fn trend(current: &KpiTable, previous: &Baseline, source: &Path) -> Trend {
    let kpis = current
        .0
        .iter()
        .map(|(kpi, k)| {
            let before = previous.portfolio.get(kpi.name()).copied().flatten();
            KpiChange {
                kpi: *kpi,
                previous: before,
                current: k.value,
                change: k.value.zip(before).map(|(now, then)| now - then),
            }
        })
        .collect();
    Trend {
        source: source.display().to_string(),
        previous_as_of: previous.as_of.clone(),
        kpis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::ratio;

    #[test]
    fn round_trip_and_change() {
        let then = KpiTable(vec![
            (Kpi::AuditCoverage, ratio(1, 4, Some(1.0))),
            (Kpi::ApprovalCoverage, ratio(0, 0, None)),
        ]);
        let now = KpiTable(vec![
            (Kpi::AuditCoverage, ratio(3, 4, Some(1.0))),
            (Kpi::ApprovalCoverage, ratio(1, 2, None)),
        ]);
        let base = snapshot(
            "2026-07-01",
            ("2026-04-01", "2026-06-30"),
            91,
            &then,
            &then,
            &[],
        );
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("baseline.json");
        std::fs::write(&file, serde_json::to_string(&base).unwrap()).unwrap();
        let back = read(&file).unwrap();
        assert_eq!(back, base);
        let t = trend(&now, &back, &file);
        assert_eq!(t.previous_as_of, "2026-07-01");
        // 0.75 − 0.25 = +0.5; the earlier n/a gives no change, not a change from 0.
        assert_eq!(t.kpis[0].change, Some(0.5));
        assert_eq!((t.kpis[1].previous, t.kpis[1].change), (None, None));
        std::fs::write(&file, "{\"portfolio\": 3}").unwrap();
        assert!(
            read(&file)
                .unwrap_err()
                .to_string()
                .contains("not a dossier baseline")
        );
    }
}
