//! Control frameworks (SPEC §3.3): the two built-in ones embedded from `templates/frameworks/`,
//! or a framework YAML of the user's. In: a framework id or path. Out: a validated `Framework` —
//! a scale whose pass mark lies inside it and controls with unique ids. `FrameworkCache` loads
//! each framework once per run.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::audit_error;
use crate::config::Config;
use crate::error::Result;

const BUILTIN: [(&str, &str); 2] = [
    (
        "vendor-audit-10",
        include_str!("../../../templates/frameworks/vendor-audit-10.yaml"),
    ),
    (
        "incident-readiness-12",
        include_str!("../../../templates/frameworks/incident-readiness-12.yaml"),
    ),
];

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub title: String,
    pub scale: Scale,
    pub controls: Vec<ControlDef>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub min: f64,
    pub max: f64,
    pub pass: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControlDef {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub maps_to: Vec<String>,
}

pub fn builtin(id: &str) -> Option<Framework> {
    let (_, text) = BUILTIN.iter().find(|(name, _)| *name == id)?;
    serde_yaml::from_str(text).ok()
}

pub fn builtin_ids() -> Vec<&'static str> {
    BUILTIN.iter().map(|(id, _)| *id).collect()
}

#[derive(Default)]
pub(super) struct FrameworkCache(BTreeMap<String, Framework>);

impl FrameworkCache {
    /// A built-in id, or a path (relative to the config's folder) to a framework YAML.
    pub(super) fn get(&mut self, name: &str, config: &Config, file: &Path) -> Result<Framework> {
        if let Some(f) = self.0.get(name) {
            return Ok(f.clone());
        }
        let framework = match builtin(name) {
            Some(f) => f,
            None if name.ends_with(".yaml") || name.ends_with(".yml") => {
                load_framework(&config.base_dir.join(name))?
            }
            None => {
                return Err(audit_error(
                    file,
                    None,
                    format!(
                        "unknown framework `{name}`; built in: {}, or give a path to a framework YAML",
                        builtin_ids().join(", ")
                    ),
                ));
            }
        };
        self.0.insert(name.to_string(), framework.clone());
        Ok(framework)
    }
}

pub fn load_framework(path: &Path) -> Result<Framework> {
    let text = crate::fsio::read_small_text(path, "framework")?;
    let framework: Framework = serde_yaml::from_str(&text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        audit_error(
            path,
            line.map(|l| format!("line {l}")),
            format!("malformed framework: {e}"),
        )
    })?;
    validate_framework(&framework).map_err(|m| audit_error(path, None, m))?;
    Ok(framework)
}

pub(super) fn validate_framework(f: &Framework) -> std::result::Result<(), String> {
    let s = f.scale;
    if !(s.min < s.max && s.min <= s.pass && s.pass <= s.max) {
        return Err(format!(
            "scale must satisfy min < max and min ≤ pass ≤ max (got min {}, max {}, pass {})",
            s.min, s.max, s.pass
        ));
    }
    if f.controls.is_empty() {
        return Err("a framework needs at least one control".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &f.controls {
        if c.id.trim().is_empty() {
            return Err("a control has an empty id".into());
        }
        if !seen.insert(c.id.as_str()) {
            return Err(format!("control `{}` is listed twice", c.id));
        }
    }
    Ok(())
}
