//! Which version of a registered model is in production (SPEC §4), and what the registry can say
//! of that as of `as_of`. In: the model, its store's runs, the policy's production aliases and
//! the point-in-time rule. Out: the production version and how it was chosen (`alias:<name>` or
//! `stage:Production`), warnings (a dangling alias, several Production versions) and `Note`s (a
//! candidate MLflow's own creation times put after `as_of`). Guarantees: candidates are tried in
//! SPEC §4's order; a candidate too new is named whatever the mode, and under `strict` passed over
//! for the next one; a version without a readable creation time is not judged.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::config::PointInTime;
use crate::ingest::mlflow::{ModelVersion, RegisteredModel, Run};

/// What the registry could not say about one model as of `as_of`.
#[derive(Debug, Clone)]
pub struct Note {
    pub system: String,
    pub text: String,
}

impl Note {
    fn on(model: &RegisteredModel, text: String) -> Self {
        Note {
            system: model.name.clone(),
            text,
        }
    }
}

/// The registry as of `as_of`. MLflow keeps no alias or stage history, only creation times: a
/// version created (or whose source run started) after the as-of day cannot have been in
/// production on it.
#[derive(Debug, Clone, Copy)]
pub struct AsOf {
    pub date: NaiveDate,
    /// The first millisecond after the as-of day (UTC).
    cutoff_ms: i64,
    pub mode: PointInTime,
}

impl AsOf {
    pub fn new(date: NaiveDate, mode: PointInTime) -> Self {
        let next_day = date.succ_opt().unwrap_or(date);
        let cutoff_ms = next_day
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(i64::MAX);
        AsOf {
            date,
            cutoff_ms,
            mode,
        }
    }

    /// Why `version` cannot have been in production at as_of, if MLflow's times say so.
    fn too_new(&self, version: &ModelVersion, runs: &BTreeMap<String, Run>) -> Option<String> {
        if let Some(ms) = version.created_ms.filter(|ms| *ms >= self.cutoff_ms) {
            return Some(format!("was created {}", utc(ms)));
        }
        let run = version.run_id.as_ref().and_then(|id| runs.get(id))?;
        let ms = run.started_ms.filter(|ms| *ms >= self.cutoff_ms)?;
        Some(format!("comes from run {} started {}", run.run_id, utc(ms)))
    }
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("at {ms} ms since 1970"))
}

/// SPEC §4: the first production alias (in the policy's order) that points at an existing
/// version; else the highest version whose stage is `Production`. A candidate too new for
/// `as_of` is named in `notes`; under `strict` it is passed over for the next one.
pub(super) fn production_version<'m>(
    model: &'m RegisteredModel,
    runs: &BTreeMap<String, Run>,
    policy: (&[String], AsOf),
    warnings: &mut Vec<String>,
    notes: &mut Vec<Note>,
) -> Option<(&'m ModelVersion, String)> {
    let (aliases, as_of) = policy;
    for (version, via) in candidates(model, aliases, warnings) {
        let Some(why) = as_of.too_new(version, runs) else {
            return Some((version, via));
        };
        let note = format!(
            "{} version {} ({via}) {why}, after as_of {}: it cannot have been in production then",
            model.name, version.version, as_of.date
        );
        match as_of.mode {
            PointInTime::Warn => {
                notes.push(Note::on(
                    model,
                    format!(
                        "{note}; it is reported as the registry stands now \
                         (policy.point_in_time: strict leaves it out)"
                    ),
                ));
                return Some((version, via));
            }
            PointInTime::Strict => {
                notes.push(Note::on(
                    model,
                    format!("{note}; left out (policy.point_in_time: strict)"),
                ));
            }
        }
    }
    None
}

/// Every version that could be the production one, in the order SPEC §4 tries them.
fn candidates<'m>(
    model: &'m RegisteredModel,
    aliases: &[String],
    warnings: &mut Vec<String>,
) -> Vec<(&'m ModelVersion, String)> {
    let mut out = Vec::new();
    for alias in aliases {
        let Some(number) = model.aliases.get(alias) else {
            continue;
        };
        match model.versions.iter().find(|v| &v.version == number) {
            Some(v) => out.push((v, format!("alias:{alias}"))),
            None => warnings.push(format!(
                "{}: alias `{alias}` points at version {number}, which does not exist",
                model.name
            )),
        }
    }
    let staged: Vec<&ModelVersion> = model
        .versions
        .iter()
        .filter(|v| {
            v.current_stage
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("production"))
        })
        .collect();
    // Two markers naming different versions: the alias wins (SPEC §4), but someone promoted
    // the other one too, and the report must not hide it.
    if let (Some((first, via)), Some(stage)) = (out.first(), staged.last())
        && first.version != stage.version
    {
        warnings.push(format!(
            "{}: production markers disagree: {via} → version {}, stage Production → version {}; \
             version {} is taken ({via} comes first)",
            model.name, first.version, stage.version, first.version
        ));
    }
    if staged.len() > 1 {
        warnings.push(format!(
            "{}: {} versions are in stage Production; the highest, {}, is taken",
            model.name,
            staged.len(),
            staged.last().map(|v| v.version.as_str()).unwrap_or("")
        ));
    }
    // Versions are sorted by number: highest first.
    out.extend(
        staged
            .into_iter()
            .rev()
            .map(|v| (v, "stage:Production".to_string())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: &str, stage: Option<&str>) -> ModelVersion {
        ModelVersion {
            version: n.into(),
            current_stage: stage.map(String::from),
            ..Default::default()
        }
    }

    fn aliases() -> Vec<String> {
        ["champion", "production", "prod"]
            .map(String::from)
            .to_vec()
    }

    /// 2026-10-01T00:00:00Z and 2026-09-30T23:59:59.999Z, in ms (by `date -u -d … +%s`).
    const OCT_1: i64 = 1_790_812_800_000;
    const SEP_30_LAST_MS: i64 = OCT_1 - 1;

    fn created(n: &str, stage: Option<&str>, ms: i64) -> ModelVersion {
        ModelVersion {
            created_ms: Some(ms),
            ..version(n, stage)
        }
    }

    /// As of 2026-09-30, warn mode, no runs.
    fn pick<'m>(
        model: &'m RegisteredModel,
        warnings: &mut Vec<String>,
        notes: &mut Vec<Note>,
    ) -> Option<(&'m ModelVersion, String)> {
        pick_as(model, PointInTime::Warn, &BTreeMap::new(), warnings, notes)
    }

    fn pick_as<'m>(
        model: &'m RegisteredModel,
        mode: PointInTime,
        runs: &BTreeMap<String, Run>,
        warnings: &mut Vec<String>,
        notes: &mut Vec<Note>,
    ) -> Option<(&'m ModelVersion, String)> {
        let as_of = AsOf::new(NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(), mode);
        production_version(model, runs, (&aliases(), as_of), warnings, notes)
    }

    fn mixed_ages() -> RegisteredModel {
        RegisteredModel {
            name: "m".into(),
            // champion → v3, created on Oct 1 (after as_of); Production stage on v2 (Sep 30,
            // last millisecond: still on the as-of day) and on v1.
            aliases: [("champion".to_string(), "3".to_string())].into(),
            versions: vec![
                created("1", Some("Production"), 0),
                created("2", Some("Production"), SEP_30_LAST_MS),
                created("3", None, OCT_1),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn warn_keeps_a_version_created_after_as_of_and_names_it() {
        let (mut w, mut notes) = (Vec::new(), Vec::new());
        let model = mixed_ages();
        let (v, via) = pick(&model, &mut w, &mut notes).unwrap();
        assert_eq!((v.version.as_str(), via.as_str()), ("3", "alias:champion"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].text.starts_with(
                "m version 3 (alias:champion) was created 2026-10-01T00:00:00Z, after as_of \
                 2026-09-30"
            ),
            "{notes:?}"
        );
    }

    #[test]
    fn strict_passes_over_it_to_the_next_candidate_created_by_as_of() {
        let (mut w, mut notes) = (Vec::new(), Vec::new());
        let model = mixed_ages();
        let runs = BTreeMap::new();
        let (v, via) = pick_as(&model, PointInTime::Strict, &runs, &mut w, &mut notes).unwrap();
        // v2 was created in the last millisecond of the as-of day: it counts.
        assert_eq!(
            (v.version.as_str(), via.as_str()),
            ("2", "stage:Production")
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0]
                .text
                .ends_with("left out (policy.point_in_time: strict)")
        );
    }

    #[test]
    fn strict_judges_the_source_run_too_and_may_leave_none() {
        let model = RegisteredModel {
            name: "m".into(),
            versions: vec![ModelVersion {
                run_id: Some("r1".into()),
                ..created("1", Some("Production"), 0)
            }],
            ..Default::default()
        };
        let run = Run {
            run_id: "r1".into(),
            started_ms: Some(OCT_1 + 3_600_000),
            ..Default::default()
        };
        let runs = [("r1".to_string(), run)].into();
        let mut notes = Vec::new();
        let picked = pick_as(
            &model,
            PointInTime::Strict,
            &runs,
            &mut Vec::new(),
            &mut notes,
        );
        assert!(picked.is_none());
        assert!(
            notes[0]
                .text
                .contains("comes from run r1 started 2026-10-01T01:00:00Z"),
            "{notes:?}"
        );
        // Unknown creation times are not judged.
        let mut unknown = model.clone();
        unknown.versions[0].run_id = None;
        unknown.versions[0].created_ms = None;
        let picked = pick_as(
            &unknown,
            PointInTime::Strict,
            &runs,
            &mut Vec::new(),
            &mut notes,
        );
        assert!(picked.is_some());
    }

    #[test]
    fn first_alias_in_policy_order_wins_over_stage() {
        let model = RegisteredModel {
            name: "m".into(),
            aliases: [("prod", "1"), ("champion", "3")]
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .into(),
            versions: vec![
                version("1", None),
                version("2", Some("Production")),
                version("3", None),
            ],
            ..Default::default()
        };
        let mut w = Vec::new();
        let (v, via) = pick(&model, &mut w, &mut Vec::new()).unwrap();
        assert_eq!((v.version.as_str(), via.as_str()), ("3", "alias:champion"));
        // Stage Production names version 2: the disagreement is named (issue 21).
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("alias:champion → version 3, stage Production → version 2"),
            "{w:?}"
        );
    }

    #[test]
    fn dangling_alias_falls_through_with_warning_and_stage_decides() {
        let model = RegisteredModel {
            name: "m".into(),
            aliases: [("champion".to_string(), "9".to_string())].into(),
            versions: vec![
                version("1", Some("production")),
                version("2", Some("Production")),
            ],
            ..Default::default()
        };
        let mut w = Vec::new();
        let (v, via) = pick(&model, &mut w, &mut Vec::new()).unwrap();
        assert_eq!(
            (v.version.as_str(), via.as_str()),
            ("2", "stage:Production")
        );
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn challenger_only_is_not_in_production() {
        let model = RegisteredModel {
            name: "m".into(),
            aliases: [("challenger".to_string(), "1".to_string())].into(),
            versions: vec![version("1", Some("Staging"))],
            ..Default::default()
        };
        assert!(pick(&model, &mut Vec::new(), &mut Vec::new()).is_none());
    }
}
