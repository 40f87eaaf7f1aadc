//! The source's schema as Spark reports it, read for the statements (issue 22). In: the schema
//! (Spark's JSON form), a field's dotted path and which canonical field it is. Out: the column's
//! Spark reference (through struct fields and, by key, map columns), and how the first pass reads
//! it: a typed value, or trimmed text the next passes parse (`values`). Guarantees: a column that
//! is missing (when required) or of a type the embedded pass would not read the same way is an
//! error naming the field; every name is backquoted and every literal escaped.

use serde_json::Value;

use super::values::{self, epoch_ns, saturated_ns};
use crate::config::FieldMap;

/// A field as the first pass selects it: its value (a typed column), or its trimmed text, which
/// the next passes parse (`values`).
pub(super) enum Read {
    Typed(String),
    Text(String),
}

impl Read {
    pub(super) fn first_pass(&self) -> &str {
        match self {
            Read::Typed(e) | Read::Text(e) => e,
        }
    }

    /// The number, from the first pass's column `c`.
    pub(super) fn value(&self, c: &str) -> String {
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

/// The field `name` at `path`: its raw column (NULL when an optional one is absent) and how the
/// first pass reads it; or why it cannot be read.
pub(super) fn field(
    schema: &Value,
    (name, path): (&str, &str),
    required: bool,
) -> Result<(String, Read), String> {
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
        (Kind::Timestamp, Some(Kind::Integer | Kind::Number)) if !kind.starts_with("decimal") => {
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
}

/// A record as a bundle's excerpt carries it: its mapped fields under their canonical names, as
/// JSON (a time as RFC 3339 in UTC, to the microsecond Spark keeps; nulls kept). Spark computes
/// it only for the statement that asks for it (`excerpt`): other queries prune the column.
pub(super) fn record(schema: &Value, fields: &FieldMap) -> String {
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

/// A name as a Spark identifier, backquoted.
fn backquoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal: quotes and backslashes escaped, as Spark SQL reads them.
pub(super) fn literal(s: &str) -> String {
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
    }
}
