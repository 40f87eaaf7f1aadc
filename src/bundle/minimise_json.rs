//! Minimised extracts of JSON-lines files (NDJSON, Splunk, Elasticsearch), made on every core
//! (issue 20). In: the file, its `Minimise` plan (the rows to keep, its not-JSON lines, the field
//! map). Out: the extract records, written in line order, and the original's size and SHA-256.
//! How: `ordered::map_in_order` — one thread reads the file line by line and hashes it, workers
//! turn 1 MiB batches of kept lines into records. A line is read sparsely (its top-level keys
//! borrowed, only the mapped values parsed), or whole into a `Value` where that cannot be done (a
//! key with an escape, a line that is not an object, a Splunk export, whose own lines must be
//! recognised). Guarantees: both readings give the same record (a repeated key resolves to its
//! last value either way; a test compares them), so the extract's bytes do not depend on which
//! was taken; at most a few batches are in memory.

use std::fmt;
use std::io::Write;
use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::excerpt::{finish, open_hashing};
use super::minimise::{Field, Minimise, not_json, write_err};
use crate::config::LogFormat;
use crate::error::{Error, Result};
use crate::ingest::logs::{RecordLines, json_path, splunk_non_record};

/// One batch of a JSON-lines file for the workers: the kept lines' text, and per item its line
/// number and its range in the text (`None`: a not-JSON line's marker).
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    items: Vec<(u64, Option<(usize, usize)>)>,
}

/// Text a batch gathers before it is handed on.
const BATCH_BYTES: usize = 1 << 20;

/// The records of a JSON-lines file minimised on every core (`ordered::map_in_order`): this
/// file's lines are read and hashed on one thread, each batch of kept lines is minimised by a
/// worker, and the results are written in line order.
pub(super) fn json_records(
    path: &Path,
    plan: &Minimise,
    out: &mut dyn Write,
) -> Result<(u64, String)> {
    let paths = Paths::of(plan);
    let file = open_hashing(path)?;
    crate::ordered::map_in_order(
        |batches| read_batches(path, plan, file, batches),
        |batch| minimise_batch(plan, &paths, &batch),
        |bytes| out.write_all(&bytes).map_err(write_err(path)),
    )
}

/// The lines to minimise, in batches; the original's size and SHA-256.
fn read_batches(
    path: &Path,
    plan: &Minimise,
    file: crate::digest::HashingReader<std::fs::File>,
    batches: &mut crate::ordered::Batches<Batch>,
) -> Result<(u64, String)> {
    let mut records = RecordLines::new(file, &plan.bad_lines);
    let mut bad = plan.bad_lines.iter().peekable();
    let all = plan.rows.is_none();
    let mut keeper = plan.keeper();
    let mut batch = Batch::default();
    // Hand the batch on when it is full (or at the end); `false` when the writer has stopped.
    let hand_on = |batches: &mut crate::ordered::Batches<Batch>, batch: &mut Batch, end: bool| {
        let ready = (end || batch.text.len() >= BATCH_BYTES) && !batch.items.is_empty();
        !ready || batches.send(std::mem::take(batch))
    };
    while let Some((row, line)) = records
        .next_record()
        .map_err(|e| Error::io("cannot read", path, e))?
    {
        while let Some(b) = bad.next_if(|b| **b < line) {
            if all {
                batch.items.push((*b, None));
            }
        }
        if keeper.keeps(row) {
            let start = batch.text.len();
            batch.text.extend_from_slice(records.line());
            batch.items.push((line, Some((start, batch.text.len()))));
        }
        if !hand_on(batches, &mut batch, false) {
            // The writer failed; it reports why.
            return Ok((0, String::new()));
        }
    }
    for b in bad {
        if all {
            batch.items.push((*b, None));
        }
    }
    hand_on(batches, &mut batch, true);
    finish(records.into_inner(), path)
}

/// A batch's lines as extract records (and not-JSON markers), in order.
fn minimise_batch(plan: &Minimise, paths: &Paths<'_>, batch: &Batch) -> Vec<u8> {
    let mut out = Vec::with_capacity(batch.text.len() * 2);
    for &(line, range) in &batch.items {
        let Some((start, end)) = range else {
            out.extend_from_slice(&not_json(line));
            continue;
        };
        let text = batch.text.get(start..end).unwrap_or_default();
        minimise_line(plan, paths, line, text, &mut out);
    }
    out
}

/// The JSON path each canonical field is read from, and the distinct top-level keys they start
/// at (at most one per field).
pub(super) struct Paths<'p> {
    fields: Vec<(&'p str, Vec<String>)>,
    tops: Vec<String>,
}

impl<'p> Paths<'p> {
    pub(super) fn of(plan: &'p Minimise) -> Self {
        let fields: Vec<(&str, Vec<String>)> = plan
            .canonical()
            .iter()
            .map(|(name, p)| (*name, json_path(plan.format, p)))
            .collect();
        let mut tops: Vec<String> = fields
            .iter()
            .filter_map(|(_, p)| p.first().cloned())
            .collect();
        tops.sort();
        tops.dedup();
        Paths { fields, tops }
    }

    /// The path a canonical field is read from.
    fn of_field(&self, name: &str) -> Option<&[String]> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| &p[..])
    }
}

/// One line's extract record appended to `out`; nothing for a Splunk export's own lines
/// (previews, terminator, messages), which are no records. The log stage read the line as JSON (a
/// line it could not is among the bad lines).
fn minimise_line(plan: &Minimise, paths: &Paths<'_>, line: u64, text: &[u8], out: &mut Vec<u8>) {
    // The common case, read sparsely: only the top-level keys a path starts at kept, borrowed,
    // and only their values parsed. A repeated key keeps its first value, at every depth, as the
    // log stage reads it, so both ways give the same record and the record its code.
    if plan.format != LogFormat::Splunk
        && let Some(tops) = read_tops(&paths.tops, text)
    {
        let found = |name: &str, _: &str| {
            let (first, rest) = paths.of_field(name)?.split_first()?;
            let at = paths.tops.iter().position(|t| t == first)?;
            let raw = tops.get(at).copied().flatten()?.get();
            if rest.is_empty() && is_plain_string(raw) {
                return Some(Field::Canonical(raw));
            }
            let value = serde_json::from_str::<FirstWins>(raw).ok()?.0;
            rest.iter()
                .try_fold(&value, |v, key| v.get(key))
                .cloned()
                .map(Field::Value)
        };
        plan.record_into(out, ("line", line), found);
        return;
    }
    if let Some(record) = whole_line(plan, paths, line, text) {
        out.extend_from_slice(&record);
    }
}

/// A string token with no escape in it: `serde_json` writes its value back as the same bytes
/// (valid JSON holds no raw quote or control character inside a string, and `serde_json`
/// escapes nothing else).
fn is_plain_string(raw: &str) -> bool {
    raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') && !raw.contains('\\')
}

/// The raw values of a line's wanted top-level keys, in `wanted`'s order; `None` when the line
/// is not an object or has a key with an escape (which cannot be borrowed).
fn read_tops<'t>(wanted: &[String], text: &'t [u8]) -> Option<Vec<Option<&'t RawValue>>> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let tops = Tops(wanted).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(tops)
}

/// Reads an object keeping only the raw values of the wanted keys (the first of a repeated one).
struct Tops<'w>(&'w [String]);

impl<'de> DeserializeSeed<'de> for Tops<'_> {
    type Value = Vec<Option<&'de RawValue>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Tops<'_> {
    type Value = Vec<Option<&'de RawValue>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = vec![None; self.0.len()];
        while let Some(key) = map.next_key::<&'de str>()? {
            match self.0.iter().position(|w| w == key) {
                Some(i) => {
                    let value = map.next_value::<&'de RawValue>()?;
                    // The first of a repeated key, as the log stage counts it.
                    if let Some(slot @ None) = found.get_mut(i) {
                        *slot = Some(value);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// A JSON value in which a repeated key keeps its first value, at every depth: what the log
/// stage reads (`serde_json::Value` keeps the last).
struct FirstWins(Value);

impl<'de> Deserialize<'de> for FirstWins {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FirstWinsVisitor).map(FirstWins)
    }
}

struct FirstWinsVisitor;

impl<'de> Visitor<'de> for FirstWinsVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(FirstWins(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let FirstWins(value) = map.next_value()?;
            out.entry(key).or_insert(value);
        }
        Ok(Value::Object(out))
    }
}

/// A line read whole into a `Value`: a key with an escape, a line that is not an object, a
/// Splunk export's line.
fn whole_line(plan: &Minimise, paths: &Paths<'_>, line: u64, text: &[u8]) -> Option<Vec<u8>> {
    let doc = serde_json::from_slice::<FirstWins>(text).map_or(Value::Null, |v| v.0);
    if plan.format == LogFormat::Splunk && splunk_non_record(&doc).is_some() {
        return None;
    }
    let found = |name: &str, _: &str| {
        paths
            .of_field(name)?
            .iter()
            .try_fold(&doc, |v, key| v.get(key))
            .cloned()
    };
    Some(plan.record(("line", line), found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FieldMap;
    use hmac::{Hmac, Mac};

    #[test]
    fn the_sparse_reading_writes_what_the_whole_value_writes() {
        let fields: FieldMap = serde_json::from_value(serde_json::json!({
            "timestamp": "@timestamp", "model": "model.name", "version": "model.version",
            "latency_ms": "latency_ms", "status": "http.status_code", "score": "score",
            "request_id": "id"}))
        .unwrap();
        let plan = Minimise {
            format: LogFormat::Ndjson,
            fields,
            rows: None,
            bad_lines: Vec::new(),
            redact: vec!["id".into(), "request_id".into()],
            key: [7; 32],
            shown: "es.ndjson".into(),
        };
        let paths = Paths::of(&plan);
        let lines = [
            r#"{"@timestamp":"2026-07-01T00:00:00Z","model":{"name":"m","version":3},"latency_ms":1e2,"http":{"status_code":200},"score":0.50,"id":"r1"}"#,
            // A repeated key (the first counts, as in the log stage), nulls, a nested object as a
            // value.
            r#"{"latency_ms":1,"latency_ms":2.5,"score":null,"model":{"name":{"a":[1,2]}},"id":7}"#,
            // Unicode escapes in values; an escaped key (the sparse reading cannot borrow it).
            r#"{"model":{"name":"caf\u00e9"},"i\u0064":"x","@timestamp":"t\"q"}"#,
            // Repeated keys nested and repeated parents: the first at every depth.
            r#"{"model":{"name":"a","name":"b"},"model":{"name":"c"},"http":{"status_code":500},"http":{"status_code":200}}"#,
            r#"[1,2,3]"#,
            r#"{}"#,
            // Raw non-ASCII and an escaped quote in values, -0, an integer past u64, exponents.
            r#"{"model":{"name":"日本","version":"a\"b"},"latency_ms":-0,"score":18446744073709551616,"http":{"status_code":2E1},"@timestamp":"x\u00e9"}"#,
        ];
        for (i, text) in lines.iter().enumerate() {
            let mut sparse = Vec::new();
            minimise_line(&plan, &paths, i as u64, text.as_bytes(), &mut sparse);
            let whole = whole_line(&plan, &paths, i as u64, text.as_bytes()).unwrap();
            assert_eq!(sparse, whole, "{text}");
            // Both are what serializing the record as a serde_json object writes.
            let doc = serde_json::from_str::<FirstWins>(text).map_or(Value::Null, |v| v.0);
            let mut object = serde_json::Map::new();
            object.insert("file".into(), "es.ndjson".into());
            object.insert("line".into(), (i as u64).into());
            for (name, path) in plan.canonical() {
                let at = json_path(plan.format, path);
                if let Some(v) = at.iter().try_fold(&doc, |v, k| v.get(k)) {
                    let v = match (name, v) {
                        ("request_id", Value::Null) => Value::Null,
                        ("request_id", v) => {
                            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&[7; 32]).unwrap();
                            mac.update(text.as_bytes());
                            let tag = crate::digest::hex(&mac.finalize().into_bytes());
                            Value::String(format!("hmac-sha256:{tag}"))
                        }
                        (_, v) => v.clone(),
                    };
                    object.insert(name.into(), v);
                }
            }
            let mut expected = serde_json::to_vec(&Value::Object(object)).unwrap();
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8(sparse).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
        // The first value of a repeated key, by hand: what the log stage counted.
        let record = |i: usize| {
            let mut out = Vec::new();
            minimise_line(&plan, &paths, i as u64, lines[i].as_bytes(), &mut out);
            serde_json::from_slice::<Value>(&out).unwrap()
        };
        assert_eq!(record(1)["latency_ms"], serde_json::json!(1));
        assert_eq!(record(2)["model"], serde_json::json!("café"));
        assert!(
            record(2)["request_id"]
                .as_str()
                .unwrap()
                .starts_with("hmac-sha256:")
        );
        assert_eq!(record(3)["model"], serde_json::json!("a"));
        assert_eq!(record(3)["status"], serde_json::json!(500));
        // And what they write, for the first line, by hand: numbers as serde_json writes them,
        // the request id redacted.
        let mut first = Vec::new();
        minimise_line(&plan, &paths, 0, lines[0].as_bytes(), &mut first);
        let first = String::from_utf8(first).unwrap();
        assert!(first.starts_with(r#"{"file":"es.ndjson","line":0,"timestamp":"2026-07-01T00:00:00Z","model":"m","version":3,"latency_ms":100.0,"status":200,"score":0.5,"request_id":"hmac-sha256:"#), "{first}");
    }
}
