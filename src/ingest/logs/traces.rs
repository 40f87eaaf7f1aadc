//! A `format: mlflow-traces` source made into a log file like any other. In: the tracking store
//! the source names and its model/version tag keys. Out: a temporary NDJSON file of one record per
//! trace — `request_id` (the trace id), `timestamp`, `model`, `version`, `latency_ms` (execution
//! duration), `status` (`OK`/`ERROR`) — read by the usual scan with the canonical field map, so
//! traces are counted, rejected and accounted for by the rules every log source follows.
//! Guarantees: one line per trace, in (time, id) order, so the same store gives the same bytes;
//! a field the trace lacks is absent from its line (the scan then rejects or leaves it unset as for
//! any record); the file lives as long as the `Arc` any reader of it holds.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::TraceKeys;
use crate::error::{Error, Result};
use crate::ingest::mlflow::traces::{Trace, for_each_trace};

/// Where a trace source's records came from, and the file they were written to.
#[derive(Debug, Clone)]
pub struct TraceOrigin {
    /// The tracking store, as configured.
    pub store: PathBuf,
    pub file: Arc<tempfile::TempPath>,
}

/// Write every trace of `store` as one NDJSON record a line.
pub(super) fn materialise(
    store: &Path,
    keys: &TraceKeys,
    warnings: &mut Vec<String>,
) -> Result<TraceOrigin> {
    let write_error = |e| Error::io("cannot write the trace records of", store, e);
    let tmp = tempfile::NamedTempFile::new().map_err(write_error)?;
    let mut out = BufWriter::with_capacity(1 << 20, tmp);
    for_each_trace(store, keys, warnings, |trace| {
        let mut line = serde_json::to_vec(&record(trace)).unwrap_or_default();
        line.push(b'\n');
        out.write_all(&line).map_err(write_error)
    })?;
    let tmp = out.into_inner().map_err(|e| write_error(e.into_error()))?;
    Ok(TraceOrigin {
        store: store.to_path_buf(),
        file: Arc::new(tmp.into_temp_path()),
    })
}

/// A trace as a record under the canonical field names.
fn record(trace: Trace) -> Value {
    let mut out = Map::new();
    out.insert("request_id".into(), Value::String(trace.id));
    let fields = [
        ("timestamp", trace.time),
        ("model", trace.model.map(Value::String)),
        ("version", trace.version.map(Value::String)),
        ("latency_ms", trace.duration_ms.map(Value::from)),
        ("status", trace.status.map(Value::String)),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            out.insert(name.into(), value);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_becomes_a_record_without_the_fields_it_lacks() {
        let full = Trace {
            id: "tr-1".into(),
            time: Some(Value::from(1_790_000_000_000i64)),
            duration_ms: Some(120),
            status: Some("OK".into()),
            model: Some("support-assistant".into()),
            version: Some("2".into()),
        };
        assert_eq!(
            record(full).to_string(),
            r#"{"request_id":"tr-1","timestamp":1790000000000,"model":"support-assistant","version":"2","latency_ms":120,"status":"OK"}"#
        );
        let bare = Trace {
            id: "tr-2".into(),
            time: None,
            duration_ms: None,
            status: None,
            model: None,
            version: None,
        };
        assert_eq!(record(bare).to_string(), r#"{"request_id":"tr-2"}"#);
    }
}
