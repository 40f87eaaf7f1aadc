//! Scored audits in (SPEC §3.3): YAML files (one audit each) and CSV files (one row per control,
//! audit fields repeated on each row), and the frameworks they are scored against — the two
//! built-in ones embedded from `templates/frameworks/`, or a framework YAML of the user's. Out:
//! validated `Audit`s. Guarantees: every control id is one of its framework's, every score is on
//! the scale, no control appears twice in an audit, dates are real dates; any breach is an error
//! naming the file and the control id (YAML) or row (CSV). Evidence files are resolved against the
//! config's folder; a missing one is a warning (an error with `--strict`), and is recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::vocab::{BlastRadius, Severity};

pub mod framework;

use framework::FrameworkCache;
pub use framework::{ControlDef, Framework, Scale, builtin, builtin_ids, load_framework};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    #[default]
    Assessed,
    NotApplicable,
    NotAssessed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub file: PathBuf,
    pub framework: Framework,
    pub system: String,
    pub assessed_on: NaiveDate,
    pub assessor: String,
    pub controls: Vec<ControlScore>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ControlScore {
    pub id: String,
    pub score: Option<f64>,
    pub status: Assessment,
    pub finding: Option<String>,
    /// As written in the audit.
    pub evidence: Vec<String>,
    /// Evidence files that were not found.
    pub missing_evidence: Vec<String>,
    pub severity: Option<Severity>,
    pub blast_radius: Option<BlastRadius>,
    pub fix_days: Option<u32>,
    pub owner: Option<String>,
}

// ---- the files as written ------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    framework: String,
    system: Option<String>,
    assessed_on: String,
    #[serde(default)]
    assessor: String,
    #[serde(default)]
    controls: Vec<RawControl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    id: String,
    score: Option<f64>,
    #[serde(default)]
    status: Assessment,
    finding: Option<String>,
    #[serde(default)]
    evidence: Vec<String>,
    severity: Option<Severity>,
    blast_radius: Option<BlastRadius>,
    fix_days: Option<u32>,
    owner: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    framework: String,
    system: Option<String>,
    assessed_on: String,
    #[serde(default)]
    assessor: String,
    id: String,
    score: Option<f64>,
    status: Option<Assessment>,
    finding: Option<String>,
    /// Several files separated by `;`.
    evidence: Option<String>,
    severity: Option<Severity>,
    blast_radius: Option<BlastRadius>,
    fix_days: Option<u32>,
    owner: Option<String>,
}

// ---- loading -------------------------------------------------------------------------------

/// A built-in framework by id.
/// Every audit file the config's globs match, sorted by path; evidence warnings go to `warnings`.
pub fn read_all(config: &Config, warnings: &mut Vec<String>) -> Result<Vec<Audit>> {
    let mut frameworks = FrameworkCache::default();
    let mut audits = Vec::new();
    for path in super::expand_globs(&config.audits, "audits", warnings)? {
        let found = match extension(&path).as_str() {
            "yaml" | "yml" => vec![read_yaml(&path, config, &mut frameworks)?],
            "csv" => read_csv(&path, config, &mut frameworks)?,
            _ => {
                return Err(audit_error(
                    &path,
                    None,
                    "an audit file must be .yaml, .yml or .csv".into(),
                ));
            }
        };
        audits.extend(found);
    }
    for audit in &mut audits {
        check_evidence(audit, config, warnings)?;
    }
    Ok(audits)
}

fn read_yaml(path: &Path, config: &Config, frameworks: &mut FrameworkCache) -> Result<Audit> {
    let text = crate::fsio::read_small_text(path, "audit")?;
    let raw: RawAudit = serde_yaml::from_str(&text).map_err(|e| {
        let line = e.location().map(|l| format!("line {}", l.line()));
        audit_error(path, line, format!("malformed audit: {e}"))
    })?;
    let framework = frameworks.get(&raw.framework, config, path)?;
    let system = required_system(raw.system, path, None)?;
    let assessed_on = audit_date(&raw.assessed_on, path, None)?;
    let controls = raw
        .controls
        .into_iter()
        .map(|c| ControlScore {
            id: c.id,
            score: c.score,
            status: c.status,
            finding: c.finding,
            evidence: c.evidence,
            missing_evidence: Vec::new(),
            severity: c.severity,
            blast_radius: c.blast_radius,
            fix_days: c.fix_days,
            owner: c.owner,
        })
        .collect::<Vec<_>>();
    for c in &controls {
        check_control(c, &framework, path, &format!("control {}", c.id))?;
    }
    check_duplicates(
        controls
            .iter()
            .map(|c| (c.id.as_str(), format!("control {}", c.id))),
        path,
    )?;
    Ok(Audit {
        file: path.to_path_buf(),
        framework,
        system,
        assessed_on,
        assessor: raw.assessor,
        controls,
    })
}

/// Rows with the same (system, framework, assessed_on) form one audit.
fn read_csv(path: &Path, config: &Config, frameworks: &mut FrameworkCache) -> Result<Vec<Audit>> {
    let bytes = crate::fsio::read_small(path, "audit")?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let mut groups: BTreeMap<(String, String, NaiveDate), (Audit, Vec<String>)> = BTreeMap::new();
    for (i, row) in reader.deserialize::<CsvRow>().enumerate() {
        // Row 1 is the header; data rows are numbered as a spreadsheet shows them.
        let at = format!("row {}", i + 2);
        let row = row.map_err(|e| audit_error(path, Some(at.clone()), format!("{e}")))?;
        let framework = frameworks.get(&row.framework, config, path)?;
        let system = required_system(row.system, path, Some(&at))?;
        let assessed_on = audit_date(&row.assessed_on, path, Some(&at))?;
        let control = ControlScore {
            id: row.id,
            score: row.score,
            status: row.status.unwrap_or_default(),
            finding: row.finding.filter(|s| !s.is_empty()),
            evidence: row
                .evidence
                .unwrap_or_default()
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            missing_evidence: Vec::new(),
            severity: row.severity,
            blast_radius: row.blast_radius,
            fix_days: row.fix_days,
            owner: row.owner.filter(|s| !s.is_empty()),
        };
        check_control(&control, &framework, path, &at)?;
        let key = (system.clone(), row.framework.clone(), assessed_on);
        let (audit, rows) = groups.entry(key).or_insert_with(|| {
            (
                Audit {
                    file: path.to_path_buf(),
                    framework,
                    system,
                    assessed_on,
                    assessor: row.assessor.clone(),
                    controls: Vec::new(),
                },
                Vec::new(),
            )
        });
        if audit.assessor != row.assessor {
            return Err(audit_error(
                path,
                Some(at),
                format!(
                    "assessor `{}` differs from `{}` earlier in the same audit",
                    row.assessor, audit.assessor
                ),
            ));
        }
        audit.controls.push(control);
        rows.push(at);
    }
    let mut out = Vec::new();
    for (audit, rows) in groups.into_values() {
        check_duplicates(audit.controls.iter().map(|c| c.id.as_str()).zip(rows), path)?;
        out.push(audit);
    }
    if out.is_empty() {
        return Err(audit_error(path, None, "no audit rows".into()));
    }
    Ok(out)
}

fn check_control(c: &ControlScore, framework: &Framework, path: &Path, at: &str) -> Result<()> {
    let fail = |m: String| Err(audit_error(path, Some(at.to_string()), m));
    if !framework.controls.iter().any(|d| d.id == c.id) {
        return fail(format!(
            "control `{}` is not in framework {}",
            c.id, framework.id
        ));
    }
    let scale = framework.scale;
    match (c.status, c.score) {
        (Assessment::Assessed, None) => {
            fail(format!("control `{}` is assessed but has no score", c.id))
        }
        (_, Some(s)) if !(scale.min..=scale.max).contains(&s) => fail(format!(
            "control `{}` score {s} is off the scale {}–{} of {}",
            c.id, scale.min, scale.max, framework.id
        )),
        _ => Ok(()),
    }
}

fn check_duplicates<'a>(ids: impl Iterator<Item = (&'a str, String)>, path: &Path) -> Result<()> {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for (id, at) in ids {
        if let Some(first) = seen.insert(id, at.clone()) {
            return Err(audit_error(
                path,
                Some(at),
                format!("control `{id}` is scored twice (first at {first})"),
            ));
        }
    }
    Ok(())
}

fn required_system(system: Option<String>, path: &Path, at: Option<&str>) -> Result<String> {
    system
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| audit_error(path, at.map(String::from), "missing `system`".into()))
}

fn audit_date(text: &str, path: &Path, at: Option<&str>) -> Result<NaiveDate> {
    crate::config::parse_date(text)
        .map_err(|m| audit_error(path, at.map(String::from), format!("assessed_on: {m}")))
}

/// Resolve each evidence path against the config's folder and record the ones not found.
fn check_evidence(audit: &mut Audit, config: &Config, warnings: &mut Vec<String>) -> Result<()> {
    for control in &mut audit.controls {
        for item in &control.evidence {
            let path = config.base_dir.join(item);
            if path.is_file() {
                continue;
            }
            let message = format!(
                "{}: control {} of {}: evidence file {} not found",
                audit.file.display(),
                control.id,
                audit.system,
                path.display()
            );
            if config.strict {
                return Err(Error::Audit {
                    path: audit.file.clone(),
                    at: Some(format!("control {}", control.id)),
                    message: format!("evidence file {} not found", path.display()),
                });
            }
            warnings.push(message);
            control.missing_evidence.push(item.clone());
        }
    }
    Ok(())
}

pub(super) fn audit_error(path: &Path, at: Option<String>, message: String) -> Error {
    Error::Audit {
        path: path.to_path_buf(),
        at,
        message,
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::framework::validate_framework;
    use super::*;

    #[test]
    fn builtin_frameworks_are_valid_and_complete() {
        let va = builtin("vendor-audit-10").unwrap();
        let ir = builtin("incident-readiness-12").unwrap();
        assert_eq!(va.controls.len(), 10);
        assert_eq!(ir.controls.len(), 12);
        for f in [&va, &ir] {
            validate_framework(f).unwrap();
            assert_eq!(
                f.scale,
                Scale {
                    min: 0.0,
                    max: 3.0,
                    pass: 2.0
                }
            );
            for c in &f.controls {
                assert!(
                    c.description.contains("0:") && c.description.contains("3:"),
                    "{}",
                    c.id
                );
                assert!(!c.maps_to.is_empty(), "{}", c.id);
            }
        }
        assert_eq!(ir.controls[0].id, "IR-01");
        assert_eq!(va.controls[9].id, "VA-10");
    }

    #[test]
    fn framework_validation() {
        let mut f = builtin("vendor-audit-10").unwrap();
        f.scale.pass = 4.0;
        assert!(validate_framework(&f).unwrap_err().contains("pass"));
        let mut f = builtin("vendor-audit-10").unwrap();
        f.controls[1].id = "VA-01".into();
        assert!(validate_framework(&f).unwrap_err().contains("twice"));
    }

    #[test]
    fn control_checks() {
        let f = builtin("incident-readiness-12").unwrap();
        let ok = ControlScore {
            id: "IR-01".into(),
            score: Some(3.0),
            ..Default::default()
        };
        let p = Path::new("a.yaml");
        assert!(check_control(&ok, &f, p, "x").is_ok());
        let off = ControlScore {
            score: Some(4.0),
            ..ok.clone()
        };
        assert!(
            check_control(&off, &f, p, "x")
                .unwrap_err()
                .to_string()
                .contains("off the scale")
        );
        let unknown = ControlScore {
            id: "IR-13".into(),
            ..ok.clone()
        };
        assert!(
            check_control(&unknown, &f, p, "x")
                .unwrap_err()
                .to_string()
                .contains("not in framework")
        );
        let unscored = ControlScore {
            score: None,
            ..ok.clone()
        };
        assert!(check_control(&unscored, &f, p, "x").is_err());
        let na = ControlScore {
            score: None,
            status: Assessment::NotApplicable,
            ..ok
        };
        assert!(check_control(&na, &f, p, "x").is_ok());
    }
}
