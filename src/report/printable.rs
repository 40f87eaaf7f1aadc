//! Text the report can print (issue 17, "any text prints"). In: the JSON the template reads. Out:
//! the same JSON with every string made printable — control characters (but line breaks and tabs)
//! removed, and each character that no embedded font can show replaced by a visible placeholder —
//! and the characters replaced, for one warning. Guarantees: PDF/A-3b refuses a glyph no font has,
//! so without this one CJK name or emoji in an organisation, a finding or a log's model name would
//! fail the whole build; with it, any Unicode builds. Only the template's copy changes: the
//! attached `kpis.json` and the bundle's files keep every character as the sources wrote it.
//! Paths under the config's folder are shown relative to it (issue 17: no builder's paths in
//! the report), in values and object keys alike, so a template's lookups by path still match.

use std::collections::BTreeSet;

use serde_json::Value;

/// Characters of `text` that no font in `covered` shows, and `text` made printable, with every
/// occurrence of `base` (the config's folder, with its trailing separator) removed.
pub fn printable(
    json: &[u8],
    covered: &dyn Fn(char) -> bool,
    base: &str,
) -> (Vec<u8>, BTreeSet<char>) {
    let mut missing = BTreeSet::new();
    let Ok(mut value) = serde_json::from_slice::<Value>(json) else {
        return (json.to_vec(), missing);
    };
    let placeholder = ['\u{FFFD}', '\u{25A1}', '?']
        .into_iter()
        .find(|c| covered(*c))
        .unwrap_or('?');
    // The filesystem root as the config folder would cut every `//` (a URL's too): not done.
    if !base.trim_end_matches(std::path::MAIN_SEPARATOR).is_empty() {
        relativise(&mut value, base);
    }
    clean(&mut value, &|c| covered(c), placeholder, &mut missing);
    let bytes = serde_json::to_vec(&value).unwrap_or_else(|_| json.to_vec());
    (bytes, missing)
}

/// Every string and key with `base` cut out where a path starts with it.
fn relativise(value: &mut Value, base: &str) {
    match value {
        Value::String(s) if s.contains(base) => *s = strip_base(s, base),
        Value::Array(items) => items.iter_mut().for_each(|i| relativise(i, base)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (key, mut item) in old {
                relativise(&mut item, base);
                map.insert(strip_base(&key, base), item);
            }
        }
        _ => {}
    }
}

/// `text` without `base` where it begins a path: at the start, or after a character that no
/// path holds there (a space, a quote, a bracket). Inside another path (`/mnt/data/x` when the
/// config is in `/data`) it stays, so no path outside the folder is cut short.
fn strip_base(text: &str, base: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(base) {
        let (before, after) = rest.split_at(i);
        let starts_path = before
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | '~')));
        out.push_str(before);
        if !starts_path {
            out.push_str(base);
        }
        rest = after.get(base.len()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

fn clean(
    value: &mut Value,
    covered: &dyn Fn(char) -> bool,
    placeholder: char,
    missing: &mut BTreeSet<char>,
) {
    match value {
        Value::String(s) if s.chars().any(|c| !shows(c, covered)) => {
            *s = s
                .chars()
                .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
                .map(|c| {
                    if c.is_whitespace() || covered(c) {
                        c
                    } else {
                        missing.insert(c);
                        placeholder
                    }
                })
                .collect();
        }
        Value::Array(items) => {
            for item in items {
                clean(item, covered, placeholder, missing);
            }
        }
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (key, mut item) in old {
                clean(&mut item, covered, placeholder, missing);
                let mut key = Value::String(key);
                clean(&mut key, covered, placeholder, missing);
                if let Value::String(key) = key {
                    map.insert(key, item);
                }
            }
        }
        _ => {}
    }
}

fn shows(c: char, covered: &dyn Fn(char) -> bool) -> bool {
    (!c.is_control() || matches!(c, '\n' | '\t')) && (c.is_whitespace() || covered(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_go_uncovered_characters_become_the_placeholder_and_are_named() {
        // A stand-in for the fonts: ASCII and U+FFFD only.
        let covered = |c: char| c.is_ascii() || c == '\u{FFFD}';
        let json = r#"{"org": "Acme \u0007株式会社 \ud83d\ude80", "n": 3, "list": ["ok\nfine"]}"#;
        let (out, missing) = printable(json.as_bytes(), &covered, "");
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["org"], "Acme \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD} \u{FFFD}");
        assert_eq!(v["n"], 3);
        assert_eq!(v["list"][0], "ok\nfine");
        assert_eq!(missing.into_iter().collect::<String>(), "会式株社🚀");
    }

    #[test]
    fn paths_under_the_config_folder_are_shown_relative_in_values_and_keys() {
        let covered = |c: char| c.is_ascii();
        let json = r#"{"file": "/home/ann/audit/a.csv", "w": ["/home/ann/audit/x: late; see /etc/y"],
                       "paths": {"/home/ann/audit/a.csv": 1}, "out": "/home/ann/other/b.csv"}"#;
        let (out, _) = printable(json.as_bytes(), &covered, "/home/ann/audit/");
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["file"], "a.csv");
        assert_eq!(v["w"][0], "x: late; see /etc/y");
        assert_eq!(v["paths"]["a.csv"], 1);
        assert_eq!(
            v["out"], "/home/ann/other/b.csv",
            "outside the folder: absolute"
        );
    }
}
