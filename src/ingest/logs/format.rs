//! Which format a log file is in, and where each canonical field sits in its records. In: a path
//! and the configured field map. Out: the format (from the config, the extension, or a JSON
//! file's first record: `result` → Splunk export, `_source` → Elasticsearch dump, else NDJSON)
//! and the read schema of the mapped paths. Guarantees: an extension that names no format is an
//! error asking for `format`; a path mapped both as a field and as an object is an error.

use std::io::{BufRead, BufReader};
use std::path::Path;

use polars::prelude::*;

use crate::config::{FieldMap, LogFormat};
use crate::error::{Error, Result};

/// From the extension; a JSON file's first record tells a Splunk export (`result` object) and an
/// Elasticsearch dump (`_source` object) from plain NDJSON.
pub(super) fn detect_format(path: &Path) -> Result<LogFormat> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => return Ok(LogFormat::Csv),
        "parquet" | "pq" => return Ok(LogFormat::Parquet),
        "json" | "jsonl" | "ndjson" | "log" => {}
        _ => {
            return Err(Error::Logs {
                path: path.to_path_buf(),
                line: None,
                message: "cannot tell the log format from the extension; set `format`".into(),
            });
        }
    }
    let (file, _) = crate::fsio::open_regular(path, "log file", None)?;
    // The first records decide; a file of one endless line is not read whole to find out.
    let head = std::io::Read::take(file, 16 << 20);
    for line in BufReader::new(head).lines().take(100) {
        // A line cut at the cap, or not UTF-8, tells nothing: the format stays undecided here.
        let Ok(line) = line else {
            break;
        };
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_str(&line) else {
            continue;
        };
        return Ok(if obj.get("result").is_some_and(|v| v.is_object()) {
            LogFormat::Splunk
        } else if obj.get("_source").is_some_and(|v| v.is_object()) {
            LogFormat::Elasticsearch
        } else {
            LogFormat::Ndjson
        });
    }
    Ok(LogFormat::Ndjson)
}

/// Canonical name → configured path, for the fields the KPIs use.
pub(super) fn field_list(f: &FieldMap) -> [(&'static str, &str); 6] {
    [
        ("ts_raw", f.timestamp.as_str()),
        ("model", f.model.as_str()),
        ("version", f.version.as_str()),
        ("latency_raw", f.latency_ms.as_str()),
        ("status", f.status.as_str()),
        ("score_raw", f.score.as_str()),
    ]
}

/// Where a field sits in a JSON record. Splunk flattens nested fields into dotted keys, so a
/// Splunk path is one literal key inside `result`; Elasticsearch paths are inside `_source`.
pub(crate) fn json_path(format: LogFormat, path: &str) -> Vec<String> {
    match format {
        LogFormat::Splunk => vec!["result".into(), path.into()],
        LogFormat::Elasticsearch => std::iter::once("_source")
            .chain(path.split('.'))
            .map(String::from)
            .collect(),
        _ => path.split('.').map(String::from).collect(),
    }
}

/// A dotted path into a Parquet file's columns: a struct's field, or, through a map column, a
/// key's value as text (Databricks' `request_metadata.model_name`).
pub(super) fn nested(schema: &Schema, path: &[String]) -> Expr {
    let Some((first, rest)) = path.split_first() else {
        return lit(NULL);
    };
    let mut expr = col(first.as_str());
    let mut dtype = schema.get(first.as_str()).cloned();
    for key in rest {
        match dtype {
            Some(ref d) if is_map(d) => {
                let key = key.clone();
                expr = expr.map(
                    move |c| map_value(&c, &key),
                    |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
                );
                dtype = Some(DataType::String);
            }
            Some(DataType::Struct(ref fields)) => {
                dtype = fields
                    .iter()
                    .find(|f| f.name() == key)
                    .map(|f| f.dtype().clone());
                expr = expr.struct_().field_by_name(key);
            }
            _ => {
                dtype = None;
                expr = expr.struct_().field_by_name(key);
            }
        }
    }
    expr
}

/// A Parquet map column, as Polars reads one: a list of `{key, value}` structs.
pub(crate) fn is_map(dtype: &DataType) -> bool {
    let DataType::List(inner) = dtype else {
        return false;
    };
    let DataType::Struct(fields) = inner.as_ref() else {
        return false;
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    names == ["key", "value"]
}

/// Each row's value for `key` in a map column, as text: its first entry with that key, null where
/// there is none (as Spark's `m['key']`).
pub(crate) fn map_value(c: &Column, key: &str) -> PolarsResult<Column> {
    let s = c.as_materialized_series();
    let lookup = |entries: Option<Series>| -> Option<String> {
        let entries = entries?;
        let pairs = entries.struct_().ok()?;
        let keys = pairs
            .field_by_name("key")
            .ok()?
            .cast(&DataType::String)
            .ok()?;
        let at = keys.str().ok()?.iter().position(|k| k == Some(key))?;
        let values = pairs
            .field_by_name("value")
            .ok()?
            .cast(&DataType::String)
            .ok()?;
        values.str().ok()?.get(at).map(str::to_string)
    };
    let list = s.list()?;
    let out: StringChunked = (0..list.len())
        .map(|i| lookup(list.get_as_series(i)))
        .collect();
    Ok(out.with_name(s.name().clone()).into_column())
}
