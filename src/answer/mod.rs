//! Customer questionnaires (SPEC §9). In: a questionnaire (CSV, or an XLSX workbook whose sheet
//! holding the id and question columns is the questionnaire), an answer library (YAML: entries
//! matched by exact question id, else by the first regex over ids that matches, each a MiniJinja
//! template plus the evidence paths it cites) and the KPI document. Out: the same questionnaire with
//! `answer`, `evidence` and `status` columns filled, and the list of questions left unanswered.
//! Guarantees: every other cell keeps its value; a question nobody answers is marked `unanswered`,
//! never left silently blank; a template that fails (including one that uses a name the document
//! does not have) is an error naming the question, the library entry and the template line, and
//! nothing is written.

mod csv_io;
mod library;
mod xlsx_io;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::error::{Error, Result};
use crate::kpi::Document;
use library::{Rule, context, environment, load_library, template_error};

pub struct Job<'a> {
    pub questionnaire: &'a Path,
    pub library: &'a Path,
    pub output: &'a Path,
    pub id_column: &'a str,
    pub question_column: &'a str,
    /// The answer, evidence and status columns, by header name; each is added, in this order,
    /// after the last used column when the header lacks it.
    pub out_columns: [&'a str; 3],
    pub force: bool,
    /// The build time (SOURCE_DATE_EPOCH, else now): the workbook's creation time, so identical
    /// inputs give identical bytes.
    pub build_time: chrono::DateTime<chrono::Utc>,
}

/// What `run` did: the questions answered and the ones left open, as (id, question).
#[derive(Debug)]
pub struct Outcome {
    pub answered: usize,
    pub unanswered: Vec<(String, String)>,
}

/// A questionnaire as a grid of text cells; `header` is the row holding the column names.
struct Sheet {
    rows: Vec<Vec<String>>,
    header: usize,
}

pub fn run(job: &Job<'_>, doc: &Document) -> Result<Outcome> {
    if !job.force && job.output.exists() {
        return Err(Error::Exists {
            path: job.output.to_path_buf(),
        });
    }
    if same_file(job.questionnaire, job.output) {
        return Err(Error::Usage(format!(
            "the output {} is the questionnaire itself; write the answers elsewhere",
            job.output.display()
        )));
    }
    let rules = load_library(job.library)?;
    let _watch = crate::watchdog::watch(
        job.library,
        "rendering the answer library",
        crate::watchdog::Limits::for_templates(),
    );
    let env = environment(&rules, job.library)?;
    let context = context(doc)?;
    match format_of(job.questionnaire)? {
        Format::Csv => {
            let (mut sheet, style) = csv_io::read(job.questionnaire, job)?;
            let outcome = fill(&mut sheet, job, &rules, &env, &context)?;
            let bytes = csv_io::write(&sheet, &style, job.output)?;
            write_out(job, &bytes)?;
            Ok(outcome)
        }
        Format::Xlsx => {
            let mut book = xlsx_io::read(job.questionnaire, job)?;
            let outcome = fill(&mut book.sheet, job, &rules, &env, &context)?;
            let bytes = xlsx_io::write(&book, job.output, job.build_time)?;
            write_out(job, &bytes)?;
            Ok(outcome)
        }
    }
}

fn write_out(job: &Job<'_>, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = job.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    }
    crate::bundle::write_atomically(job.output, job.force, |file| {
        use std::io::Write;
        file.write_all(bytes)
            .map_err(|e| Error::io("cannot write", job.output, e))
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

enum Format {
    Csv,
    Xlsx,
}

fn format_of(path: &Path) -> Result<Format> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => Ok(Format::Csv),
        "xlsx" | "xlsm" => Ok(Format::Xlsx),
        _ => Err(Error::Answer {
            path: path.to_path_buf(),
            at: None,
            message: "a questionnaire must be a .csv or .xlsx file".into(),
        }),
    }
}

fn fill(
    sheet: &mut Sheet,
    job: &Job<'_>,
    rules: &[Rule],
    env: &Environment<'_>,
    context: &BTreeMap<String, serde_json::Value>,
) -> Result<Outcome> {
    let header = sheet.rows[sheet.header].clone();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
    };
    let missing = |name: &str| Error::Answer {
        path: job.questionnaire.to_path_buf(),
        at: None,
        message: format!(
            "no column `{name}` in the header row; columns: {} (see --id-column, --question-column)",
            header.join(", ")
        ),
    };
    let id_col = find(job.id_column).ok_or_else(|| missing(job.id_column))?;
    let q_col = find(job.question_column).ok_or_else(|| missing(job.question_column))?;
    let mut out_cols = Vec::new();
    for name in job.out_columns {
        let col = match find(name) {
            Some(c) => c,
            None => {
                let c = sheet.rows[sheet.header].len().max(header.len());
                sheet.rows[sheet.header].resize(c, String::new());
                sheet.rows[sheet.header].push(name.to_string());
                c
            }
        };
        out_cols.push(col);
    }
    let width = out_cols.iter().max().map_or(0, |m| m + 1);
    let mut outcome = Outcome {
        answered: 0,
        unanswered: Vec::new(),
    };
    for r in sheet.header + 1..sheet.rows.len() {
        let row = &mut sheet.rows[r];
        let id = row
            .get(id_col)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if id.is_empty() {
            // A section heading or a blank row, not a question.
            continue;
        }
        let question = row.get(q_col).cloned().unwrap_or_default();
        if row.len() < width {
            row.resize(width, String::new());
        }
        let found = rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.id.as_deref() == Some(id.as_str()))
            .or_else(|| {
                rules
                    .iter()
                    .enumerate()
                    .find(|(_, rule)| rule.pattern.as_ref().is_some_and(|p| p.is_match(&id)))
            });
        let answer = match found {
            Some((i, rule)) => {
                let mut ctx = context.clone();
                ctx.insert(
                    "question".into(),
                    serde_json::json!({ "id": id, "text": question }),
                );
                let text = env
                    .get_template(&rule.name)
                    .and_then(|t| t.render(&ctx))
                    .map_err(|e| template_error(job.library, rule, i, Some(&id), &e))?;
                let text = text.trim().to_string();
                (!text.is_empty()).then(|| (text, rule.evidence.clone()))
            }
            None => None,
        };
        match answer {
            Some((text, evidence)) => {
                row[out_cols[0]] = text;
                row[out_cols[1]] = evidence;
                row[out_cols[2]] = "answered".into();
                outcome.answered += 1;
            }
            None => {
                row[out_cols[0]] = String::new();
                row[out_cols[1]] = String::new();
                row[out_cols[2]] = "unanswered".into();
                outcome.unanswered.push((id, question));
            }
        }
    }
    Ok(outcome)
}

/// The default output: `dist/<questionnaire file name>` in the working folder.
pub fn default_output(questionnaire: &Path) -> PathBuf {
    Path::new("dist").join(questionnaire.file_name().unwrap_or_default())
}

/// The first row holding both the id and the question column names (questionnaires often have a
/// title block above the table).
fn header_row(rows: &[Vec<String>], job: &Job<'_>) -> Option<usize> {
    let has = |row: &Vec<String>, name: &str| {
        row.iter()
            .any(|c| c.trim().eq_ignore_ascii_case(name.trim()))
    };
    rows.iter()
        .position(|r| has(r, job.id_column) && has(r, job.question_column))
}
