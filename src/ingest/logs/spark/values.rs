//! Values in Spark SQL, by the embedded pass's rules (issue 22): a timestamp column's time, and
//! a number's as epoch seconds or milliseconds (`logs::values::epoch_ns`); a time in the grammar
//! of `rfc3339::parse` or as epoch digits (`logs::values::parse_text_ts`), a number as Rust's
//! `f64` parser reads a finite one (`logs::values::parse_number_text`). In: a column's SQL, typed
//! or trimmed text. Out:
//! SQL expressions, over columns of the view they are selected from. Guarantees: the same
//! grammar, written as Java regular expressions over ASCII digits, and the same integer
//! arithmetic (no calendar function of Spark's: proleptic Gregorian days by H. Hinnant's formula,
//! years 0000–9999); no expression can raise an error in ANSI mode (`try_cast`, `try_add`,
//! `try_multiply`); anything else is NULL, which the classification calls unparseable or
//! non-numeric.

/// Text with Unicode whitespace trimmed from both ends, as Rust's `str::trim` trims it (Java's
/// `\s` under `(?U)` is Unicode's White_Space, as Rust's).
pub(super) fn trimmed(column: &str) -> String {
    format!(r"regexp_replace({column}, r'(?U)\A\s+|\s+\z', '')")
}

/// The time shape: `YYYY-MM-DD`, `T`/`t`/space, `hh:mm:ss`, fraction, `Z`/`z`/`±hh:mm`/`±hhmm`.
const RFC3339: &str = r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+\-\x{2212}][0-9]{2}:?[0-9]{2})\z";
/// The offset at the end of a text of the time shape.
const OFFSET: &str = r"([Zz]|[+\-\x{2212}][0-9]{2}:?[0-9]{2})\z";
/// Epoch digits: an optional `-`, digits, an optional `.` and digits.
const EPOCH: &str = r"\A-?[0-9]+(\.[0-9]*)?\z";
/// A finite number as Rust's `f64` parser reads one (its `inf`/`nan` are not finite).
const NUMBER: &str = r"\A[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\z";

/// The parts of a text time in column `t`, as named columns for `time_ns`: year, month, day,
/// hour, minute, second, the fraction in ns, the offset in seconds (NULL when out of range); and
/// the time of epoch digits in ns. NULL where the text is not of the shape.
pub(super) fn time_parts(t: &str) -> Vec<(String, &'static str)> {
    let when = |shape: &str, e: String| format!("CASE WHEN {t} RLIKE r'{shape}' THEN {e} END");
    let at = |from: u32, n: u32| {
        when(
            RFC3339,
            format!("try_cast(substr({t}, {from}, {n}) AS BIGINT)"),
        )
    };
    let off = format!("regexp_extract({t}, r'{OFFSET}', 1)");
    let (oh, om) = (
        format!("try_cast(substr({off}, 2, 2) AS BIGINT)"),
        format!("try_cast(substr({off}, -2, 2) AS BIGINT)"),
    );
    let offset = format!(
        "CASE WHEN {off} IN ('Z', 'z') THEN 0 WHEN {oh} > 23 OR {om} > 59 THEN NULL \
         WHEN substr({off}, 1, 1) = '+' THEN {oh} * 3600 + {om} * 60 \
         ELSE -({oh} * 3600 + {om} * 60) END"
    );
    let fraction = format!(
        "try_cast(rpad(substr(regexp_extract({t}, r'\\A.{{19}}\\.([0-9]+)', 1), 1, 9), 9, '0') AS BIGINT)"
    );
    vec![
        (at(1, 4), "t_year"),
        (at(6, 2), "t_month"),
        (at(9, 2), "t_day"),
        (at(12, 2), "t_hour"),
        (at(15, 2), "t_minute"),
        (at(18, 2), "t_second"),
        (when(RFC3339, fraction), "t_nanos"),
        (when(RFC3339, offset), "t_offset"),
        (when(EPOCH, epoch_text(t)), "t_epoch"),
    ]
}

/// Epoch digits in ns (`values::epoch_text_ns`): milliseconds when the whole part is ≥ 1e11,
/// else seconds; the fraction's digits to the unit's resolution, the rest dropped; NULL when the
/// whole part or the product overflows.
fn epoch_text(t: &str) -> String {
    let whole = format!(r"try_cast(regexp_extract({t}, r'\A-?([0-9]+)', 1) AS BIGINT)");
    let ms = format!("{whole} >= 100000000000");
    let digits = |n: u32| {
        format!(
            r"try_cast(rpad(substr(regexp_extract({t}, r'\.([0-9]*)\z', 1), 1, {n}), {n}, '0') AS BIGINT)"
        )
    };
    format!(
        "(CASE WHEN {t} LIKE '-%' THEN -1 ELSE 1 END) * (CASE WHEN {ms} \
         THEN try_add(try_multiply({whole}, 1000000), {ms_frac}) \
         ELSE try_add(try_multiply({whole}, 1000000000), {s_frac}) END)",
        ms_frac = digits(6),
        s_frac = digits(9),
    )
}

/// The time in ns from `time_parts`' columns: NULL when a part is out of range; past the
/// nanosecond range the end its sign points to (`rfc3339::saturated`, formed the same way).
pub(super) fn time_ns() -> String {
    let leap = "((t_year % 4 = 0 AND t_year % 100 <> 0) OR t_year % 400 = 0)";
    let month_days = format!(
        "CASE WHEN t_month = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END \
         WHEN t_month IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    );
    let valid = format!(
        "t_month BETWEEN 1 AND 12 AND t_day BETWEEN 1 AND {month_days} AND t_hour <= 23 \
         AND t_minute <= 59 AND t_second <= 60 AND t_offset IS NOT NULL"
    );
    // Days since 1970-01-01 (Hinnant's days_from_civil), the year moved 400 on (one era of
    // 146097 days) so every division is of a non-negative number.
    let y = "(t_year - CASE WHEN t_month <= 2 THEN 1 ELSE 0 END + 400)";
    let doy = "((153 * ((t_month + 9) % 12) + 2) div 5 + t_day - 1)";
    let yoe = format!("({y} - ({y} div 400) * 400)");
    let days = format!(
        "(({y} div 400) * 146097 + {yoe} * 365 + {yoe} div 4 - {yoe} div 100 + {doy} \
         - 719468 - 146097)"
    );
    let secs = format!("({days} * 86400 + t_hour * 3600 + t_minute * 60 + t_second - t_offset)");
    format!(
        "CASE WHEN t_epoch IS NOT NULL THEN t_epoch WHEN t_year IS NULL OR NOT ({valid}) THEN NULL \
         ELSE coalesce(CASE WHEN {secs} < 0 AND t_nanos > 0 \
         THEN try_add(try_multiply({secs} + 1, 1000000000), t_nanos - 1000000000) \
         ELSE try_add(try_multiply({secs}, 1000000000), t_nanos) END, \
         CASE WHEN {secs} < 0 THEN -9223372036854775807 - 1 ELSE 9223372036854775807 END) END"
    )
}

/// A finite-looking number from trimmed text, or NULL (infinities are caught later, as for a
/// typed column: a text of 400 digits is a number, and overflows to infinity in both engines).
pub(super) fn number(t: &str) -> String {
    format!("CASE WHEN {t} RLIKE r'{NUMBER}' THEN try_cast({t} AS DOUBLE) END")
}

/// A timestamp column in ns since the epoch; past the nanosecond range (years after 2262 or
/// before 1677) the end its sign points to, as the embedded pass keeps a valid time there, never
/// an overflow error.
pub(super) fn saturated_ns(column: &str) -> String {
    let micros = format!("unix_micros(CAST({column} AS TIMESTAMP))");
    format!(
        "(CASE WHEN {column} IS NULL THEN NULL ELSE coalesce(try_multiply({micros}, 1000), \
         CASE WHEN {micros} < 0 THEN -9223372036854775807 - 1 ELSE 9223372036854775807 END) END)"
    )
}

/// A number as epoch seconds or milliseconds (|v| ≥ 1e11), in ns, by `values::epoch_ns`'s rule:
/// NaN, ±inf and |v| ≥ 9.2e15 are unparseable (NULL); whole and fraction apart; past the
/// nanosecond range it saturates.
pub(super) fn epoch_ns(v: &str) -> String {
    let unit = format!("(CASE WHEN abs({v}) >= 1e11 THEN 1000000 ELSE 1000000000 END)");
    format!(
        "(CASE WHEN isnan({v}) OR abs({v}) >= 9.2e15 THEN NULL \
         ELSE coalesce(try_add(try_multiply(CAST({v} AS BIGINT), {unit}), \
         CAST(round(({v} - CAST(CAST({v} AS BIGINT) AS DOUBLE)) * {unit}) AS BIGINT)), \
         CASE WHEN {v} < 0 THEN -9223372036854775807 - 1 ELSE 9223372036854775807 END) END)"
    )
}
