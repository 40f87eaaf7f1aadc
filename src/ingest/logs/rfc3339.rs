//! The one text shape of a time dossier reads (docs/decisions.md, "Timestamps"), parsed by
//! position: `YYYY-MM-DD` `T`, `t` or a space, `hh:mm:ss` (`60` is a leap second, as RFC 3339
//! allows), an optional fraction of one or more digits (the first nine count: nanoseconds), and
//! `Z`, `z` or an offset `±hh:mm` / `±hhmm` (hours 00–23; the sign may be U+2212). In: the
//! text, already trimmed. Out: ns since the epoch (UTC), saturating past the nanosecond range;
//! `None` for anything else. Guarantees: one grammar, written down, so the Spark statements
//! (`spark/sql.rs`) can apply exactly the same one; a test compares it with chrono's RFC 3339
//! parser on every variant of each part, and names the few shapes where they differ.

use super::NS_PER_SEC;

/// U+2212 MINUS SIGN, which chrono's RFC 3339 parser takes for `-` in an offset.
const MINUS_SIGN: &[u8] = "\u{2212}".as_bytes();

/// The time `b` names, in ns since the epoch, or `None` when it is not of the shape.
pub(super) fn parse(b: &[u8]) -> Option<i64> {
    let digits = |at: usize, n: usize| -> Option<i64> {
        let mut v = 0i64;
        for &c in b.get(at..at + n)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let punct = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if punct.iter().any(|&(at, c)| b.get(at) != Some(&c))
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let valid_day = (1..=days_in_month(year, month)?).contains(&day);
    if !valid_day || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0i64;
    if b.get(at) == Some(&b'.') {
        let count = b
            .get(at + 1..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if count == 0 {
            return None;
        }
        // Digits past the ninth are below a nanosecond: dropped, as chrono drops them.
        let kept = count.min(9);
        nanos = digits(at + 1, kept)? * 10i64.pow(9 - kept as u32);
        at += 1 + count;
    }
    let offset = offset_seconds(b.get(at..)?)?;
    let days = days_from_civil(year, month, day);
    // A leap second (`:60`) is the next second's start, as chrono counts it.
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(saturated(secs, nanos))
}

/// `Z`, `z`, `±hh:mm` or `±hhmm` (hours 00–23, minutes 00–59) in seconds east of UTC.
fn offset_seconds(b: &[u8]) -> Option<i64> {
    if b == b"Z" || b == b"z" {
        return Some(0);
    }
    let (negative, rest) = match b {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        _ => (true, b.strip_prefix(MINUS_SIGN)?),
    };
    let (h, m) = match rest {
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
        _ => return None,
    };
    let two = |d: [u8; 2]| -> Option<i64> {
        d.iter().try_fold(0i64, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
        })
    };
    let (h, m) = (two(h)?, two(m)?);
    if h > 23 || m > 59 {
        return None;
    }
    let secs = h * 3600 + m * 60;
    Some(if negative { -secs } else { secs })
}

/// `secs` and `nanos` (0–999,999,999) in ns; past the i64 range the end `secs`' sign points to
/// (a valid time is never unreadable, it falls outside every period). Negative times are formed
/// as chrono forms them, so the boundary is the same.
pub(super) fn saturated(secs: i64, nanos: i64) -> i64 {
    let ns = if secs < 0 && nanos > 0 {
        (secs + 1)
            .checked_mul(NS_PER_SEC)
            .and_then(|s| s.checked_add(nanos - NS_PER_SEC))
    } else {
        secs.checked_mul(NS_PER_SEC)
            .and_then(|s| s.checked_add(nanos))
    };
    ns.unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX })
}

fn days_in_month(year: i64, month: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::logs::values::parse_text_ts;
    use chrono::DateTime;

    /// A chrono time in ns, saturating as the grammar does.
    fn saturated_ns<Tz: chrono::TimeZone>(t: &DateTime<Tz>) -> i64 {
        t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    /// chrono's RFC 3339 parser.
    fn rfc3339(text: &str) -> Option<i64> {
        DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|t| saturated_ns(&t))
    }

    /// chrono as `parse_text_ts` read text times before the grammar was written down: RFC 3339,
    /// then two strftime patterns for `±hhmm` offsets.
    fn by_chrono(text: &str) -> Option<i64> {
        let text = text.trim();
        rfc3339(text).or_else(|| {
            DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
                .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%z"))
                .ok()
                .map(|t| saturated_ns(&t))
        })
    }

    /// A `±hhmm` offset at the end written `±hh:mm`, the one RFC 3339 reads.
    fn with_colon(text: &str) -> String {
        let t = text.trim();
        let n = t.len();
        let tail = t.get(n.saturating_sub(4)..).unwrap_or_default();
        let sign = t.get(..n.saturating_sub(4)).unwrap_or_default();
        let signed = sign.ends_with(['+', '-', '\u{2212}']);
        match signed && tail.bytes().all(|b| b.is_ascii_digit()) && tail.len() == 4 {
            true => format!("{sign}{}:{}", &tail[..2], &tail[2..]),
            false => t.to_string(),
        }
    }

    /// Variants of every part of the shape, each around its limits.
    fn corpus() -> Vec<String> {
        let mut texts = Vec::new();
        for year in [
            "0000", "0001", "1600", "1677", "1678", "1969", "1970", "2000", "2024", "2100", "2262",
            "2263", "9999",
        ] {
            for month in 0..=13 {
                for day in [0, 1, 28, 29, 30, 31, 32] {
                    texts.push(format!("{year}-{month:02}-{day:02}T00:00:00Z"));
                }
            }
        }
        let times = [
            "00:00:00", "23:59:59", "23:59:60", "12:34:60", "24:00:00", "12:60:00", "12:00:61",
            "1:00:00",
        ];
        let fractions = [
            "",
            ".",
            ".5",
            ".123",
            ".123456789",
            ".1234567891",
            ".9999999999999",
            ".12a",
        ];
        let offsets = [
            "Z",
            "z",
            "+00:00",
            "-00:00",
            "+05:30",
            "-11:45",
            "+23:59",
            "-23:59",
            "+24:00",
            "+05:60",
            "+0530",
            "-2359",
            "\u{2212}05:30",
            "\u{2212}0530",
            "+05",
            "+5:30",
            "",
            " ",
            "Zx",
            "Z ",
            "+05:30:00",
        ];
        for sep in ["T", "t", " "] {
            for time in times {
                for fraction in fractions {
                    for offset in offsets {
                        texts.push(format!("2026-07-01{sep}{time}{fraction}{offset}"));
                    }
                }
            }
        }
        // Both ends of the nanosecond range, with and without a fraction.
        for edge in [
            "1677-09-21T00:12:43Z",
            "1677-09-21T00:12:43.145224191Z",
            "1677-09-21T00:12:43.145224192Z",
            "1677-09-21T00:12:43.2Z",
            "1677-09-21T00:12:44Z",
            "2262-04-11T23:47:16.854775807Z",
            "2262-04-11T23:47:16.854775808Z",
            "2262-04-11T23:47:16Z",
            "2262-04-11T23:47:17Z",
            "1969-12-31T23:59:59.5Z",
            "1969-12-31T23:59:60Z",
            "1969-12-31T23:59:60.25Z",
        ] {
            texts.push(edge.into());
        }
        texts.extend(
            [
                "2026/07/01T00:00:00Z",
                "+2026-07-01T00:00:00Z",
                "2026-07-01T00:00:00.000Z\u{0}",
                "\u{ff12}026-07-01T00:00:00Z",
                "  2026-07-01T00:00:00Z\n",
                "\u{2003}2026-07-01T00:00:00Z\u{3000}",
            ]
            .map(String::from),
        );
        texts
    }

    #[test]
    fn the_grammar_reads_as_chrono_reads_rfc3339() {
        // Every text reads as chrono's RFC 3339 parser reads it, once a `±hhmm` offset is
        // written `±hh:mm` (RFC 3339's only form).
        let mut accepted = 0;
        for text in corpus() {
            let ours = parse_text_ts(&text);
            accepted += usize::from(ours.is_some());
            assert_eq!(ours, rfc3339(&with_colon(&text)), "{text:?}");
        }
        // Counted by hand: 13 years × 53 valid dates of the 98 tried (1 and 28 of every month,
        // 29 of eleven, 30 of eleven, 31 of seven), +1 in each of the 4 leap years (0000, 1600,
        // 2000, 2024): 693; 3 separators × 4 valid times × 6 valid fractions × 13 valid offsets
        // (`Z ` trims to `Z`): 936; the 12 edges; 2 texts with whitespace around. 1643.
        assert_eq!(accepted, 693 + 936 + 12 + 2);
    }

    #[test]
    fn chronos_lenient_shapes_are_refused() {
        // chrono's strftime patterns read all of these; they are not RFC 3339, and a log that
        // writes them is better told than guessed at.
        for text in [
            "2026-7-1T1:2:3+0000",
            "2026-07-01T 01:02:03+0000",
            "2026-07-01T01:02:03 +0000",
            "2026-07-01T01:02:03+02 00",
            "2026-07-01T01:02:03+02::00",
            "+2026-07-01T01:02:03+0000",
            "226-07-01T01:02:03+0000",
            "2026-07-0101:02:03+0000",
        ] {
            assert!(by_chrono(text).is_some(), "{text}");
            assert_eq!(parse_text_ts(text), None, "{text}");
        }
    }

    #[test]
    fn leap_seconds_and_saturation() {
        // 2016-12-31T23:59:60Z is 2017-01-01T00:00:00Z (date -u -d 2017-01-01 +%s: 1483228800).
        let next = 1_483_228_800 * NS_PER_SEC;
        assert_eq!(parse(b"2016-12-31T23:59:60Z"), Some(next));
        assert_eq!(
            parse(b"2016-12-31T23:59:60.5Z"),
            Some(next + NS_PER_SEC / 2)
        );
        assert_eq!(saturated(-9_223_372_037, 145_224_192), i64::MIN);
        assert_eq!(saturated(-9_223_372_037, 145_224_191), i64::MIN);
        assert_eq!(
            saturated(-9_223_372_037, 200_000_000),
            i64::MIN + 54_775_808
        );
        assert_eq!(saturated(9_223_372_036, 854_775_807), i64::MAX);
        assert_eq!(saturated(9_223_372_036, 854_775_808), i64::MAX);
    }
}
