//! One CSV or Parquet log file read by Polars, lazily and with only the mapped fields projected.
//! In: the file, its format and the configured field map. Out: a `LazyFrame` of the
//! raw fields `row`, `ts_raw`, `model`, `version`, `latency_raw`, `status`, `score_raw`, every
//! one text or null. Guarantees: rows are numbered from 0 in file order; a file
//! without a timestamp or model column is an error naming the columns it has; the other fields
//! may be absent (null).

use polars::prelude::*;

use super::Input;
use super::format::{field_list, nested};
use super::scan::polars_error;
use crate::config::{LogFormat, LogSource};
use crate::error::{Error, Result};

/// The raw fields of one CSV or Parquet file as columns `row`, `ts_raw`, `model`, `version`,
/// `latency_raw`, `status`, `score_raw` (and the Splunk markers, null here).
pub(super) fn scan_file(input: &Input, source: &LogSource) -> Result<LazyFrame> {
    let path = &input.path;
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    let row_index = Some(RowIndex {
        name: "row".into(),
        offset: 0,
    });
    let fields = field_list(&source.fields);
    let lf = match input.format {
        LogFormat::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_row_index(row_index)
            .finish()
            .map_err(|e| polars_error(std::slice::from_ref(input), e))?,
        _ => {
            let args = ScanArgsParquet {
                row_index,
                ..Default::default()
            };
            LazyFrame::scan_parquet(pl_path, args)
                .map_err(|e| polars_error(std::slice::from_ref(input), e))?
        }
    };
    Ok(by_column(lf, input, &fields)?.with_columns(splunk_markers()))
}

/// The top-level keys of a Splunk export's lines besides `result`.
const SPLUNK_KEYS: [&str; 3] = ["preview", "lastrow", "messages"];

/// `preview`, `lastrow`, `messages` and `no_result`: what tells a Splunk export's own lines
/// from its records, constants here (a Splunk export is JSON lines, read by `jsonl`).
fn splunk_markers() -> Vec<Expr> {
    let mut out: Vec<Expr> = SPLUNK_KEYS
        .map(|k| lit(NULL).cast(DataType::String).alias(k))
        .to_vec();
    out.push(lit(false).alias("no_result"));
    out
}

/// The column a CSV group's rows carry their file's path in.
pub(super) const GROUP_PATH: &str = "__dossier_group_path";

/// Several small CSV files of one source with the same header, read by one reader: rows are
/// numbered across the group and each carries its file's path in `path` (`scan::locate_paths`
/// turns them back into each file's rows).
pub(super) fn scan_csv_group(group: &[&Input], source: &LogSource) -> Result<LazyFrame> {
    let Some(first) = group.first() else {
        return Err(Error::Internal("an empty CSV group".into()));
    };
    let paths = polars_buffer::Buffer::from_iter(
        group
            .iter()
            .map(|i| PlRefPath::new(i.path.to_string_lossy().as_ref())),
    );
    let lf = LazyCsvReader::new_paths(paths)
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_row_index(Some(RowIndex {
            name: "row".into(),
            offset: 0,
        }))
        .with_include_file_paths(Some(GROUP_PATH.into()))
        .finish()
        .map_err(|e| polars_error(std::slice::from_ref(first), e))?;
    let fields = field_list(&source.fields);
    let lf = by_column(lf, first, &fields)?;
    Ok(lf.with_columns(splunk_markers()))
}

/// CSV and Parquet: a field is a column (a dotted path reaches into a Parquet struct column). A
/// missing timestamp or model column is an error; the others may be absent.
fn by_column(mut lf: LazyFrame, input: &Input, fields: &[(&str, &str)]) -> Result<LazyFrame> {
    let schema = lf
        .collect_schema()
        .map_err(|e| polars_error(std::slice::from_ref(input), e))?;
    let mut exprs = vec![col("row")];
    if schema.contains(GROUP_PATH) {
        exprs.push(col(GROUP_PATH));
    }
    for (name, path) in fields {
        let parts: Vec<String> = if schema.contains(path) || input.format == LogFormat::Csv {
            vec![path.to_string()]
        } else {
            path.split('.').map(String::from).collect()
        };
        if schema.contains(&parts[0]) {
            exprs.push(nested(&schema, &parts).alias(*name));
        } else if matches!(*name, "ts_raw" | "model") {
            return Err(Error::Logs {
                path: input.path.clone(),
                line: None,
                message: format!(
                    "no column `{path}` for the {}; columns: {}",
                    if *name == "model" {
                        "model"
                    } else {
                        "timestamp"
                    },
                    schema
                        .iter_names()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        } else {
            exprs.push(lit(NULL).cast(DataType::String).alias(*name));
        }
    }
    Ok(lf.select(exprs))
}
