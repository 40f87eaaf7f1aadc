//! The mapped fields of one JSON-lines record, read straight from its bytes (issue 20): no
//! document is built, only the values at the configured paths are kept, borrowed from the line.
//! In: a line (BOM and line end already off) and the `FieldTree` of its source and format. Out:
//! each field's text as Polars' string reader gave it before this reader existed — a string's
//! content, `true`/`false`, an integer's digits, a float in Rust's shortest form, an object or
//! array as its JSON text, `null` and absent alike `None` — or `NotJson`. Guarantees: a line is
//! JSON exactly when `serde_json::Value` would parse it (every value is checked, numbers' range
//! too), so the bundle's minimiser and excerpts agree on which lines are records; when a key
//! repeats, its first value counts (as Polars' reader did); a non-object line has no fields.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::format::{field_list, json_path};
use super::values::json_text;
use crate::config::{LogFormat, LogSource};

/// The fields a record is read for, in `field_list` order, then a Splunk export's own keys.
pub(super) const TS: usize = 0;
pub(super) const MODEL: usize = 1;
pub(super) const VERSION: usize = 2;
pub(super) const LATENCY: usize = 3;
pub(super) const STATUS: usize = 4;
pub(super) const SCORE: usize = 5;
pub(super) const PREVIEW: usize = 6;
pub(super) const LASTROW: usize = 7;
pub(super) const MESSAGES: usize = 8;
const SLOTS: usize = 9;

/// The mapped paths of a source as a tree of keys: a leaf is a field's slot.
#[derive(Debug, Default)]
pub(super) struct FieldTree {
    keys: Vec<(String, Node)>,
    /// Splunk: `result` is the object the fields sit in; a line without it may be the export's.
    pub(super) splunk: bool,
}

#[derive(Debug)]
enum Node {
    Leaf(usize),
    Inner(FieldTree),
}

impl FieldTree {
    /// The tree of a source's field map in a format; a path that is both a field and an object
    /// holding other fields is an error (the message names it).
    pub(super) fn new(source: &LogSource, format: LogFormat) -> Result<Self, String> {
        let mut root = FieldTree {
            splunk: format == LogFormat::Splunk,
            ..Default::default()
        };
        let mut paths: Vec<(usize, Vec<String>)> = field_list(&source.fields)
            .iter()
            .enumerate()
            .map(|(slot, (_, p))| (slot, json_path(format, p)))
            .collect();
        if root.splunk {
            for (slot, key) in [
                (PREVIEW, "preview"),
                (LASTROW, "lastrow"),
                (MESSAGES, "messages"),
            ] {
                paths.push((slot, vec![key.to_string()]));
            }
        }
        for (slot, path) in paths {
            root.insert(slot, &path)?;
        }
        Ok(root)
    }

    fn insert(&mut self, slot: usize, path: &[String]) -> Result<(), String> {
        let Some((key, rest)) = path.split_first() else {
            return Ok(());
        };
        let at = match self.keys.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                let node = if rest.is_empty() {
                    Node::Leaf(slot)
                } else {
                    Node::Inner(FieldTree::default())
                };
                self.keys.push((key.clone(), node));
                self.keys.len() - 1
            }
        };
        match (self.keys.get_mut(at).map(|(_, n)| n), rest.is_empty()) {
            (Some(Node::Inner(tree)), false) => tree.insert(slot, rest),
            // Two fields mapped to the same key: the second reads the same value.
            (Some(Node::Leaf(_)), true) => Ok(()),
            _ => Err(format!(
                "`{key}` is mapped both as a field and as an object holding other fields"
            )),
        }
    }

    /// The index of `key`, trying `guess` first: lines of one file keep their keys in one order,
    /// so the key after the last one found is nearly always the next.
    fn find(&self, key: &str, guess: usize) -> Option<usize> {
        if self.keys.get(guess).is_some_and(|(k, _)| k == key) {
            return Some(guess);
        }
        self.keys.iter().position(|(k, _)| k == key)
    }
}

/// The raw values found in one line.
#[derive(Debug, Default)]
pub(super) struct Found<'de> {
    raw: [Option<&'de RawValue>; SLOTS],
    /// A leaf that is a JSON number, as parsed when it was checked.
    numbers: [Option<f64>; SLOTS],
    /// Splunk: whether the line's `result` is an object.
    pub(super) has_result: bool,
}

/// The line is not JSON (or a number in it is beyond f64, which `serde_json::Value` refuses).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct NotJson;

/// Read a line's mapped fields.
pub(super) fn read<'de>(tree: &FieldTree, line: &'de [u8]) -> Result<Found<'de>, NotJson> {
    let mut found = Found::default();
    // The line's UTF-8 checked once, whole: serde_json then reads it as text and checks no
    // string again (from bytes it checks every key and value on its own, a tenth of the pass).
    // Where the bytes are not UTF-8, `serde_json::Value` refuses the line too.
    let text = std::str::from_utf8(line).map_err(|_| NotJson)?;
    let mut de = serde_json::Deserializer::from_str(text);
    TreeSeed {
        tree,
        found: &mut found,
        result: false,
    }
    .deserialize(&mut de)
    .map_err(|_| NotJson)?;
    de.end().map_err(|_| NotJson)?;
    Ok(found)
}

impl<'de> Found<'de> {
    /// A field's text as Polars' string reader gave it; `Err` for a number beyond f64.
    pub(super) fn text(&self, slot: usize) -> Result<Option<Cow<'de, str>>, NotJson> {
        match self.raw.get(slot).copied().flatten() {
            Some(raw) => json_text(raw.get()),
            None => Ok(None),
        }
    }
}

impl Found<'_> {
    /// A field as a number: whether it is present (not null), and its value when it is a
    /// finite number or text of one. A JSON number is parsed from its literal: the same f64 as
    /// its text form would give, without writing that text.
    pub(super) fn number(&self, slot: usize) -> Result<(bool, Option<f64>), NotJson> {
        let Some(raw) = self.raw.get(slot).copied().flatten() else {
            return Ok((false, None));
        };
        if let Some(f) = self.numbers.get(slot).copied().flatten() {
            return Ok((true, Some(f)));
        }
        let text = json_text(raw.get())?;
        Ok((
            text.is_some(),
            text.as_deref().and_then(super::values::parse_number_text),
        ))
    }
}

/// Scalars are accepted and dropped (serde_json has already checked them: a number's range
/// included, since these visits are reached through `deserialize_any`).
macro_rules! accept_scalars {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// Walks an object by the tree, capturing leaves and checking everything else.
struct TreeSeed<'t, 'f, 'de> {
    tree: &'t FieldTree,
    found: &'f mut Found<'de>,
    /// Whether this value is a Splunk export's `result` (an object one level down).
    result: bool,
}

impl<'de> DeserializeSeed<'de> for TreeSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TreeSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.result {
            self.found.has_result = true;
        }
        let mut seen = 0u64;
        let mut guess = 0;
        while let Some(at) = map.next_key_seed(KeySeed(self.tree, guess))? {
            guess = at.map_or(guess, |i| i + 1);
            let first = at.is_some_and(|i| i < 64 && seen & (1 << i) == 0);
            match at.and_then(|i| self.tree.keys.get(i)).filter(|_| first) {
                Some((_, Node::Leaf(slot))) => {
                    let raw: &'de RawValue = map.next_value()?;
                    // A leaf's value is checked as strictly as any other.
                    let number =
                        strict_check(raw).map_err(|_| serde::de::Error::custom("not JSON"))?;
                    if let Some(s) = self.found.raw.get_mut(*slot) {
                        *s = Some(raw);
                    }
                    if let Some(n) = self.found.numbers.get_mut(*slot) {
                        *n = number;
                    }
                }
                Some((_, Node::Inner(tree))) => map.next_value_seed(TreeSeed {
                    tree,
                    found: &mut *self.found,
                    result: self.tree.splunk,
                })?,
                None => map.next_value_seed(Strict)?,
            }
            if let Some(i) = at.filter(|&i| i < 64) {
                seen |= 1 << i;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Strict.visit_seq(seq)
    }
    accept_scalars!();
}

/// A captured leaf checked as `serde_json::Value` would: only numbers (range) and nested values
/// need it; strings were checked when the raw value was cut. A number's value is kept, so it is
/// parsed once.
fn strict_check(raw: &RawValue) -> Result<Option<f64>, NotJson> {
    match raw.get().bytes().next() {
        Some(b'{' | b'[') => {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            Strict.deserialize(&mut de).map_err(|_| NotJson)?;
            Ok(None)
        }
        // What `json_number_text` refuses, without writing the text: beyond f64's range.
        Some(b'-' | b'0'..=b'9') => match raw.get().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(NotJson),
        },
        _ => Ok(None),
    }
}

/// Which of the tree's keys a key is, without allocating.
struct KeySeed<'t>(&'t FieldTree, usize);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.find(key, self.1))
    }
}

/// Any value, parsed as fully as `serde_json::Value` parses it (numbers' range included), and
/// dropped; serde's `IgnoredAny` skips numbers unchecked.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Strict)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(())
    }
    accept_scalars!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> LogSource {
        LogSource {
            pattern: String::new(),
            format: None,
            fields: Default::default(),
            success: vec!["200".into()],
            traces: None,
            spark: None,
        }
    }

    fn texts(format: LogFormat, line: &str) -> Result<Vec<Option<String>>, NotJson> {
        let tree = FieldTree::new(&source(), format).unwrap();
        let found = read(&tree, line.as_bytes())?;
        (0..SLOTS)
            .map(|s| found.text(s).map(|t| t.map(Cow::into_owned)))
            .collect()
    }

    #[test]
    fn values_read_as_the_string_reader_wrote_them() {
        let t = texts(
            LogFormat::Ndjson,
            r#"{"timestamp":2e9,"model":"a\"b","version":-0,"latency_ms":1.50,"status":true,"score":{"x": [1]}}"#,
        )
        .unwrap();
        assert_eq!(t[TS].as_deref(), Some("2000000000"));
        assert_eq!(t[MODEL].as_deref(), Some("a\"b"));
        assert_eq!(t[VERSION].as_deref(), Some("0"));
        assert_eq!(t[LATENCY].as_deref(), Some("1.5"));
        assert_eq!(t[STATUS].as_deref(), Some("true"));
        assert_eq!(t[SCORE].as_deref(), Some(r#"{"x": [1]}"#));
    }

    #[test]
    fn a_repeated_key_keeps_its_first_value_and_null_is_absent() {
        let t = texts(
            LogFormat::Ndjson,
            r#"{"model":"a","model":"b","status":null}"#,
        )
        .unwrap();
        assert_eq!(t[MODEL].as_deref(), Some("a"));
        assert_eq!(t[STATUS], None);
        // Inside a nested object, and a repeated parent: the first, too.
        for line in [
            r#"{"_source":{"model":"a","model":"b"}}"#,
            r#"{"_source":{"model":"a"},"_source":{"model":"b"}}"#,
        ] {
            let t = texts(LogFormat::Elasticsearch, line).unwrap();
            assert_eq!(t[MODEL].as_deref(), Some("a"), "{line}");
        }
    }

    #[test]
    fn json_is_what_serde_json_value_parses() {
        for line in [
            r#"{"a":1e400}"#,
            r#"{"model":1e400}"#,
            r#"{"x":[{"y":-1e999}]}"#,
            r#"{"model":"a"} x"#,
            r#"{"model":"a""#,
            "nope",
        ] {
            assert!(serde_json::from_str::<serde_json::Value>(line).is_err());
            assert_eq!(texts(LogFormat::Ndjson, line), Err(NotJson), "{line}");
        }
        for line in ["42", "[1,2]", "null", r#""s""#, "{}"] {
            let t = texts(LogFormat::Ndjson, line).unwrap();
            assert!(t.iter().all(Option::is_none), "{line}");
        }
        // Bytes that are not UTF-8, in a key, a mapped value or an unmapped one: the line is
        // checked whole, once, and refused as serde_json refuses it from bytes.
        let tree = FieldTree::new(&source(), LogFormat::Ndjson).unwrap();
        for line in [
            &b"{\"mo\xffdel\":\"a\"}"[..],
            b"{\"model\":\"a\xc3\"}",
            b"{\"model\":\"a\",\"note\":\"\xed\xa0\x80\"}",
        ] {
            assert!(serde_json::from_slice::<serde_json::Value>(line).is_err());
            assert_eq!(read(&tree, line).err(), Some(NotJson));
        }
        // UTF-8 beyond ASCII is read as the text it is.
        let ok = texts(LogFormat::Ndjson, r#"{"model":"modèle-七"}"#).unwrap();
        assert_eq!(ok[MODEL].as_deref(), Some("modèle-七"));
    }

    #[test]
    fn a_path_cannot_be_both_a_field_and_an_object() {
        let mut s = source();
        s.fields.version = "model.name".into();
        let err = FieldTree::new(&s, LogFormat::Ndjson).unwrap_err();
        assert!(err.contains("`model` is mapped both"), "{err}");
    }

    #[test]
    fn nested_paths_for_elasticsearch_and_splunk() {
        let t = texts(
            LogFormat::Elasticsearch,
            r#"{"_id":"1","_source":{"model":"m","timestamp":"t"}}"#,
        )
        .unwrap();
        assert_eq!(
            (t[MODEL].as_deref(), t[TS].as_deref()),
            (Some("m"), Some("t"))
        );
        let tree = FieldTree::new(&source(), LogFormat::Splunk).unwrap();
        let found = read(&tree, br#"{"preview":false,"result":{"model":"m"}}"#).unwrap();
        assert!(found.has_result);
        assert_eq!(found.text(PREVIEW).unwrap().as_deref(), Some("false"));
        let found = read(&tree, br#"{"preview":false,"lastrow":true}"#).unwrap();
        assert!(!found.has_result);
        assert_eq!(found.text(LASTROW).unwrap().as_deref(), Some("true"));
    }
}
