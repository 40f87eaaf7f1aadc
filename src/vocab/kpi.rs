//! The portfolio KPIs of SPEC §4 as one type, `Kpi`: each one's name, whether it is a ratio or a
//! count, the direction its target bounds (a minimum for ratios, a maximum for counts), its default
//! target, and its definition and formula in words. Config validation, computation, every output,
//! the report's methodology and docs/kpis-json.md all read this one table, so a KPI's meaning is
//! written once, next to the order in which the document lists it.

use serde::Serialize;

/// A portfolio KPI, in the fixed order of SPEC §4 (the order of `ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kpi {
    DocumentationCompleteness,
    DatasetProvenanceCompleteness,
    EvaluationCompleteness,
    CodeLineageCompleteness,
    ApprovalCoverage,
    LoggingHealth,
    AuditCoverage,
    ControlPassRate,
    ExceptionExpiryAdherence,
    ExpiredOpenExceptionsCount,
    RejectedLogRecordsCount,
    DriftMonitoringCoverage,
    ExceptionsGrantedCount,
    FailingControlsCount,
}

/// What kind of figure a KPI is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A share in 0..1 with its numerator and denominator; n/a when the denominator is empty.
    Ratio,
    /// A whole number of things.
    Count,
}

/// Which side of its target a KPI must stay on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Met when value ≥ target.
    AtLeast,
    /// Met when value ≤ target.
    AtMost,
}

/// One KPI's entry in the table below.
struct Entry {
    kpi: Kpi,
    name: &'static str,
    measure: Measure,
    default_target: Option<f64>,
    definition: &'static str,
    formula: &'static str,
}

const TABLE: [Entry; 14] = [
    Entry {
        kpi: Kpi::DocumentationCompleteness,
        name: "documentation_completeness",
        measure: Measure::Ratio,
        default_target: Some(0.85),
        definition: "Share of production models whose source run carries a model card.",
        formula: "production models whose source run's artifact root holds a file named in \
                  policy.model_card_artifacts ÷ production models",
    },
    Entry {
        kpi: Kpi::DatasetProvenanceCompleteness,
        name: "dataset_provenance_completeness",
        measure: Measure::Ratio,
        default_target: Some(0.80),
        definition: "Share of production models whose training data can be traced.",
        formula: "production models whose source run records at least one dataset input ÷ \
                  production models",
    },
    Entry {
        kpi: Kpi::EvaluationCompleteness,
        name: "evaluation_completeness",
        measure: Measure::Ratio,
        default_target: Some(0.95),
        definition: "Share of production models that were evaluated before release.",
        formula: "production models whose source run has at least one metric named in \
                  policy.evaluation_metrics ÷ production models",
    },
    Entry {
        kpi: Kpi::CodeLineageCompleteness,
        name: "code_lineage_completeness",
        measure: Measure::Ratio,
        default_target: None,
        definition: "Share of production models whose training code can be traced to a commit.",
        formula: "production models whose source run has the tag mlflow.source.git.commit ÷ \
                  production models",
    },
    Entry {
        kpi: Kpi::ApprovalCoverage,
        name: "approval_coverage",
        measure: Measure::Ratio,
        default_target: None,
        definition: "Share of production models whose production version was approved.",
        formula: "production models whose production version has the tag policy.approval_tag ÷ \
                  production models",
    },
    Entry {
        kpi: Kpi::LoggingHealth,
        name: "logging_health",
        measure: Measure::Ratio,
        default_target: Some(0.95),
        definition: "Share of production models whose inference logging covers the period.",
        formula: "production models with logging_coverage (days of the period with at least one \
                  accepted record ÷ days in the period) ≥ policy.logging_min_coverage ÷ \
                  production models; n/a when no log source is configured",
    },
    Entry {
        kpi: Kpi::AuditCoverage,
        name: "audit_coverage",
        measure: Measure::Ratio,
        default_target: Some(1.0),
        definition: "Share of production models audited recently enough.",
        formula: "production models with an audit dated within policy.audit_max_age_days before \
                  as_of (inclusive) ÷ production models",
    },
    Entry {
        kpi: Kpi::ControlPassRate,
        name: "control_pass_rate",
        measure: Measure::Ratio,
        default_target: Some(0.90),
        definition: "Share of assessed controls that passed, in the latest audit of each system \
                     and framework.",
        formula: "controls scored at or above the framework's pass mark ÷ assessed controls \
                  (not_applicable and not_assessed controls excluded)",
    },
    Entry {
        kpi: Kpi::ExceptionExpiryAdherence,
        name: "exception_expiry_adherence",
        measure: Measure::Ratio,
        default_target: Some(0.95),
        definition: "Share of expired exceptions that were closed or renewed in time.",
        formula: "exceptions with expires_on < as_of that were closed or renewed on or before \
                  expires_on ÷ exceptions with expires_on < as_of",
    },
    Entry {
        kpi: Kpi::ExpiredOpenExceptionsCount,
        name: "expired_open_exceptions_count",
        measure: Measure::Count,
        default_target: None,
        definition: "Exceptions past their expiry date and still open on the as-of date.",
        formula: "count of exceptions with expires_on < as_of that are open at as_of",
    },
    Entry {
        kpi: Kpi::RejectedLogRecordsCount,
        name: "rejected_log_records_count",
        measure: Measure::Count,
        default_target: None,
        definition: "Inference-log records that could not be read as a valid record.",
        formula: "count of log records rejected (not JSON, no or unparseable timestamp, no \
                  model, non-numeric latency or score); n/a when no log source is configured",
    },
    Entry {
        kpi: Kpi::DriftMonitoringCoverage,
        name: "drift_monitoring_coverage",
        measure: Measure::Ratio,
        default_target: Some(1.0),
        definition: "Share of production models whose score drift could be measured this period.",
        formula: "production models with a computed score_psi (at least 100 scores in each of the \
                  period's first and last 30 days, 60 days or more) ÷ production models; n/a when \
                  no log source is configured",
    },
    Entry {
        kpi: Kpi::ExceptionsGrantedCount,
        name: "exceptions_granted_count",
        measure: Measure::Count,
        default_target: None,
        definition: "Exceptions to controls granted during the period: the exception rate a \
                     compliance team follows quarter over quarter.",
        formula: "count of exceptions in the register whose granted_on lies in the period \
                  (both ends included)",
    },
    Entry {
        kpi: Kpi::FailingControlsCount,
        name: "failing_controls_count",
        measure: Measure::Count,
        default_target: None,
        definition: "Controls that failed their latest audit.",
        formula: "count of controls with a score under the framework's pass mark, over the latest \
                  audit of each system and framework (the controls control_pass_rate counts as \
                  failing)",
    },
];

impl Kpi {
    /// Every portfolio KPI in the document's order.
    pub const ALL: [Kpi; 14] = [
        Kpi::DocumentationCompleteness,
        Kpi::DatasetProvenanceCompleteness,
        Kpi::EvaluationCompleteness,
        Kpi::CodeLineageCompleteness,
        Kpi::ApprovalCoverage,
        Kpi::LoggingHealth,
        Kpi::AuditCoverage,
        Kpi::ControlPassRate,
        Kpi::ExceptionExpiryAdherence,
        Kpi::ExpiredOpenExceptionsCount,
        Kpi::RejectedLogRecordsCount,
        Kpi::DriftMonitoringCoverage,
        Kpi::ExceptionsGrantedCount,
        Kpi::FailingControlsCount,
    ];

    fn entry(self) -> &'static Entry {
        // TABLE is in the order of the enum; the unit test below holds it to that.
        let entry = &TABLE[self as usize];
        debug_assert_eq!(entry.kpi, self);
        entry
    }

    /// The name the document, the config and the CSV use.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// A figure of this KPI as JSON: a count's whole value as an integer (`3`, not `3.0`), every
    /// other value as the number it is.
    pub fn json_number(self, value: f64) -> serde_json::Value {
        if self.is_count() && value.fract() == 0.0 && value.abs() < 9.0e15 {
            serde_json::Value::from(value as i64)
        } else {
            serde_json::Value::from(value)
        }
    }

    pub fn from_name(name: &str) -> Option<Kpi> {
        Kpi::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn measure(self) -> Measure {
        self.entry().measure
    }

    pub fn is_count(self) -> bool {
        self.measure() == Measure::Count
    }

    pub fn direction(self) -> Direction {
        match self.measure() {
            Measure::Ratio => Direction::AtLeast,
            Measure::Count => Direction::AtMost,
        }
    }

    /// SPEC §2's default target, if it sets one.
    pub fn default_target(self) -> Option<f64> {
        self.entry().default_target
    }

    /// One sentence: what the KPI tells a reader.
    pub fn definition(self) -> &'static str {
        self.entry().definition
    }

    /// How it is computed, in words.
    pub fn formula(self) -> &'static str {
        self.entry().formula
    }

    /// Whether `value` is on the right side of `target`.
    pub fn meets(self, value: f64, target: f64) -> bool {
        match self.direction() {
            Direction::AtLeast => value >= target,
            Direction::AtMost => value <= target,
        }
    }

    /// A comma-separated list of every name, for error messages.
    pub fn names() -> String {
        Kpi::ALL.map(Kpi::name).join(", ")
    }
}

/// A KPI's definition as the report and its template receive it (`bundle.json` `kpis[]`).
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    pub name: &'static str,
    /// `ratio` or `count`.
    pub measure: &'static str,
    /// `at_least` (a minimum target) or `at_most` (a maximum).
    pub direction: &'static str,
    pub default_target: Option<f64>,
    pub definition: &'static str,
    pub formula: &'static str,
}

impl Kpi {
    pub fn describe(self) -> Definition {
        Definition {
            name: self.name(),
            measure: match self.measure() {
                Measure::Ratio => "ratio",
                Measure::Count => "count",
            },
            direction: match self.direction() {
                Direction::AtLeast => "at_least",
                Direction::AtMost => "at_most",
            },
            default_target: self.default_target(),
            definition: self.definition(),
            formula: self.formula(),
        }
    }
}

/// `docs/kpis.md`: every portfolio KPI with its definition, formula and default target, written
/// from the table above (a unit test holds the file to it).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# The portfolio KPIs\n\n\
         Generated from `src/vocab/kpi.rs`, the one place each KPI is defined; the report and its \
         template receive the same text (`bundle.json` `kpis[]`). Regenerate with \
         `DOSSIER_BLESS=1 cargo test --release --lib vocab`.\n\n\
         | KPI | kind | target bound | default target | definition | formula |\n\
         |---|---|---|---|---|---|\n",
    );
    for kpi in Kpi::ALL {
        let d = kpi.describe();
        let target = d
            .default_target
            .map_or_else(|| "none".to_string(), |t| t.to_string());
        let bound = match kpi.direction() {
            Direction::AtLeast => "minimum",
            Direction::AtMost => "maximum",
        };
        out.push_str(&format!(
            "| `{}` | {} | {bound} | {target} | {} | {} |\n",
            d.name, d.measure, d.definition, d.formula
        ));
    }
    out.push_str(
        "\nA ratio with an empty denominator is n/a (`null`), never 0 or 1; a target is met at \
         equality.\n",
    );
    out.push_str(&super::figure::reference_markdown());
    out
}

impl std::fmt::Display for Kpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_and_names_match_serde() {
        for (i, kpi) in Kpi::ALL.into_iter().enumerate() {
            assert_eq!(TABLE[i].kpi, kpi);
            assert_eq!(kpi as usize, i);
            let json = serde_json::to_value(kpi).unwrap();
            assert_eq!(json, kpi.name());
            assert_eq!(Kpi::from_name(kpi.name()), Some(kpi));
        }
    }

    #[test]
    fn counts_are_the_names_ending_in_count_and_bound_from_above() {
        // SPEC §4 names the two counts by their `_count` suffix.
        for kpi in Kpi::ALL {
            assert_eq!(kpi.is_count(), kpi.name().ends_with("_count"), "{kpi}");
        }
        assert!(Kpi::ExpiredOpenExceptionsCount.meets(0.0, 0.0));
        assert!(!Kpi::ExpiredOpenExceptionsCount.meets(1.0, 0.0));
        assert!(Kpi::AuditCoverage.meets(1.0, 1.0));
        assert!(!Kpi::AuditCoverage.meets(0.99, 1.0));
    }

    #[test]
    fn docs_kpis_md_is_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kpis.md");
        let text = reference_markdown();
        if std::env::var_os("DOSSIER_BLESS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "docs/kpis.md is out of date: run DOSSIER_BLESS=1 cargo test --release --lib vocab"
        );
    }

    #[test]
    fn spec_default_targets() {
        // SPEC §2: seven ratios have a default target; issue 17 adds drift monitoring's (1.0).
        let with: Vec<(&str, f64)> = Kpi::ALL
            .into_iter()
            .filter_map(|k| k.default_target().map(|t| (k.name(), t)))
            .collect();
        assert_eq!(
            with,
            [
                ("documentation_completeness", 0.85),
                ("dataset_provenance_completeness", 0.80),
                ("evaluation_completeness", 0.95),
                ("logging_health", 0.95),
                ("audit_coverage", 1.0),
                ("control_pass_rate", 0.90),
                ("exception_expiry_adherence", 0.95),
                ("drift_monitoring_coverage", 1.0),
            ]
        );
    }
}
