//! The answer library (SPEC §9): YAML entries matched by exact question id, else by the first
//! regex over ids that matches, each a MiniJinja template plus the evidence paths it cites; the
//! template environment (strict: an undefined name is an error) with its `pct` filter; and the
//! context every template sees — the KPI document, `kpis` by name and `inventory`.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Library {
    pub(super) answers: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Entry {
    pub(super) id: Option<String>,
    pub(super) pattern: Option<String>,
    /// The free-text answer (a template).
    pub(super) answer: Option<String>,
    /// The value for a dropdown column, e.g. `Yes` (a template too, so it can follow a KPI).
    pub(super) choice: Option<String>,
    #[serde(default)]
    pub(super) evidence: Vec<String>,
}

/// A library entry ready to match and render.
pub(super) struct Rule {
    /// The templates' names in the environment: `answers[<index>]`, `answers[<index>].choice`.
    pub(super) name: String,
    pub(super) choice_name: String,
    /// How the entry is named in messages: `id AI-DOC-01` or `pattern ^AI-LOG-`.
    pub(super) label: String,
    pub(super) id: Option<String>,
    pub(super) pattern: Option<regex::Regex>,
    pub(super) template: Option<String>,
    pub(super) choice: Option<String>,
    pub(super) evidence: Vec<String>,
}

impl Rule {
    pub(super) fn answer_name(&self) -> Option<String> {
        self.template.as_ref().map(|_| self.name.clone())
    }

    pub(super) fn choice_name(&self) -> Option<String> {
        self.choice.as_ref().map(|_| self.choice_name.clone())
    }
}

pub(super) fn load_library(path: &Path) -> Result<Vec<Rule>> {
    let text = crate::fsio::read_small_text(path, "answer library")?;
    let de = serde_yaml::Deserializer::from_str(&text);
    let library: Library = serde_path_to_error::deserialize(de).map_err(|e| {
        let location = e.inner().location();
        Error::Config {
            path: path.to_path_buf(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            key: Some(e.path().to_string()).filter(|k| k != "."),
            message: e.inner().to_string(),
            hint: Some("an answer library is `answers:` with entries of `id` or `pattern`, `answer` and/or `choice`, and `evidence`".into()),
        }
    })?;
    library
        .answers
        .into_iter()
        .enumerate()
        .map(|(i, e)| rule(path, i, e))
        .collect()
}

fn rule(path: &Path, index: usize, e: Entry) -> Result<Rule> {
    let err = |message: String| Error::Answer {
        path: path.to_path_buf(),
        at: Some(format!("answers[{index}]")),
        message,
    };
    let (label, pattern) = match (&e.id, &e.pattern) {
        (Some(id), None) => (format!("id {id}"), None),
        (None, Some(p)) => {
            let re = regex::Regex::new(p).map_err(|x| err(format!("pattern {p}: {x}")))?;
            (format!("pattern {p}"), Some(re))
        }
        _ => {
            return Err(err(
                "an entry needs exactly one of `id` and `pattern`".into()
            ));
        }
    };
    if e.answer.is_none() && e.choice.is_none() {
        return Err(err("an entry needs an `answer`, a `choice`, or both".into()));
    }
    Ok(Rule {
        name: format!("answers[{index}]"),
        choice_name: format!("answers[{index}].choice"),
        label,
        id: e.id,
        pattern,
        template: e.answer,
        choice: e.choice,
        evidence: e.evidence,
    })
}

/// Every template compiled up front, so a syntax error stops the run before anything is read.
/// Instructions one answer may take: a real answer takes a few hundred.
const TEMPLATE_FUEL: u64 = 5_000_000;

pub(super) fn environment<'a>(rules: &'a [Rule], library: &Path) -> Result<Environment<'a>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A template that loops without end runs out of fuel and fails, naming its entry.
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.add_filter("pct", pct);
    for (i, r) in rules.iter().enumerate() {
        for (name, text) in [(&r.name, &r.template), (&r.choice_name, &r.choice)] {
            if let Some(text) = text {
                env.add_template(name, text)
                    .map_err(|e| template_error(library, r, i, None, &e))?;
            }
        }
    }
    Ok(env)
}

pub(super) fn template_error(
    library: &Path,
    rule: &Rule,
    index: usize,
    question: Option<&str>,
    e: &minijinja::Error,
) -> Error {
    let line = e
        .line()
        .map(|l| format!(", template line {l}"))
        .unwrap_or_default();
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    Error::Answer {
        path: library.to_path_buf(),
        at: Some(match question {
            Some(q) => format!("question {q}, answers[{index}] ({})", rule.label),
            None => format!("answers[{index}] ({})", rule.label),
        }),
        message: format!("{}{detail}{line}", e.kind()),
    }
}

/// `x | pct` or `x | pct(1)`: a ratio (or a KPI object's value) as a percentage; none is "n/a".
fn pct(value: Value, digits: Option<usize>) -> std::result::Result<String, minijinja::Error> {
    if value.is_undefined() {
        // Strict templates: a misspelt KPI must fail, not read as "n/a".
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            "pct of an undefined value",
        ));
    }
    let value = match value.get_attr("value") {
        Ok(v) if !v.is_undefined() => v,
        _ => value,
    };
    if value.is_none() {
        return Ok("n/a".into());
    }
    let x = f64::try_from(value.clone()).map_err(|_| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("pct needs a number, not {value}"),
        )
    })?;
    Ok(format!("{:.*}%", digits.unwrap_or(0), x * 100.0))
}

/// The machine-output document (SPEC §4) at the top level, plus `kpis`: each portfolio KPI's
/// value by name, and `inventory`: the models.
pub(super) fn context(doc: serde_json::Value) -> Result<BTreeMap<String, serde_json::Value>> {
    let serde_json::Value::Object(map) = doc else {
        return Err(Error::Internal("the KPI document is not an object".into()));
    };
    let mut ctx: BTreeMap<String, serde_json::Value> = map.into_iter().collect();
    let kpis: serde_json::Map<String, serde_json::Value> = match ctx.get("portfolio") {
        Some(serde_json::Value::Object(p)) => p
            .iter()
            .map(|(k, v)| (k.clone(), v.get("value").cloned().unwrap_or_default()))
            .collect(),
        _ => serde_json::Map::new(),
    };
    ctx.insert("kpis".into(), serde_json::Value::Object(kpis));
    if let Some(models) = ctx.get("models").cloned() {
        ctx.insert("inventory".into(), models);
    }
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_formats_ratios_kpis_and_missing_values() {
        assert_eq!(pct(Value::from(0.8533), None).unwrap(), "85%");
        assert_eq!(pct(Value::from(0.8533), Some(1)).unwrap(), "85.3%");
        let kpi = Value::from_serialize(serde_json::json!({"value": 0.5, "target": 0.9}));
        assert_eq!(pct(kpi, None).unwrap(), "50%");
        assert_eq!(pct(Value::from(()), None).unwrap(), "n/a");
        assert!(pct(Value::UNDEFINED, None).is_err());
        assert!(pct(Value::from("high"), None).is_err());
    }

    #[test]
    fn an_entry_needs_one_of_id_and_pattern_and_a_valid_regex() {
        let entry = |id: Option<&str>, pattern: Option<&str>| Entry {
            id: id.map(String::from),
            pattern: pattern.map(String::from),
            answer: Some("x".into()),
            choice: None,
            evidence: vec![],
        };
        let p = Path::new("answers.yaml");
        assert!(rule(p, 0, entry(Some("A"), None)).is_ok());
        assert!(rule(p, 0, entry(None, Some("^A-"))).is_ok());
        assert!(rule(p, 0, entry(None, None)).is_err());
        assert!(rule(p, 0, entry(Some("A"), Some("^A"))).is_err());
        let mut bare = entry(Some("A"), None);
        bare.answer = None;
        assert!(rule(p, 0, bare).is_err());
        let bad = rule(p, 3, entry(None, Some("(unclosed"))).err().unwrap();
        assert!(bad.to_string().contains("answers[3]"), "{bad}");
    }
}
