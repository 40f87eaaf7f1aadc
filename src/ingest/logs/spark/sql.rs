//! The Spark SQL of the log summary (issue 22; docs/log-summary.md). In: the source's schema as
//! Spark reports it, the field map, the success values and the period. Out: the statements, in
//! order, that classify every record by the rules of the embedded pass (`classify::canonical`)
//! and compute, over the period's accepted records, per model the counts, exact quantiles (Spark's
//! `percentile`, the linear method numpy and Polars use), first and last time, longest gap, days,
//! versions and PSI window bins. Guarantees: every literal is escaped or a number; a mapped column
//! that is missing or of a type these rules do not read is an error naming the field, before
//! anything runs; only the summary's few rows per model come back.

use serde_json::Value;

use super::values::{self, epoch_ns, saturated_ns};

use crate::config::{FieldMap, Period};
use crate::ingest::logs::summary::{PSI_MIN_PERIOD_DAYS, PSI_WINDOW_DAYS};
use crate::ingest::logs::{NS_PER_DAY, period_bounds_ns};

/// The label of a record accepted in the period, and of one outside it, in the `code` column.
pub(crate) const ACCEPTED: &str = "accepted";
pub(crate) const OUTSIDE: &str = "outside period";

/// A field as the first pass selects it: its value (a typed column), or its trimmed text, which
/// the next passes parse (`values`).
enum Read {
    Typed(String),
    Text(String),
}

impl Read {
    fn first_pass(&self) -> &str {
        match self {
            Read::Typed(e) | Read::Text(e) => e,
        }
    }

    /// The number, from the first pass's column `c`.
    fn value(&self, c: &str) -> String {
        match self {
            Read::Typed(_) => c.to_string(),
            Read::Text(_) => values::number(c),
        }
    }
}

/// How a column's Spark type is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Timestamp,
    Text,
    /// Whole numbers: read as text (a status, a version) or as a number.
    Integer,
    Number,
}

/// The statements to run, named; or what in the schema stops them, naming the field.
pub(super) fn statements(
    schema: &Value,
    (fields, success): (&FieldMap, &[String]),
    period: Period,
    scope: &[String],
) -> Result<Vec<(&'static str, String)>, String> {
    // Each field: its raw column (or NULL when an optional one is absent) and how it is read.
    let column = |name: &str, path: &str, required: bool| -> Result<(String, Read), String> {
        let Some((raw, kind)) = resolve(schema, path) else {
            return if required {
                Err(format!("has no column `{path}` (fields.{name})"))
            } else {
                Ok(("NULL".into(), Read::Typed("NULL".into())))
            };
        };
        let wanted = match name {
            "timestamp" => Kind::Timestamp,
            "latency_ms" | "score" => Kind::Number,
            _ => Kind::Text,
        };
        let read = match (wanted, read_as(&kind)) {
            (Kind::Timestamp, Some(Kind::Timestamp)) => Read::Typed(saturated_ns(&raw)),
            // A decimal time is not read as epoch by the embedded pass (Polars), so not here.
            (Kind::Timestamp, Some(Kind::Integer | Kind::Number))
                if !kind.starts_with("decimal") =>
            {
                Read::Typed(epoch_ns(&format!("CAST({raw} AS DOUBLE)")))
            }
            (Kind::Timestamp | Kind::Number, Some(Kind::Text)) => Read::Text(values::trimmed(&raw)),
            (Kind::Number, Some(Kind::Number | Kind::Integer)) => {
                Read::Typed(format!("CAST({raw} AS DOUBLE)"))
            }
            // An integer's text is the same in Spark and Polars; a decimal's or a float's is not
            // (`2.00`, `2.0`), so those are refused rather than compared as other text.
            (Kind::Text, Some(Kind::Text | Kind::Integer)) => {
                Read::Typed(format!("CAST({raw} AS STRING)"))
            }
            _ => {
                return Err(format!(
                    "column `{path}` (fields.{name}) is `{kind}`, which engine: spark does not \
                     read: a timestamp must be a timestamp column, a number (epoch) or text, \
                     latency and score numbers or text, model, version and status text or \
                     integers"
                ));
            }
        };
        Ok((raw, read))
    };
    let (raw_ts, ts) = column("timestamp", &fields.timestamp, true)?;
    let (_, model) = column("model", &fields.model, true)?;
    let (_, version) = column("version", &fields.version, false)?;
    let (raw_latency, latency) = column("latency_ms", &fields.latency_ms, false)?;
    let (_, status) = column("status", &fields.status, false)?;
    let (raw_score, score) = column("score", &fields.score, false)?;
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
    let classified = format!(
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
    );
    let accepted = format!(
        "CREATE OR REPLACE TEMP VIEW dossier_accepted AS \
         SELECT * FROM dossier_classified WHERE code = '{ACCEPTED}'"
    );
    let mut out = vec![
        ("classified", classified),
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
    Ok(out)
}

/// A record as a bundle's excerpt carries it: its mapped fields under their canonical names, as
/// JSON (a time as RFC 3339 in UTC, to the microsecond Spark keeps; nulls kept). Spark computes
/// it only for the statement that asks for it (`excerpt`): other queries prune the column.
fn record(schema: &Value, fields: &FieldMap) -> String {
    let mapped = [
        ("timestamp", &fields.timestamp),
        ("model", &fields.model),
        ("version", &fields.version),
        ("latency_ms", &fields.latency_ms),
        ("status", &fields.status),
        ("score", &fields.score),
        ("request_id", &fields.request_id),
    ];
    let parts: Vec<String> = mapped
        .iter()
        .filter_map(|(name, path)| {
            let (column, kind) = resolve(schema, path)?;
            let value = match read_as(&kind) {
                Some(Kind::Timestamp) => format!("CAST({column} AS TIMESTAMP)"),
                _ => column,
            };
            Some(format!("'{name}', {value}"))
        })
        .collect();
    format!(
        "to_json(named_struct({}), map('timestampFormat', {}, 'ignoreNullFields', 'false'))",
        parts.join(", "),
        literal("yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX")
    )
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

/// A name as a Spark identifier, backquoted.
fn backquoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal: quotes and backslashes escaped, as Spark SQL reads them.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The column at a dotted path, if there is one: its Spark reference and its type's name. A part
/// reaches into a struct column's field or, after a map column with text keys, a key's value
/// (`request_metadata.model_name` is `` `request_metadata`['model_name'] ``, as Databricks'
/// inference tables keep the model's name).
fn resolve(schema: &Value, path: &str) -> Option<(String, String)> {
    let name = |kind: &Value| match kind {
        Value::String(s) => s.clone(),
        other => other
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
    };
    let mut kind = schema;
    let mut sql = String::new();
    for part in path.split('.') {
        match name(kind).as_str() {
            "struct" => {
                let field = kind
                    .get("fields")?
                    .as_array()?
                    .iter()
                    .find(|f| f.get("name").and_then(Value::as_str) == Some(part))?;
                sql = match sql.is_empty() {
                    true => backquoted(part),
                    false => format!("{sql}.{}", backquoted(part)),
                };
                kind = field.get("type")?;
            }
            "map" if !sql.is_empty() && kind.get("keyType")? == "string" => {
                sql = format!("{sql}[{}]", literal(part));
                kind = kind.get("valueType")?;
            }
            _ => return None,
        }
    }
    Some((sql, name(kind)))
}

/// How a Spark type is read: timestamps, integers, other numbers and text; anything else not at
/// all.
fn read_as(kind: &str) -> Option<Kind> {
    match kind {
        "timestamp" | "timestamp_ntz" => Some(Kind::Timestamp),
        "string" => Some(Kind::Text),
        "byte" | "short" | "integer" | "long" => Some(Kind::Integer),
        "float" | "double" => Some(Kind::Number),
        k if k.starts_with("decimal") => Some(Kind::Number),
        k if k.starts_with("varchar") || k.starts_with("char") => Some(Kind::Text),
        _ => None,
    }
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
             "valueType": "string", "valueContainsNull": true}, "nullable": true, "metadata": {}},
            {"name": "by_id", "type": {"type": "map", "keyType": "long",
             "valueType": "string", "valueContainsNull": true}, "nullable": true, "metadata": {}}]});
        assert_eq!(
            resolve(&schema, "request_metadata.model_name"),
            Some(("`request_metadata`['model_name']".into(), "string".into()))
        );
        assert_eq!(
            resolve(&schema, "request_metadata.it's"),
            Some((r"`request_metadata`['it\'s']".into(), "string".into()))
        );
        // Only text keys; a map is not a column by itself, nor a key of nothing.
        assert_eq!(resolve(&schema, "by_id.1"), None);
        assert_eq!(resolve(&schema, "request_metadata.a.b"), None);
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
