//! `policy.thresholds` resolved: the operational limits whose breach is a finding. In: the raw
//! section — `score_psi` (default 0.25, the usual "significant shift"), optional `error_rate` and
//! `latency_p99_ms`, each overridable per risk tier (`tiers.<tier>`) and per model
//! (`models.<name>`). Out: `Thresholds`, whose `for_model` gives one model's limits (model over
//! tier over the default, key by key). Guarantees: every limit is finite and ≥ 0, an error rate
//! at most 1; a breach names its key path.

use std::collections::BTreeMap;

use serde::Serialize;

use super::raw::{RawLimits, RawThresholds};
use crate::vocab::RiskTier;

/// The default PSI limit: 0.25 is the customary threshold of a significant population shift.
pub const DEFAULT_SCORE_PSI: f64 = 0.25;

/// One model's operational limits; `None`: not limited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    pub score_psi: Option<f64>,
    pub error_rate: Option<f64>,
    pub latency_p99_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    default: Limits,
    /// Keyed by the tier as the registry writes it, lowercased.
    tiers: BTreeMap<String, Limits>,
    models: BTreeMap<String, Limits>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            default: Limits {
                score_psi: Some(DEFAULT_SCORE_PSI),
                ..Limits::default()
            },
            tiers: BTreeMap::new(),
            models: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    /// The limits of the model `name` in `tier`: the model's own, else its tier's, else the
    /// default, key by key.
    pub fn for_model(&self, name: &str, tier: &RiskTier) -> Limits {
        let layers = [self.models.get(name), self.tiers.get(tier.as_str())];
        let pick = |f: fn(&Limits) -> Option<f64>| {
            layers
                .iter()
                .flatten()
                .find_map(|l| f(l))
                .or(f(&self.default))
        };
        Limits {
            score_psi: pick(|l| l.score_psi),
            error_rate: pick(|l| l.error_rate),
            latency_p99_ms: pick(|l| l.latency_p99_ms),
        }
    }
}

pub(super) fn resolve_thresholds(
    raw: RawThresholds,
) -> std::result::Result<Thresholds, (String, String)> {
    let top = RawLimits {
        score_psi: Some(raw.score_psi.unwrap_or(DEFAULT_SCORE_PSI)),
        error_rate: raw.error_rate,
        latency_p99_ms: raw.latency_p99_ms,
    };
    let default = checked("policy.thresholds", top)?;
    let mut tiers = BTreeMap::new();
    for (tier, limits) in raw.tiers {
        let key = format!("policy.thresholds.tiers.{tier}");
        tiers.insert(tier.trim().to_lowercase(), checked(&key, limits)?);
    }
    let mut models = BTreeMap::new();
    for (model, limits) in raw.models {
        let key = format!("policy.thresholds.models.{model}");
        let limits = checked(&key, limits)?;
        models.insert(model, limits);
    }
    Ok(Thresholds {
        default,
        tiers,
        models,
    })
}

fn checked(key: &str, raw: RawLimits) -> std::result::Result<Limits, (String, String)> {
    let fields = [
        ("score_psi", raw.score_psi, f64::INFINITY),
        ("error_rate", raw.error_rate, 1.0),
        ("latency_p99_ms", raw.latency_p99_ms, f64::INFINITY),
    ];
    for (name, value, max) in fields {
        if let Some(v) = value
            && (!v.is_finite() || v < 0.0 || v > max)
        {
            let range = if max == 1.0 { "0..1" } else { "≥ 0" };
            return Err((
                format!("{key}.{name}"),
                format!("{v} is not a valid limit ({range})"),
            ));
        }
    }
    Ok(Limits {
        score_psi: raw.score_psi,
        error_rate: raw.error_rate,
        latency_p99_ms: raw.latency_p99_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(psi: Option<f64>, error: Option<f64>, p99: Option<f64>) -> RawLimits {
        RawLimits {
            score_psi: psi,
            error_rate: error,
            latency_p99_ms: p99,
        }
    }

    #[test]
    fn model_over_tier_over_default_key_by_key() {
        let raw = RawThresholds {
            score_psi: None,
            error_rate: Some(0.05),
            latency_p99_ms: None,
            tiers: BTreeMap::from([("High".into(), limits(None, Some(0.01), Some(500.0)))]),
            models: BTreeMap::from([("fraud".into(), limits(Some(0.1), None, None))]),
        };
        let t = resolve_thresholds(raw).unwrap();
        let fraud = t.for_model("fraud", &RiskTier::High);
        assert_eq!(
            (fraud.score_psi, fraud.error_rate, fraud.latency_p99_ms),
            (Some(0.1), Some(0.01), Some(500.0))
        );
        let low = t.for_model("other", &RiskTier::Low);
        assert_eq!(
            (low.score_psi, low.error_rate, low.latency_p99_ms),
            (Some(0.25), Some(0.05), None)
        );
    }

    #[test]
    fn bad_limits_name_their_key() {
        let raw = RawThresholds {
            models: BTreeMap::from([("m".into(), limits(None, Some(1.5), None))]),
            ..RawThresholds::default()
        };
        let (key, message) = resolve_thresholds(raw).unwrap_err();
        assert_eq!(key, "policy.thresholds.models.m.error_rate");
        assert!(message.contains("0..1"), "{message}");
        let raw = RawThresholds {
            score_psi: Some(-1.0),
            ..RawThresholds::default()
        };
        assert_eq!(
            resolve_thresholds(raw).unwrap_err().0,
            "policy.thresholds.score_psi"
        );
    }
}
