//! The cells an answer changes, checked against the customer's sheet before anything is
//! written. In: a filled questionnaire sheet and what its worksheet part says (formulas, merges,
//! dropdowns and the values they allow). Out: the cell edits to splice in, each with the style a
//! new cell takes. Guarantees: no formula is overwritten, no cell hidden inside a merge is
//! written, no value a cell's dropdown does not offer is written, no cell exceeds Excel's length —
//! each refusal names the question, the cell and the column.

use std::collections::BTreeMap;

use super::QSheet;
use super::refs::{self, Cell};
use super::worksheet::Edit;
use crate::answer::Job;
use crate::error::{Error, Result};

/// The cells filling changed, each checked against the sheet: no formula overwritten, no cell
/// hidden inside a merge, no value its dropdown does not allow.
pub(super) fn edits(s: &QSheet, job: &Job<'_>) -> Result<BTreeMap<Cell, Edit>> {
    let (ids, columns) = s.filled.clone().unwrap_or_default();
    let (r0, c0) = s.origin;
    let header_row = r0 + s.sheet.header as u32;
    let mut out = BTreeMap::new();
    for (r, row) in s.sheet.rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let before = s
                .original
                .get(r)
                .and_then(|o| o.get(c))
                .map_or("", String::as_str);
            if before == value {
                continue;
            }
            let at = Cell {
                row: r0 + r as u32,
                col: c0 + c as u32,
            };
            let column = columns.get(&c).map_or("?", String::as_str);
            let question = ids
                .get(&r)
                .map_or_else(|| "(header)".to_string(), |id| format!("question {id}"));
            check(s, at, value, column, job).map_err(|message| Error::Answer {
                path: job.questionnaire.to_path_buf(),
                at: Some(question),
                message,
            })?;
            let style = if s.facts.cell_styles.contains_key(&at) {
                None
            } else if at.row == header_row {
                // An added header takes the look of the header cell before it.
                s.facts
                    .cell_styles
                    .range(..at)
                    .next_back()
                    .filter(|(k, _)| k.row == header_row)
                    .map(|(_, v)| v.clone())
            } else {
                s.facts.style_for_new(at)
            };
            out.insert(
                at,
                Edit {
                    text: value.clone(),
                    style,
                },
            );
        }
    }
    Ok(out)
}

fn check(
    s: &QSheet,
    at: Cell,
    value: &str,
    column: &str,
    job: &Job<'_>,
) -> std::result::Result<(), String> {
    let name = format!("{}!{}", s.name, refs::cell_name(at));
    if value.chars().count() > refs::MAX_CELL_CHARS {
        return Err(format!(
            "the {column} for {name} is {} characters; a cell holds at most {}",
            value.chars().count(),
            refs::MAX_CELL_CHARS
        ));
    }
    if s.facts.formulas.contains(&at) {
        return Err(format!(
            "{name} ({column} column) holds a formula; dossier does not overwrite formulas"
        ));
    }
    if let Some(m) = s.facts.merge_at(at).filter(|m| m.first != at) {
        return Err(format!(
            "{name} ({column} column) lies inside the merged cells {}:{}, where it would not show",
            refs::cell_name(m.first),
            refs::cell_name(m.last)
        ));
    }
    let Some((i, validation)) = s.facts.validation_at(at) else {
        return Ok(());
    };
    let source = &validation.source;
    match s.allowed.get(i).cloned().flatten() {
        None => Err(format!(
            "{name} ({column} column) has a dropdown whose values (`{source}`) dossier cannot read"
        )),
        Some(list) if list.iter().any(|a| a == value.trim()) => Ok(()),
        Some(list) => {
            let hint = if column == job.choice_column {
                String::new()
            } else {
                format!(
                    "; give the entry a `choice:` and name this column with --choice-column, \
                     or write the {column} elsewhere"
                )
            };
            Err(format!(
                "`{}` is not a value the dropdown in {name} ({column} column) allows: {}{hint}",
                shorten(value),
                list.join(", ")
            ))
        }
    }
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
