//! The domain vocabulary as types, used by every stage: KPI names (`kpi`), control status, risk
//! tier, severity, blast radius and the roles of bundled inputs. Each serialises to exactly the
//! string SPEC §4 and §6 write, so the JSON and CSV outputs spell them as before; nothing here
//! reads or computes anything. It sits beside `config` at the head of the data flow so that every
//! later stage may use it.

pub mod figure;
pub mod kpi;
pub mod layout;

use serde::{Deserialize, Serialize};

pub use kpi::{Direction, Kpi, Measure};

/// A control's outcome in the latest audit (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    Pass,
    Fail,
    NotApplicable,
    NotAssessed,
}

impl ControlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Pass => "pass",
            ControlStatus::Fail => "fail",
            ControlStatus::NotApplicable => "not_applicable",
            ControlStatus::NotAssessed => "not_assessed",
        }
    }
}

/// Severity of a finding; the order of the variants is the remediation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

/// Where management says a remediation item stands (`sources.responses`); `open` when the
/// register does not name the item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    #[default]
    Open,
    InProgress,
    RiskAccepted,
    Closed,
}

/// Who a finding can hurt; the order of the variants is the remediation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlastRadius {
    Customers,
    Organisation,
    Team,
    None,
}

/// A registered model's risk tier (SPEC §4): its `risk_tier_tag` value lowercased, `unassessed`
/// when missing. A tier the SPEC does not name is kept as written (`Other`), and treated as
/// unassessed where a rule depends on the tier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum RiskTier {
    High,
    Medium,
    Low,
    #[default]
    Unassessed,
    Other(String),
}

impl RiskTier {
    /// From a tag value: trimmed and lowercased; empty means unassessed.
    pub fn from_tag(value: Option<&str>) -> RiskTier {
        let v = value.map(|v| v.trim().to_lowercase()).unwrap_or_default();
        match v.as_str() {
            "" | "unassessed" => RiskTier::Unassessed,
            "high" => RiskTier::High,
            "medium" => RiskTier::Medium,
            "low" => RiskTier::Low,
            _ => RiskTier::Other(v),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RiskTier::High => "high",
            RiskTier::Medium => "medium",
            RiskTier::Low => "low",
            RiskTier::Unassessed => "unassessed",
            RiskTier::Other(s) => s,
        }
    }

    pub fn is_high(&self) -> bool {
        *self == RiskTier::High
    }

    /// SPEC §4: a model's own findings take high for `high` and `unassessed` (and any tier the
    /// SPEC does not name), medium for `medium`, low for `low`.
    pub fn severity(&self) -> Severity {
        match self {
            RiskTier::Medium => Severity::Medium,
            RiskTier::Low => Severity::Low,
            _ => Severity::High,
        }
    }

    /// SPEC §4: a model's own findings reach customers for the `high` tier, the organisation
    /// otherwise.
    pub fn blast_radius(&self) -> BlastRadius {
        if self.is_high() {
            BlastRadius::Customers
        } else {
            BlastRadius::Organisation
        }
    }
}

impl Serialize for RiskTier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for RiskTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for ControlStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an input file is in the bundle: the `role` column of `data/sources.csv` (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputRole {
    Config,
    Mlflow,
    ModelCard,
    EvaluationArtifact,
    Audit,
    AuditEvidence,
    Exceptions,
    LogExtract,
    LogExcerpt,
    /// Records summarised where they are (`engine: spark`): the bundle carries the statements
    /// that summarised them, not the records.
    LogSummary,
    Responses,
}

impl InputRole {
    pub fn as_str(self) -> &'static str {
        match self {
            InputRole::Config => "config",
            InputRole::Mlflow => "mlflow",
            InputRole::ModelCard => "model-card",
            InputRole::EvaluationArtifact => "evaluation-artifact",
            InputRole::Audit => "audit",
            InputRole::AuditEvidence => "audit-evidence",
            InputRole::Exceptions => "exceptions",
            InputRole::LogExtract => "log-extract",
            InputRole::LogExcerpt => "log-excerpt",
            InputRole::LogSummary => "log-summary",
            InputRole::Responses => "responses",
        }
    }
}

impl std::fmt::Display for InputRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_what_serde_writes() {
        for s in [
            ControlStatus::Pass,
            ControlStatus::Fail,
            ControlStatus::NotApplicable,
            ControlStatus::NotAssessed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for r in [
            InputRole::Config,
            InputRole::Mlflow,
            InputRole::ModelCard,
            InputRole::EvaluationArtifact,
            InputRole::Audit,
            InputRole::AuditEvidence,
            InputRole::Exceptions,
            InputRole::LogExtract,
            InputRole::LogExcerpt,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    #[test]
    fn risk_tier_lowercased_and_defaulted() {
        assert_eq!(RiskTier::from_tag(None), RiskTier::Unassessed);
        assert_eq!(RiskTier::from_tag(Some(" High ")), RiskTier::High);
        assert_eq!(RiskTier::from_tag(Some("")), RiskTier::Unassessed);
        let odd = RiskTier::from_tag(Some("Critical"));
        assert_eq!(odd.as_str(), "critical");
        assert_eq!(serde_json::to_value(&odd).unwrap(), "critical");
        // SPEC §4's severity and radius rules, worked by hand.
        assert_eq!(
            (RiskTier::High.severity(), RiskTier::High.blast_radius()),
            (Severity::High, BlastRadius::Customers)
        );
        assert_eq!(
            (
                RiskTier::Unassessed.severity(),
                RiskTier::Unassessed.blast_radius()
            ),
            (Severity::High, BlastRadius::Organisation)
        );
        assert_eq!(RiskTier::Medium.severity(), Severity::Medium);
        assert_eq!(RiskTier::Low.severity(), Severity::Low);
        assert_eq!(odd.severity(), Severity::High);
    }
}
