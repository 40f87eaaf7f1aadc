//! One JSON-lines record classified (issue 20's reader): the same rules, in the same order, as
//! `classify::canonical` gives a Polars frame (SPEC §3.2) — a Splunk export's own lines, then no
//! timestamp, unparseable timestamp, no model, non-numeric latency, non-numeric score, outside
//! the period, accepted. In: the record's field texts (`fields::Found`). Out: its code, its model
//! text, and for an accepted record the values the summary keeps. Guarantees: the values are
//! parsed by the same functions as a Polars column's (`values`), so a record reads the same
//! whichever reader met it; `classify`'s tests run both on the same records.

use std::borrow::Cow;

use super::classify::{ACCEPTED, NonRecord, OUTSIDE_PERIOD, Reason};
use super::fields::{
    Found, LASTROW, LATENCY, MESSAGES, MODEL, NotJson, PREVIEW, SCORE, STATUS, TS, VERSION,
};
use super::values::parse_text_ts;

/// An accepted record's values: what the summary keeps of it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Accepted<'a> {
    pub model: Cow<'a, str>,
    pub version: Option<Cow<'a, str>>,
    pub ts: i64,
    pub latency: Option<f64>,
    pub score: Option<f64>,
    pub has_status: bool,
    pub is_error: bool,
}

/// A record's code and model; `accepted` is set for code `ACCEPTED`.
#[derive(Debug)]
pub(super) struct Outcome<'a> {
    pub code: u32,
    pub model: Option<Cow<'a, str>>,
    pub accepted: Option<Accepted<'a>>,
}

/// Classify one record of the period `[start, end)` (ns); `success`: the status values that are
/// no error.
pub(super) fn classify<'a>(
    found: &Found<'a>,
    (start, end): (i64, i64),
    success: &[String],
) -> Result<Outcome<'a>, NotJson> {
    let model = found.text(MODEL)?;
    let out = |code: u32, model: Option<Cow<'a, str>>| Outcome {
        code,
        model,
        accepted: None,
    };
    let no_result = !found.has_result;
    let is_true =
        |slot| -> Result<bool, NotJson> { Ok(found.text(slot)?.as_deref() == Some("true")) };
    // Only a Splunk tree reads these keys: for other formats they are always absent.
    if is_true(PREVIEW)? {
        return Ok(out(NonRecord::Preview.code(), model));
    }
    if no_result && is_true(LASTROW)? {
        return Ok(out(NonRecord::Terminator.code(), model));
    }
    if no_result && found.text(MESSAGES)?.is_some() {
        return Ok(out(NonRecord::Messages.code(), model));
    }
    let Some(ts_raw) = found.text(TS)? else {
        return Ok(out(Reason::NoTimestamp.code(), model));
    };
    let Some(ts) = parse_text_ts(&ts_raw) else {
        return Ok(out(Reason::UnparseableTimestamp.code(), model));
    };
    let Some(name) = model.clone().filter(|m| !m.is_empty()) else {
        return Ok(out(Reason::NoModel.code(), model));
    };
    let (has_latency, latency) = found.number(LATENCY)?;
    if has_latency && latency.is_none() {
        return Ok(out(Reason::NonNumericLatency.code(), model));
    }
    let (has_score, score) = found.number(SCORE)?;
    if has_score && score.is_none() {
        return Ok(out(Reason::NonNumericScore.code(), model));
    }
    if ts < start || ts >= end {
        return Ok(out(OUTSIDE_PERIOD, model));
    }
    let status = found.text(STATUS)?;
    let is_error = status
        .as_deref()
        .is_some_and(|s| !success.iter().any(|ok| ok == s));
    Ok(Outcome {
        code: ACCEPTED,
        accepted: Some(Accepted {
            model: name,
            version: found.text(VERSION)?,
            ts,
            latency,
            score,
            has_status: status.is_some(),
            is_error,
        }),
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LogFormat, LogSource};
    use crate::ingest::logs::classify::canonical;
    use crate::ingest::logs::fields::{self, FieldTree};
    use polars::prelude::*;

    /// (timestamp, model, version, latency_ms, status, score) as JSON literals; `None` absent.
    /// Numbers are ones whose text form is the literal itself, so the Polars side's text is the
    /// literal (a string's content for a string).
    type Case = [Option<&'static str>; 6];
    const KEYS: [&str; 6] = [
        "timestamp",
        "model",
        "version",
        "latency_ms",
        "status",
        "score",
    ];
    const CASES: &[Case] = &[
        [
            Some(r#""2026-07-02T00:00:00Z""#),
            Some(r#""m""#),
            Some(r#""3""#),
            Some("1.5"),
            Some(r#""200""#),
            Some("0.25"),
        ],
        [
            Some("1782950400"),
            Some(r#""m""#),
            None,
            Some(r#"" 2.5 ""#),
            Some("500"),
            None,
        ],
        [
            Some(r#""1782950400.5""#),
            Some(r#""m""#),
            None,
            Some(r#""abc""#),
            None,
            None,
        ],
        [None, Some(r#""m""#), None, None, None, None],
        [Some("null"), Some(r#""m""#), None, None, None, None],
        [Some(r#""""#), Some(r#""m""#), None, None, None, None],
        [
            Some(r#""2026-07-02 00:00:00+0000""#),
            Some(r#""""#),
            None,
            None,
            None,
            None,
        ],
        [
            Some(r#""2026-07-02T00:00:00Z""#),
            None,
            None,
            None,
            None,
            None,
        ],
        [
            Some(r#""2026-07-02T00:00:00Z""#),
            Some(r#""m""#),
            None,
            None,
            None,
            Some(r#""NaN""#),
        ],
        [
            Some(r#""2026-07-02T00:00:00Z""#),
            Some(r#""m""#),
            None,
            Some("true"),
            None,
            None,
        ],
        [
            Some(r#""2026-07-02T00:00:00Z""#),
            Some("7"),
            Some("2"),
            None,
            Some(r#""OK""#),
            Some(r#""inf""#),
        ],
        [
            Some(r#""2027-07-02T00:00:00Z""#),
            Some(r#""m""#),
            None,
            None,
            None,
            None,
        ],
        [
            Some(r#""2026-06-30T23:59:59.999Z""#),
            Some(r#""m""#),
            None,
            None,
            None,
            None,
        ],
        [
            Some(r#""2026-09-30T23:59:59.999999999Z""#),
            Some(r#""m""#),
            None,
            Some("-0.0"),
            Some(r#""""#),
            Some("1"),
        ],
        [
            Some(r#""2026-07-01T02:00:00+02:00""#),
            Some(r#""m""#),
            None,
            None,
            None,
            None,
        ],
        [
            Some(r#""yesterday""#),
            None,
            None,
            Some(r#""x""#),
            None,
            None,
        ],
    ];

    fn polars_text(literal: Option<&str>) -> Option<String> {
        match literal? {
            "null" => None,
            l if l.starts_with('"') => Some(serde_json::from_str::<String>(l).unwrap()),
            l => Some(l.to_string()),
        }
    }

    /// The JSON-lines reader and the Polars frame path (`classify::canonical`) agree on every
    /// record: its code and every value the summary keeps.
    #[test]
    fn the_json_reader_classifies_as_the_polars_path_does() {
        let source = LogSource {
            pattern: String::new(),
            format: None,
            fields: Default::default(),
            success: vec!["200".into(), "OK".into()],
            traces: None,
            spark: None,
        };
        let (start, end) = crate::ingest::logs::period_bounds_ns(crate::config::Period {
            start: chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            end: chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
        });
        let column = |i: usize, name: &str| {
            let values: Vec<Option<String>> = CASES.iter().map(|c| polars_text(c[i])).collect();
            Column::new(name.into(), values)
        };
        let none: Vec<Option<String>> = vec![None; CASES.len()];
        let df = DataFrame::new_infer_height(vec![
            Column::new("row".into(), (0..CASES.len() as u64).collect::<Vec<_>>()),
            column(0, "ts_raw"),
            column(1, "model"),
            column(2, "version"),
            column(3, "latency_raw"),
            column(4, "status"),
            column(5, "score_raw"),
            Column::new("preview".into(), none.clone()),
            Column::new("lastrow".into(), none.clone()),
            Column::new("messages".into(), none),
            Column::new("no_result".into(), vec![false; CASES.len()]),
        ])
        .unwrap();
        let polars = canonical(df.lazy(), &source, Some(0), start, end)
            .collect()
            .unwrap();
        let tree = FieldTree::new(&source, LogFormat::Ndjson).unwrap();
        for (i, case) in CASES.iter().enumerate() {
            let line: Vec<String> = KEYS
                .iter()
                .zip(case)
                .filter_map(|(k, v)| v.map(|v| format!("\"{k}\":{v}")))
                .collect();
            let line = format!("{{{}}}", line.join(","));
            let found = fields::read(&tree, line.as_bytes()).unwrap();
            let got = classify(&found, (start, end), &source.success).unwrap();
            let want = polars.get_row(i).unwrap().0;
            assert_eq!(AnyValue::UInt32(got.code), want[2], "code of {line}");
            let Some(a) = got.accepted else { continue };
            assert_eq!(AnyValue::Int64(a.ts), want[5], "ts of {line}");
            let f = |v: Option<f64>| v.map_or(AnyValue::Null, AnyValue::Float64);
            assert_eq!(f(a.latency), want[6], "latency of {line}");
            assert_eq!(f(a.score), want[7], "score of {line}");
            assert_eq!(AnyValue::Boolean(a.has_status), want[8], "status of {line}");
            assert_eq!(AnyValue::Boolean(a.is_error), want[9], "error of {line}");
            let version = a
                .version
                .as_deref()
                .map_or(AnyValue::Null, AnyValue::String);
            assert_eq!(version, want[4], "version of {line}");
        }
        // Every code the cases were written to reach (so none of them is a case of nothing).
        let codes: std::collections::BTreeSet<u32> = polars
            .column("code")
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(codes, (0..=7).filter(|c| *c != 2).collect());
    }
}
