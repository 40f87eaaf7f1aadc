//! The values a user types on the command line or in the config — dates, periods, the build
//! timestamp and `SOURCE_DATE_EPOCH` — parsed into chrono types. clap's value parsers call these,
//! so a malformed value is a usage error (exit 2) before anything is read.

use chrono::{DateTime, NaiveDate, Utc};

use super::Period;

/// The longest period a report may cover: ten years of days.
pub const MAX_PERIOD_DAYS: i64 = 3653;

/// SPEC §1 `--timestamp`: RFC 3339, truncated to whole seconds, in UTC.
pub fn parse_timestamp(text: &str) -> std::result::Result<DateTime<Utc>, String> {
    use chrono::SubsecRound;
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|e| format!("`{text}` is not RFC 3339 ({e})"))
}

/// SPEC §1 `SOURCE_DATE_EPOCH`: whole seconds since the epoch.
pub fn parse_epoch(text: &str) -> std::result::Result<DateTime<Utc>, String> {
    use chrono::TimeZone;
    let secs: i64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    Utc.timestamp_opt(secs, 0)
        .single()
        .ok_or_else(|| format!("{secs} is out of range"))
}

/// The build time when neither `--timestamp` nor `SOURCE_DATE_EPOCH` is given: now, in whole
/// seconds.
pub(super) fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(0)
}

/// `YYYY-MM-DD`, a UTC calendar day.
pub fn parse_date(text: &str) -> std::result::Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|e| format!("`{text}` is not a date YYYY-MM-DD ({e})"))
}

/// `START..END`, both inclusive.
pub fn parse_period(text: &str) -> std::result::Result<Period, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not START..END"))?;
    checked_period(parse_date(start)?, parse_date(end)?)
}

pub(super) fn checked_period(
    start: NaiveDate,
    end: NaiveDate,
) -> std::result::Result<Period, String> {
    if end < start {
        return Err(format!("ends ({end}) before it starts ({start})"));
    }
    let period = Period { start, end };
    // Per-day figures (coverage, daily volumes) are kept for every day of the period: a bound
    // keeps a typo such as 0001-01-01..9999-12-31 from allocating gigabytes.
    if period.days() > MAX_PERIOD_DAYS {
        return Err(format!(
            "covers {} days; a report period may cover at most {MAX_PERIOD_DAYS} days (10 years)",
            period.days()
        ));
    }
    Ok(period)
}
