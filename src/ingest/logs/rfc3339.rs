//! The RFC 3339 shape nearly every log writes, read by position (issue 20): chrono's general
//! parser cost more than the rest of a record. In: a timestamp's text. Out: ns since the epoch,
//! or `None` for "not this shape or not plainly valid" — never "invalid": `values::parse_text_ts`
//! then asks chrono. Guarantees: a time this path accepts is one chrono accepts, with the same
//! value; a test compares the two on every variant of the shape.

use super::NS_PER_SEC;

/// The shape nearly every log writes, `YYYY-MM-DDTHH:MM:SS[.f…]Z` or with `±HH:MM`, years
/// 1970–2261, read by position: chrono's general parser costs more than the rest of a record.
/// `None` means "not this shape or not plainly valid", never "invalid": the caller then asks
/// chrono, so a time this path accepts is exactly one chrono accepts, with the same value (a
/// test compares the two on every variant of the shape).
pub(super) fn common_rfc3339(b: &[u8]) -> Option<i64> {
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
    let punct = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if punct.iter().any(|&(at, c)| b.get(at) != Some(&c)) {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let valid_day = (1..=days_in_month(year, month)?).contains(&day);
    if !(1970..=2261).contains(&year) || !valid_day || hour > 23 || minute > 59 || second > 59 {
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
        if !(1..=9).contains(&count) {
            return None;
        }
        nanos = digits(at + 1, count)? * 10i64.pow(9 - count as u32);
        at += 1 + count;
    }
    let offset = match b.get(at..)? {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(secs * NS_PER_SEC + nanos)
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
    use crate::ingest::logs::values::{parse_text_ts, saturated_ns};
    use chrono::DateTime;

    /// chrono alone, as `parse_text_ts` read RFC 3339 before the common shape had its own path.
    fn by_chrono(text: &str) -> Option<i64> {
        let text = text.trim();
        DateTime::parse_from_rfc3339(text)
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%z"))
            .ok()
            .map(|t| saturated_ns(&t))
    }

    #[test]
    fn the_common_shape_reads_as_chrono_reads_it() {
        // Every date of four years around a leap day and a century, and variants of each part.
        let mut texts = Vec::new();
        for year in [
            "1969", "1970", "2000", "2023", "2024", "2100", "2261", "2262",
        ] {
            for month in 0..=13 {
                for day in [0, 1, 28, 29, 30, 31, 32] {
                    texts.push(format!("{year}-{month:02}-{day:02}T00:00:00Z"));
                }
            }
        }
        let times = [
            "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "1:00:00",
        ];
        let fractions = ["", ".", ".5", ".123", ".123456789", ".1234567891", ".12a"];
        let offsets = [
            "Z", "z", "+00:00", "-00:00", "+05:30", "-11:45", "+23:59", "+24:00", "+05:60",
            "+0530", "+05", "", " ", "Zx", "Z ",
        ];
        for time in times {
            for fraction in fractions {
                for offset in offsets {
                    texts.push(format!("2026-07-01T{time}{fraction}{offset}"));
                }
            }
        }
        texts.extend(
            [
                "2026-07-01t00:00:00Z",
                "2026-07-01 00:00:00Z",
                "2026/07/01T00:00:00Z",
                "+2026-07-01T00:00:00Z",
                "2026-07-01T00:00:00.000Z\u{0}",
                "２026-07-01T00:00:00Z",
            ]
            .map(String::from),
        );
        let mut fast = 0;
        for text in &texts {
            let quick = common_rfc3339(text.as_bytes());
            if quick.is_some() {
                fast += 1;
                assert_eq!(quick, by_chrono(text), "{text}");
            }
            assert_eq!(parse_text_ts(text), by_chrono(text), "{text}");
        }
        // The path is taken for every plainly valid text: per year 53 dates (7 long months × 5
        // days, 4 short × 4, February 2) or 54 in a leap year — 2000 and 2024 of the six years in
        // range: 320; and 2 times × 4 fractions × 6 offsets: 48.
        assert_eq!(fast, 368);
    }
}
