//! `dossier answer Q.csv|Q.xlsx`: the questionnaire answered from the KPI document; the output's
//! path on stdout, unanswered questions and the tally on stderr.

use super::assess;
use crate::answer;
use crate::cli::AnswerArgs;
use crate::config::Overrides;
use crate::error::{Exit, Result, contain};
use crate::ui::{Out, Ui};

pub fn run(args: AnswerArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    let overrides = Overrides {
        build_time: args.epoch.source_date_epoch,
        ..Overrides::default()
    };
    let assessed = assess(&args.config, &overrides, ui)?;
    let library = args
        .library
        .clone()
        .unwrap_or_else(|| assessed.config.base_dir.join("answers.yaml"));
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
        force: args.force,
        build_time: assessed.config.build_time,
    };
    let outcome = contain(&args.questionnaire, "answering the questionnaire", || {
        answer::run(&job, &assessed.doc)
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
