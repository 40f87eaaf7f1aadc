//! The Spark SQL of the log summary (issue 22; docs/log-summary.md). In: the source's schema as
//! Spark reports it, the field map, the success values and the period. Out: the statements, in
//! order, that classify every record by the rules of the embedded pass (`classify::canonical`)
//! and compute, over the period's accepted records, per model the counts, exact quantiles (Spark's
//! `percentile`, the linear method numpy and Polars use), first and last time, longest gap, days,
//! versions and PSI window bins. Guarantees: every literal is escaped or a number; a mapped column
//! that is missing or of a type these rules do not read is an error naming the field, before
//! anything runs; only the summary's few rows per model come back.

use serde_json::Value;

use super::schema::{Read, field, literal, record};
use super::values;

use crate::config::{FieldMap, Period};
use crate::ingest::logs::summary::{PSI_MIN_PERIOD_DAYS, PSI_WINDOW_DAYS};
use crate::ingest::logs::{NS_PER_DAY, period_bounds_ns};

/// The label of a record accepted in the period, and of one outside it, in the `code` column.
pub(crate) const ACCEPTED: &str = "accepted";
pub(crate) const OUTSIDE: &str = "outside period";

/// The statements to run, named; or what in the schema stops them, naming the field.
pub(super) fn statements(
    schema: &Value,
    (fields, success): (&FieldMap, &[String]),
    period: Period,
    scope: &[String],
) -> Result<Vec<(&'static str, String)>, String> {
    let mut out = vec![("classified", classified(schema, fields, period, scope)?)];
    out.extend(summaries(success, period));
    Ok(out)
}

/// The view `dossier_classified`: every record (of the scope) with its values and its code —
/// accepted, outside the period, or a reject reason, first match wins as in the embedded pass.
fn classified(
    schema: &Value,
    fields: &FieldMap,
    period: Period,
    scope: &[String],
) -> Result<String, String> {
    let column = |name: &str, path: &str, required: bool| field(schema, (name, path), required);
    let (raw_ts, ts) = column("timestamp", &fields.timestamp, true)?;
    let (_, model) = column("model", &fields.model, true)?;
    let (_, version) = column("version", &fields.version, false)?;
    let (raw_latency, latency) = column("latency_ms", &fields.latency_ms, false)?;
    let (_, status) = column("status", &fields.status, false)?;
    let (raw_score, score) = column("score", &fields.score, false)?;
    let (start, end) = period_bounds_ns(period);
    let unreadable = |c: &str| {
        format!(
            "has_{c} AND ({c} IS NULL OR isnan({c}) OR {c} = double('inf') OR {c} = double('-inf'))"
        )
    };
    let model = model.first_pass();
    // A scoped request reads the named systems' records and the rejects no system can be told
    // for (no model), as the embedded pass does; Spark pushes the filter into its scan.
    let scoped = match scope.is_empty() {
        true => String::new(),
        false => {
            let names = scope
                .iter()
                .map(|s| literal(s))
                .collect::<Vec<_>>()
                .join(", ");
            format!(" WHERE {model} IS NULL OR {model} IN ({names})")
        }
    };
    // Three passes under the classification: the raw columns (text trimmed), the parts of a text
    // time, the values.
    let read = format!(
        "SELECT {raw_ts} IS NULL AS ts_missing, {ts_in} AS ts_in, {model} AS model, \
         {version} AS version, {latency_in} AS latency_in, {raw_latency} IS NOT NULL AS has_latency, \
         {status} AS status, {score_in} AS score_in, {raw_score} IS NOT NULL AS has_score, \
         {record} AS record FROM dossier_logs{scoped}",
        record = record(schema, fields),
        ts_in = ts.first_pass(),
        version = version.first_pass(),
        latency_in = latency.first_pass(),
        status = status.first_pass(),
        score_in = score.first_pass(),
    );
    let (parts, ts_ns) = match ts {
        Read::Typed(_) => (String::new(), "ts_in".to_string()),
        Read::Text(_) => (
            values::time_parts("ts_in")
                .iter()
                .map(|(e, n)| format!(", {e} AS {n}"))
                .collect(),
            values::time_ns(),
        ),
    };
    let values = format!(
        "SELECT ts_missing, {ts_ns} AS ts_ns, model, version, {latency} AS latency, has_latency, \
         status, {score} AS score, has_score, record FROM (SELECT *{parts} FROM ({read}))",
        latency = latency.value("latency_in"),
        score = score.value("score_in"),
    );
    Ok(format!(
        "CREATE OR REPLACE TEMP VIEW dossier_classified AS \
         SELECT *, CASE \
         WHEN ts_missing THEN 'no timestamp' \
         WHEN ts_ns IS NULL THEN 'unparseable timestamp' \
         WHEN model IS NULL OR model = '' THEN 'no model' \
         WHEN {lat} THEN 'non-numeric latency' \
         WHEN {sco} THEN 'non-numeric score' \
         WHEN ts_ns < {start} OR ts_ns >= {end} THEN '{OUTSIDE}' \
         ELSE '{ACCEPTED}' END AS code \
         FROM ({values})",
        lat = unreadable("latency"),
        sco = unreadable("score"),
    ))
}

/// Over the accepted records, per model: counts and errors, exact quantiles, first and last time,
/// the longest gap, records per day, versions and (for a period long enough) the PSI window bins;
/// and the records by code.
fn summaries(success: &[String], period: Period) -> Vec<(&'static str, String)> {
    let (start, end) = period_bounds_ns(period);
    let successes = success
        .iter()
        .map(|s| literal(s))
        .collect::<Vec<_>>()
        .join(", ");
    let is_error = match successes.is_empty() {
        true => "status IS NOT NULL".to_string(),
        false => format!("status IS NOT NULL AND status NOT IN ({successes})"),
    };
    let accepted = format!(
        "CREATE OR REPLACE TEMP VIEW dossier_accepted AS \
         SELECT * FROM dossier_classified WHERE code = '{ACCEPTED}'"
    );
    let mut out = vec![
        ("accepted", accepted),
        (
            "codes",
            "SELECT code, count(*) AS n FROM dossier_classified GROUP BY code".into(),
        ),
        (
            "models",
            format!(
                "SELECT model, count(*) AS requests, count(status) AS with_status, \
                 count_if({is_error}) AS errors, \
                 percentile(latency, array(0.5, 0.95, 0.99)) AS latency_q, \
                 avg(score) AS score_mean, min(ts_ns) AS first_ts, max(ts_ns) AS last_ts \
                 FROM dossier_accepted GROUP BY model"
            ),
        ),
        (
            "gaps",
            "SELECT model, max(ts_ns - previous) AS gap FROM (SELECT model, ts_ns, \
             lag(ts_ns) OVER (PARTITION BY model ORDER BY ts_ns) AS previous \
             FROM dossier_accepted) GROUP BY model"
                .into(),
        ),
        (
            "daily",
            format!(
                "SELECT model, (ts_ns - {start}) div {NS_PER_DAY} AS day, count(*) AS n \
                 FROM dossier_accepted GROUP BY 1, 2"
            ),
        ),
        (
            "versions",
            "SELECT model, version, count(*) AS n FROM dossier_accepted \
             WHERE version IS NOT NULL GROUP BY 1, 2"
                .into(),
        ),
    ];
    if period.days() >= PSI_MIN_PERIOD_DAYS {
        let window = PSI_WINDOW_DAYS * NS_PER_DAY;
        let (first_end, last_start) = (start + window, end - window);
        out.push((
            "psi",
            format!(
                "WITH edges AS (SELECT model, \
                 percentile(score, array(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) AS edges \
                 FROM dossier_accepted WHERE score IS NOT NULL AND ts_ns < {first_end} \
                 GROUP BY model) \
                 SELECT a.model, CASE WHEN a.ts_ns < {first_end} THEN 0 ELSE 1 END AS w, \
                 size(filter(e.edges, x -> x < a.score)) AS bin, count(*) AS n \
                 FROM dossier_accepted a JOIN edges e ON a.model = e.model \
                 WHERE a.score IS NOT NULL AND (a.ts_ns < {first_end} OR a.ts_ns >= {last_start}) \
                 GROUP BY 1, 2, 3"
            ),
        ));
    }
    out
}

/// The statement of a bundle's excerpt: the first `rows` accepted records of the period in scope,
/// by time (ties by the record's text, so the cut is the same on every run).
pub(super) fn excerpt(rows: u64) -> (&'static str, String) {
    (
        "excerpt",
        format!(
            "SELECT record FROM dossier_classified WHERE code = '{ACCEPTED}' \
             ORDER BY ts_ns, record LIMIT {rows}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn schema() -> Value {
        serde_json::json!({"type": "struct", "fields": [
            {"name": "timestamp", "type": "timestamp", "nullable": true, "metadata": {}},
            {"name": "model", "type": "string", "nullable": true, "metadata": {}},
            {"name": "latency_ms", "type": "double", "nullable": true, "metadata": {}},
            {"name": "http", "type": {"type": "struct", "fields": [
                {"name": "status", "type": "integer", "nullable": true, "metadata": {}}]},
             "nullable": true, "metadata": {}},
            {"name": "score", "type": "string", "nullable": true, "metadata": {}}]})
    }

    fn period() -> Period {
        Period {
            start: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
        }
    }

    #[test]
    fn a_map_column_is_reached_by_key() {
        let schema = serde_json::json!({"type": "struct", "fields": [
            {"name": "timestamp_ms", "type": "long", "nullable": true, "metadata": {}},
            {"name": "request_metadata", "type": {"type": "map", "keyType": "string",
             "valueType": "string", "valueContainsNull": true}, "nullable": true, "metadata": {}}]});
        let fields = FieldMap {
            timestamp: "timestamp_ms".into(),
            model: "request_metadata.model_name".into(),
            ..FieldMap::default()
        };
        let sql = statements(&schema, (&fields, &[]), period(), &[]).unwrap();
        assert!(
            sql[0]
                .1
                .contains("CAST(`request_metadata`['model_name'] AS STRING) AS model")
        );
    }

    #[test]
    fn columns_are_quoted_typed_and_checked() {
        let mut fields = FieldMap {
            status: "http.status".into(),
            score: "missing".into(),
            ..FieldMap::default()
        };
        let success = ["200".to_string(), "it's".to_string()];
        let sql = statements(&schema(), (&fields, &success), period(), &[]).unwrap();
        let classified = &sql[0].1;
        assert!(classified.contains(
            "coalesce(try_multiply(unix_micros(CAST(`timestamp` AS TIMESTAMP)), 1000), "
        ));
        assert!(classified.contains("`timestamp` IS NULL AS ts_missing"));
        // A number is epoch seconds or ms; the classification tells a missing time from one
        // that cannot be read.
        let mut epoch = schema();
        epoch["fields"][0]["type"] = "long".into();
        let sql = statements(&epoch, (&fields, &success), period(), &[]).unwrap();
        assert!(
            sql[0]
                .1
                .contains("abs(CAST(`timestamp` AS DOUBLE)) >= 1e11 THEN 1000000")
        );
        assert!(
            sql[0]
                .1
                .contains("WHEN ts_ns IS NULL THEN 'unparseable timestamp'")
        );
        epoch["fields"][0]["type"] = "decimal(20,3)".into();
        let e = statements(&epoch, (&fields, &success), period(), &[]).unwrap_err();
        assert!(e.contains("(fields.timestamp) is `decimal(20,3)`"), "{e}");
        let sql = statements(&schema(), (&fields, &success), period(), &[]).unwrap();
        let classified = &sql[0].1;
        assert!(classified.contains("CAST(`http`.`status` AS STRING) AS status"));
        assert!(classified.contains("NULL AS score"), "{classified}");
        // 2026-07-01 and 2026-10-01 00:00Z in ns (date -u +%s: 1782864000, 1790812800).
        assert!(classified.contains("ts_ns < 1782864000000000000 OR ts_ns >= 1790812800000000000"));
        let models = &sql.iter().find(|(n, _)| *n == "models").unwrap().1;
        assert!(
            models.contains(r"status NOT IN ('200', 'it\'s')"),
            "{models}"
        );
        assert!(sql.iter().any(|(n, _)| *n == "psi"));
        // A decimal version is refused: its text differs between engines (`2.00`, `2`).
        let mut decimal = schema();
        decimal["fields"][2]["type"] = "decimal(10,2)".into();
        fields.version = "latency_ms".into();
        let e = statements(&decimal, (&fields, &[]), period(), &[]).unwrap_err();
        assert!(e.contains("(fields.version) is `decimal(10,2)`"), "{e}");
        fields.version = "version".into();
        // A text score is read by the number grammar; a boolean one is refused.
        fields.score = "score".into();
        let sql = statements(&schema(), (&fields, &[]), period(), &[]).unwrap();
        assert!(
            sql[0]
                .1
                .contains(r"CASE WHEN score_in RLIKE r'\A[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
                && sql[0]
                    .1
                    .contains("regexp_replace(`score`, r'(?U)\\A\\s+|\\s+\\z', '') AS score_in"),
            "{}",
            sql[0].1
        );
        let mut boolean = schema();
        boolean["fields"][4]["type"] = "boolean".into();
        let e = statements(&boolean, (&fields, &[]), period(), &[]).unwrap_err();
        assert!(e.contains("`score` (fields.score) is `boolean`"), "{e}");
        fields.score = "missing".into();
        fields.model = "name".into();
        let e = statements(&schema(), (&fields, &[]), period(), &[]).unwrap_err();
        assert_eq!(e, "has no column `name` (fields.model)");
        // Each record's mapped fields as JSON, under their canonical names, for an excerpt;
        // a time column as RFC 3339, a missing field left out.
        fields.model = "model".into();
        let sql = statements(&schema(), (&fields, &[]), period(), &[]).unwrap();
        assert!(
            sql[0].1.contains(
                "to_json(named_struct('timestamp', CAST(`timestamp` AS TIMESTAMP), 'model', \
                 `model`, 'latency_ms', `latency_ms`, 'status', `http`.`status`), \
                 map('timestampFormat', \
                 'yyyy-MM-dd\\'T\\'HH:mm:ss.SSSSSSXXX', 'ignoreNullFields', 'false')) AS record"
            ),
            "{}",
            sql[0].1
        );
        assert_eq!(
            excerpt(7).1,
            "SELECT record FROM dossier_classified WHERE code = 'accepted' ORDER BY ts_ns, \
             record LIMIT 7"
        );
        // A scope filters the scan: the named systems, and records without a model.
        let sql = statements(&schema(), (&fields, &[]), period(), &["a'b".into()]).unwrap();
        assert!(
            sql[0].1.contains(
                r"FROM dossier_logs WHERE CAST(`model` AS STRING) IS NULL OR CAST(`model` AS STRING) IN ('a\'b'))"
            ),
            "{}",
            sql[0].1
        );
    }
}
