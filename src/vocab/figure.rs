//! The per-model inference figures of SPEC §4 (`models[]` in the KPI document), each with its
//! unit and how it is computed: the one place this text lives. `kpi/operations.rs` computes
//! them; `docs/kpis.md` (generated) and the report's methodology (`bundle.json` `figures[]`)
//! print this text. In: nothing. Out: `FIGURES`. Guarantee: a change of method changes this text
//! in the same commit, or the generated-docs test fails.

use serde::Serialize;

/// One per-model figure: its key in `models[]`, unit, and method.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figure {
    pub name: &'static str,
    pub unit: &'static str,
    pub method: &'static str,
}

/// Every per-model figure, in the document's order. All are over the accepted records of the
/// period of one production model, and null (n/a) when no log source is configured.
pub const FIGURES: [Figure; 8] = [
    Figure {
        name: "requests",
        unit: "records",
        method: "accepted log records of the period naming the model",
    },
    Figure {
        name: "error_rate",
        unit: "share",
        method: "records whose status is not one of the source's success values ÷ records with a \
                 status; n/a when no record has a status",
    },
    Figure {
        name: "latency_p50_ms, latency_p95_ms, latency_p99_ms",
        unit: "ms",
        method: "quantiles of the records' latency by linear interpolation between the closest \
                 ranks (numpy's default method); n/a without a latency",
    },
    Figure {
        name: "logging_coverage",
        unit: "share",
        method: "UTC days of the period with at least one record ÷ days in the period",
    },
    Figure {
        name: "longest_gap_hours",
        unit: "hours",
        method: "the longest stretch without a record, the period's start and exclusive end \
                 counting as records; a model without records has the whole period",
    },
    Figure {
        name: "score_psi",
        unit: "index",
        method: "population stability of the score between the first 30 days and the last 30 \
                 days of the period: 10 bins at the first window's deciles (linear), intervals \
                 closed on the right, shares floored at 0.0001, PSI = Σ (last − first) · \
                 ln(last ÷ first); n/a for a period under 60 days or a window under 100 scores",
    },
    Figure {
        name: "unregistered_versions",
        unit: "versions",
        method: "versions named in the model's records that its registry does not have",
    },
    Figure {
        name: "daily_requests",
        unit: "records per day",
        method: "accepted records per UTC day of the period, first day first (the charts)",
    },
];

/// The per-model update-cadence figures (issue 23), from the registry: set for every model whose
/// store records creation times.
pub const CADENCE: [Figure; 2] = [
    Figure {
        name: "versions_in_period",
        unit: "versions",
        method: "versions of the registered model whose creation_timestamp falls on a UTC day of \
                 the period; n/a when a version has no creation time",
    },
    Figure {
        name: "production_version_age_days",
        unit: "days",
        method: "as_of minus the UTC day the production version was created; a \
                 policy.targets.production_version_age_days maximum makes each older production \
                 version a remediation item",
    },
];

/// The figures as the Markdown section `docs/kpis.md` ends with.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "\n## Per-model inference figures\n\n\
         Over the accepted records of the period of each production model; null (n/a) when no \
         log source is configured. From `src/vocab/figure.rs`.\n\n\
         | figure | unit | how it is computed |\n|---|---|---|\n",
    );
    for f in FIGURES {
        out.push_str(&format!("| `{}` | {} | {} |\n", f.name, f.unit, f.method));
    }
    out.push_str(
        "\n## Per-model update cadence\n\n\
         From the registry's creation times, for every registered model.\n\n\
         | figure | unit | how it is computed |\n|---|---|---|\n",
    );
    for f in CADENCE {
        out.push_str(&format!("| `{}` | {} | {} |\n", f.name, f.unit, f.method));
    }
    out
}
