//! `dossier answer Q.csv|Q.xlsx`: the questionnaire answered from the KPI document — recomputed
//! from the sources, or with `--bundle` read from a signed bundle that is verified first (exit 4
//! when it does not verify, with every problem on stderr, and nothing written). The output's path
//! on stdout; unanswered questions, the bundle answered from, and the tally on stderr.

use std::path::Path;

use super::assess;
use crate::answer::{self, Cited};
use crate::cli::AnswerArgs;
use crate::config::Overrides;
use crate::error::{Error, Exit, Result, contain};
use crate::ui::{Out, Ui};
use crate::vocab::layout;

pub fn run(args: AnswerArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    let (doc, cited) = match &args.bundle {
        Some(bundle) => match from_bundle(bundle, args.pubkey.as_deref(), ui)? {
            Some((doc, cited)) => (doc, Some(cited)),
            None => return Ok(Exit::VerifyFailed),
        },
        None => (recompute(&args, ui)?, None),
    };
    let library = args.library.clone().unwrap_or_else(|| {
        let dir = args.config.parent().unwrap_or(Path::new(""));
        dir.join("answers.yaml")
    });
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| answer::default_output(&args.questionnaire));
    let job = answer::Job {
        questionnaire: &args.questionnaire,
        library: &library,
        output: &output,
        id_column: &args.id_column,
        question_column: &args.question_column,
        out_columns: [
            &args.answer_column,
            &args.evidence_column,
            &args.status_column,
        ],
        choice_column: &args.choice_column,
        sheets: &args.sheets,
        force: args.force,
        cited: cited.as_ref(),
    };
    let outcome = contain(&args.questionnaire, "answering the questionnaire", || {
        answer::run(&job, doc)
    })?;
    for (id, question) in &outcome.unanswered {
        ui.warn(&format!("unanswered: {id} {question}"));
    }
    out.path(&output)?;
    ui.status(&format!(
        "{} answered, {} unanswered",
        outcome.answered,
        outcome.unanswered.len()
    ));
    Ok(Exit::Success)
}

fn recompute(args: &AnswerArgs, ui: &Ui) -> Result<serde_json::Value> {
    let overrides = Overrides {
        build_time: args.epoch.source_date_epoch,
        ..Overrides::default()
    };
    let assessed = assess(&args.config, &overrides, ui)?;
    serde_json::to_value(&assessed.doc)
        .map_err(|e| Error::Internal(format!("cannot serialise the KPI document: {e}")))
}

/// The bundle's KPI document and what answers cite of it; `None` when it does not verify (the
/// problems are on stderr).
fn from_bundle(
    bundle: &Path,
    pubkey: Option<&Path>,
    ui: &Ui,
) -> Result<Option<(serde_json::Value, Cited)>> {
    let (report, contents) = contain(bundle, "reading the bundle", || {
        crate::verify::verify_reading(bundle, pubkey, None, &[layout::KPIS_JSON])
    })?;
    for w in &report.warnings {
        ui.warn(w);
    }
    if !report.ok {
        for p in &report.problems {
            ui.warn(&format!("FAIL {}: {}", p.file, p.problem));
        }
        ui.status(&format!(
            "{} does not verify: nothing answered from it",
            bundle.display()
        ));
        return Ok(None);
    }
    let corrupt = |message: String| Error::Answer {
        path: bundle.to_path_buf(),
        at: Some(layout::KPIS_JSON.into()),
        message,
    };
    let kpis = contents
        .files
        .get(layout::KPIS_JSON)
        .ok_or_else(|| corrupt("missing from the bundle".into()))?;
    let doc: serde_json::Value =
        serde_json::from_slice(kpis).map_err(|e| corrupt(format!("not a KPI document: {e}")))?;
    let lines = |name: &str| {
        contents
            .files
            .get(name)
            .map(|m| Cited::parse_manifest(&String::from_utf8_lossy(m)))
            .unwrap_or_default()
    };
    let (manifest, tag_manifest) = (lines(layout::MANIFEST), lines(layout::TAGMANIFEST));
    let cited = Cited {
        bundle: bundle.to_path_buf(),
        id: contents.root,
        sha256: crate::digest::sha256_file(bundle)?,
        fingerprint: report.fingerprint.clone(),
        key_pinned: report.key_pinned,
        time_stamp: report.time_stamp.clone(),
        manifest,
        tag_manifest,
    };
    ui.status(&format!(
        "answering from bundle {} (sha256:{}), signed by key sha256:{}",
        cited.id,
        cited.sha256,
        cited.fingerprint.as_deref().unwrap_or("(none)")
    ));
    Ok(Some((doc, cited)))
}
