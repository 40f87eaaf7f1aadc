//! Values of a log record parsed: timestamps to nanoseconds since the epoch (UTC) and numbers to
//! f64, column by column for Polars. In: a column of text, numbers or Parquet datetimes. Out: a
//! column of the same length where anything unparseable is null — the caller rejects it with a
//! reason, so a value is never guessed. Epoch seconds and milliseconds are told apart by
//! magnitude; digit strings are parsed exactly (an f64 would lose the nanoseconds).

use std::borrow::Cow;

use polars::prelude::*;

use super::NS_PER_SEC;
use super::fields::NotJson;

/// Timestamps to ns since the epoch (UTC): RFC 3339 / ISO 8601 text with an offset, epoch
/// seconds or milliseconds (as numbers or digit strings; |v| ≥ 1e11 means milliseconds), or a
/// Parquet datetime. Anything else is null, which the caller rejects.
pub(super) fn parse_timestamps(c: &Column) -> PolarsResult<Series> {
    let s = c.as_materialized_series();
    let name = s.name().clone();
    let out: Int64Chunked = match s.dtype() {
        DataType::String => s.str()?.iter().map(|v| v.and_then(parse_text_ts)).collect(),
        DataType::Datetime(unit, _) => {
            let factor = match unit {
                TimeUnit::Nanoseconds => 1,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1_000_000,
            };
            // Beyond the nanosecond range (years before 1677 or after 2262) a time is still a
            // time: it saturates, and so falls outside any period instead of being "unparseable".
            s.cast(&DataType::Int64)?
                .i64()?
                .iter()
                .map(|v| v.map(|v| v.saturating_mul(factor)))
                .collect()
        }
        DataType::Null => Int64Chunked::full_null(name.clone(), s.len()),
        dt if dt.is_primitive_numeric() => s
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|v| v.and_then(epoch_ns))
            .collect(),
        _ => Int64Chunked::full_null(name.clone(), s.len()),
    };
    Ok(out.with_name(name).into_series())
}

/// A text time: the grammar of `rfc3339::parse` (docs/decisions.md), or epoch seconds or
/// milliseconds written as digits; surrounding whitespace (Unicode's) is ignored.
pub(super) fn parse_text_ts(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(ns) = super::rfc3339::parse(text.as_bytes()) {
        return Some(ns);
    }
    let epoch_shape = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && text.bytes().any(|b| b.is_ascii_digit())
        && !text.get(1..).is_some_and(|t| t.contains('-'));
    epoch_shape.then(|| epoch_text_ns(text)).flatten()
}

/// Digits with an optional sign and fraction, exactly (an f64 would lose the nanoseconds).
fn epoch_text_ns(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || fraction.contains('.') || fraction.contains('-') {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    // 1e11 s is the year 5138 and 1e11 ms is 1973: the magnitude tells the unit.
    let (unit_ns, scale) = if whole >= 100_000_000_000 {
        (1_000_000i64, 6)
    } else {
        (NS_PER_SEC, 9)
    };
    let mut frac_ns = 0i64;
    for (i, b) in fraction.bytes().take(scale).enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        frac_ns += i64::from(b - b'0') * 10i64.pow((scale - 1 - i) as u32);
    }
    let ns = whole.checked_mul(unit_ns)?.checked_add(frac_ns)?;
    Some(if negative { -ns } else { ns })
}

/// Epoch seconds or milliseconds, told apart by magnitude: 1e11 s is the year 5138, 1e11 ms is
/// 1973, so no real timestamp of either kind falls on the wrong side.
fn epoch_ns(v: f64) -> Option<i64> {
    if !v.is_finite() || v.abs() >= 9.2e15 {
        return None;
    }
    let unit = if v.abs() >= 1e11 { 1e6 } else { 1e9 };
    // Whole and fractional parts apart, so whole seconds stay exact. Past the nanosecond range
    // (seconds from 2262 on) a time saturates, as a text one does: a wrapped product could land
    // in the period.
    let whole = v.trunc();
    let ns = (whole as i64)
        .checked_mul(unit as i64)
        .and_then(|w| w.checked_add(((v - whole) * unit).round() as i64));
    Some(ns.unwrap_or(if v < 0.0 { i64::MIN } else { i64::MAX }))
}

/// A JSON value's text (`raw`: its JSON text) as Polars' string reader gave it: a string's
/// content, `true`/`false`, a number as `json_number_text`, an object or array as written, `null`
/// as `None`.
pub(super) fn json_text(raw: &str) -> Result<Option<Cow<'_, str>>, NotJson> {
    let Some(first) = raw.bytes().next() else {
        return Ok(None);
    };
    Ok(match first {
        b'n' => None,
        b'"' if !raw.contains('\\') => raw.get(1..raw.len() - 1).map(Cow::Borrowed),
        b'"' => Some(Cow::Owned(
            serde_json::from_str::<String>(raw).map_err(|_| NotJson)?,
        )),
        b't' | b'f' | b'{' | b'[' => Some(Cow::Borrowed(raw)),
        _ => Some(json_number_text(raw)?),
    })
}

/// A number's text: an integer's digits as written (`-0` as `0`), any other number in Rust's
/// shortest round-trip form (`1.50` → `1.5`, `2e2` → `200`), as the string reader wrote them.
pub(super) fn json_number_text(raw: &str) -> Result<Cow<'_, str>, NotJson> {
    let integer = !raw.contains(['.', 'e', 'E']);
    if integer {
        if let Ok(i) = raw.parse::<i64>() {
            return Ok(if i == 0 {
                Cow::Borrowed("0")
            } else {
                Cow::Borrowed(raw)
            });
        }
        if raw.parse::<u64>().is_ok() {
            return Ok(Cow::Borrowed(raw));
        }
    }
    let f: f64 = raw.parse().map_err(|_| NotJson)?;
    if !f.is_finite() {
        return Err(NotJson);
    }
    Ok(Cow::Owned(f.to_string()))
}

/// Text as a finite number (surrounding spaces allowed), or `None`.
pub(super) fn parse_number_text(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Numbers as f64; text that is not a finite number is null, which the caller rejects.
pub(super) fn parse_numbers(c: &Column) -> PolarsResult<Series> {
    let s = c.as_materialized_series();
    let name = s.name().clone();
    let out: Float64Chunked = match s.dtype() {
        DataType::String => s
            .str()?
            .iter()
            .map(|v| v.and_then(parse_number_text))
            .collect(),
        DataType::Null => Float64Chunked::full_null(name.clone(), s.len()),
        // One rule for text and binary columns: a value that is not a finite number (NaN, ±inf
        // in a Parquet float column) is non-numeric, and so rejected. Decimal columns (from
        // warehouses) are numbers.
        dt if dt.is_primitive_numeric() || dt.is_decimal() => s
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|v| v.filter(|f| f.is_finite()))
            .collect(),
        _ => Float64Chunked::full_null(name.clone(), s.len()),
    };
    Ok(out.with_name(name).into_series())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_accepted_shape() {
        // 2026-07-01T00:00:00Z is 1782864000 s since the epoch (date -d 2026-07-01T00:00:00Z +%s).
        let base = 1_782_864_000 * NS_PER_SEC;
        assert_eq!(parse_text_ts("2026-07-01T00:00:00Z"), Some(base));
        assert_eq!(parse_text_ts("2026-07-01T02:00:00+02:00"), Some(base));
        assert_eq!(
            parse_text_ts("2026-07-01T02:00:00.5+0200"),
            Some(base + NS_PER_SEC / 2)
        );
        assert_eq!(
            parse_text_ts("2026-06-30T23:59:59.123456789Z"),
            Some(base - NS_PER_SEC + 123_456_789)
        );
        assert_eq!(parse_text_ts("1782864000"), Some(base));
        assert_eq!(parse_text_ts("1782864000000"), Some(base));
        assert_eq!(parse_text_ts("1782864000.25"), Some(base + NS_PER_SEC / 4));
        assert_eq!(epoch_ns(1_782_864_000_123.0), Some(base + 123_000_000));
        // Seconds past 2262-04-11 saturate; a wrapping product would have given 1800-ish.
        assert_eq!(epoch_ns(5e10), Some(i64::MAX));
        assert_eq!(epoch_ns(-5e10), Some(i64::MIN));
        assert_eq!(epoch_ns(9.2e15), None);
    }

    #[test]
    fn hard_text_times_by_hand() {
        // The values tests/it/spark_rerun.py holds Spark to (date -u -d … +%s: 2026-07-01
        // 1782864000, 2026-10-01 1790812800).
        let (s, e, g) = (1_782_864_000i64, 1_790_812_800i64, NS_PER_SEC);
        for (text, want) in [
            (
                "2026-09-30T23:59:59.9999999999Z",
                Some((e - 1) * g + 999_999_999),
            ),
            ("2026-10-01T02:00:00+0200", Some(e * g)),
            ("2026-06-30T23:59:60.5Z", Some(s * g + g / 2)),
            ("2026-07-01T00:00:00\u{2212}00:01", Some((s + 60) * g)),
            ("2026-07-01t00:00:00+0001", Some((s - 60) * g)),
            ("1790812799999.9999", Some((e - 1) * g + 999_999_900)),
            ("00001782864000", Some(s * g)),
            ("-0.5", Some(-g / 2)),
            ("9223372036854775807", None),
            ("2026-07-01T01:02:03 +0000", None),
            ("2026-07-01T12:00:00.Z", None),
        ] {
            assert_eq!(parse_text_ts(text), want, "{text}");
        }
    }

    #[test]
    fn valid_times_beyond_the_nanosecond_range_saturate() {
        // Valid RFC 3339, outside i64 nanoseconds (1677-09-21 .. 2262-04-11): not unparseable.
        for (text, ns) in [
            ("0001-01-01T00:00:00Z", i64::MIN),
            ("1677-01-01T00:00:00Z", i64::MIN),
            ("2262-12-31T00:00:00Z", i64::MAX),
            ("9999-12-31T23:59:59Z", i64::MAX),
        ] {
            assert_eq!(parse_text_ts(text), Some(ns), "{text}");
        }
        // 1970-01-01 is 0; 1678 is inside the range, negative.
        assert_eq!(parse_text_ts("1970-01-01T00:00:00Z"), Some(0));
        assert!(parse_text_ts("1678-01-01T00:00:00Z").is_some_and(|n| n > i64::MIN && n < 0));
    }

    #[test]
    fn non_finite_floats_are_non_numeric_as_in_text() {
        let c = Column::new(
            "x".into(),
            [1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
        );
        let out = parse_numbers(&c).unwrap();
        let got: Vec<Option<f64>> = out.f64().unwrap().iter().collect();
        assert_eq!(got, [Some(1.5), None, None, None]);
        let t = Column::new("x".into(), ["1.5", "NaN", "inf", "-inf"]);
        let got: Vec<Option<f64>> = parse_numbers(&t).unwrap().f64().unwrap().iter().collect();
        assert_eq!(got, [Some(1.5), None, None, None]);
    }

    #[test]
    fn timestamps_without_zone_or_garbage_are_unparseable() {
        for bad in [
            "2026-07-01T00:00:00",
            "yesterday",
            "",
            "2026-13-01T00:00:00Z",
            "1-2-3",
        ] {
            assert_eq!(parse_text_ts(bad), None, "{bad}");
        }
    }
}
