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
