//! Every record of a log file classified, as a `code` column: accepted in the period, outside
//! it, or rejected for one `Reason` (SPEC §3.2). In: the raw fields of a file as columns and the
//! period. Out: the canonical columns — `file`, `row`, `code`, `model`, `version`, `ts` (ns, UTC),
//! `latency`, `score`, `has_status`, `is_error`. Guarantees: each record gets exactly one code,
//! the first reason that applies, in the order of `Reason`; the period is `[start, end + 1 day)`.

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use super::NS_PER_DAY;
use super::values::{parse_numbers, parse_timestamps};
use crate::config::{LogSource, Period};

/// The `code` of a record accepted in the period.
pub const ACCEPTED: u32 = 0;
/// The `code` of a well-formed record outside the period.
pub const OUTSIDE_PERIOD: u32 = 1;

/// Why a record was rejected (SPEC §4 `rejected[].reason`), in the order the rules are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Reason {
    /// A JSON-lines line that does not parse (found by the set-aside pass, never by Polars).
    #[serde(rename = "not JSON")]
    NotJson = 2,
    #[serde(rename = "no timestamp")]
    NoTimestamp = 3,
    #[serde(rename = "unparseable timestamp")]
    UnparseableTimestamp = 4,
    #[serde(rename = "no model")]
    NoModel = 5,
    #[serde(rename = "non-numeric latency")]
    NonNumericLatency = 6,
    #[serde(rename = "non-numeric score")]
    NonNumericScore = 7,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::NotJson,
        Reason::NoTimestamp,
        Reason::UnparseableTimestamp,
        Reason::NoModel,
        Reason::NonNumericLatency,
        Reason::NonNumericScore,
    ];

    /// Its value in the `code` column.
    pub fn code(self) -> u32 {
        self as u32
    }

    fn lit(self) -> Expr {
        lit(self.code())
    }

    pub fn label(self) -> &'static str {
        match self {
            Reason::NotJson => "not JSON",
            Reason::NoTimestamp => "no timestamp",
            Reason::UnparseableTimestamp => "unparseable timestamp",
            Reason::NoModel => "no model",
            Reason::NonNumericLatency => "non-numeric latency",
            Reason::NonNumericScore => "non-numeric score",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A line of a file that is no record at all (a Splunk export's own lines), counted apart from
/// records so that records + non-records = the file's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NonRecord {
    /// `"preview": true`: an interim result Splunk later repeats as final (same offset).
    Preview = 8,
    /// `{"preview":false,"lastrow":true}` without a result: the export's last line.
    Terminator = 9,
    /// `{"messages": […]}` without a result: Splunk's notes about the search.
    Messages = 10,
}

impl NonRecord {
    pub const ALL: [NonRecord; 3] = [
        NonRecord::Preview,
        NonRecord::Terminator,
        NonRecord::Messages,
    ];

    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn label(self) -> &'static str {
        match self {
            NonRecord::Preview => "preview",
            NonRecord::Terminator => "terminator",
            NonRecord::Messages => "messages",
        }
    }
}

/// The same rule as `canonical`'s first three cases, for a line already parsed (the bundle's
/// minimised extracts leave such lines out: they are no records).
pub fn splunk_non_record(line: &serde_json::Value) -> Option<NonRecord> {
    let text = |k: &str| match line.get(k) {
        Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let no_result = !line.get("result").is_some_and(serde_json::Value::is_object);
    if text("preview").as_deref() == Some("true") {
        Some(NonRecord::Preview)
    } else if no_result && text("lastrow").as_deref() == Some("true") {
        Some(NonRecord::Terminator)
    } else if no_result && text("messages").is_some() {
        Some(NonRecord::Messages)
    } else {
        None
    }
}

/// `[start, end)` of the period in ns: the first instant of the start day to the first instant
/// after the end day, so a record at 23:59:59.999 on the last day counts.
pub fn period_bounds_ns(period: Period) -> (i64, i64) {
    let at = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_utc().timestamp_nanos_opt())
            .unwrap_or(i64::MAX)
    };
    (at(period.start), at(period.end).saturating_add(NS_PER_DAY))
}

/// Parse and classify: `code` 0 accepted, 1 outside the period, 3–7 a reject reason, 8–10 a
/// line that is no record.
/// `file`: the input index of every row, or `None` when the frame has a `file` column already
/// (several files read as one buffer, `scan::locate`).
pub(super) fn canonical(
    lf: LazyFrame,
    source: &LogSource,
    file: Option<u32>,
    start: i64,
    end: i64,
) -> LazyFrame {
    let ts = col("ts_raw").map(
        |c| parse_timestamps(&c).map(Column::from),
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
    );
    let number = |name: &str| {
        col(name).map(
            |c| parse_numbers(&c).map(Column::from),
            |_, f| Ok(Field::new(f.name().clone(), DataType::Float64)),
        )
    };
    let status = col("status").cast(DataType::String);
    let is_success = source
        .success
        .iter()
        .map(|s| status.clone().eq(lit(s.as_str())))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false));
    let model = col("model").cast(DataType::String);
    let code = when(col("preview").eq(lit("true")))
        .then(lit(NonRecord::Preview.code()))
        .when(col("no_result").and(col("lastrow").eq(lit("true"))))
        .then(lit(NonRecord::Terminator.code()))
        .when(col("no_result").and(col("messages").is_not_null()))
        .then(lit(NonRecord::Messages.code()))
        .when(col("ts_raw").is_null())
        .then(Reason::NoTimestamp.lit())
        .when(col("ts").is_null())
        .then(Reason::UnparseableTimestamp.lit())
        .when(model.clone().is_null().or(model.clone().eq(lit(""))))
        .then(Reason::NoModel.lit())
        .when(
            col("latency_raw")
                .is_not_null()
                .and(col("latency").is_null()),
        )
        .then(Reason::NonNumericLatency.lit())
        .when(col("score_raw").is_not_null().and(col("score").is_null()))
        .then(Reason::NonNumericScore.lit())
        .when(col("ts").lt(lit(start)).or(col("ts").gt_eq(lit(end))))
        .then(lit(OUTSIDE_PERIOD))
        .otherwise(lit(ACCEPTED));
    lf.with_columns([
        ts.alias("ts"),
        number("latency_raw").alias("latency"),
        number("score_raw").alias("score"),
        model.alias("model"),
        col("version").cast(DataType::String).alias("version"),
        status.clone().is_not_null().alias("has_status"),
        status.is_not_null().and(is_success.not()).alias("is_error"),
    ])
    .with_columns([
        code.alias("code"),
        file.map_or_else(|| col("file"), lit).alias("file"),
    ])
    .select([
        col("file").cast(DataType::UInt32),
        col("row").cast(DataType::UInt64),
        col("code").cast(DataType::UInt32),
        col("model"),
        col("version"),
        col("ts"),
        col("latency"),
        col("score"),
        col("has_status"),
        col("is_error"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::logs::NS_PER_SEC;

    #[test]
    fn reasons_serialise_as_their_labels() {
        for r in Reason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.label());
        }
    }

    #[test]
    fn period_bounds_include_the_whole_last_day() {
        let period = Period {
            start: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
        };
        let (start, end) = period_bounds_ns(period);
        assert_eq!(start, 1_782_864_000 * NS_PER_SEC);
        // 92 days later: 2026-10-01T00:00:00Z.
        assert_eq!(end, (1_782_864_000 + 92 * 86_400) * NS_PER_SEC);
    }
}
