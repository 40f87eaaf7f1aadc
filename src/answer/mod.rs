//! Customer questionnaires (SPEC §9, issue 19). In: a questionnaire (CSV, or an XLSX workbook
//! whose sheets holding the id and question columns are the questionnaire), an answer library
//! (YAML: entries matched by exact question id, else by the first regex over ids that matches,
//! each a MiniJinja template, an optional `choice` for a dropdown column, and the evidence paths it
//! cites) and the KPI document as JSON — recomputed, or read from a verified bundle. Out: the same
//! questionnaire with the answer, choice, evidence and status cells filled, and the list of
//! questions left unanswered. Guarantees: every other cell keeps its value (an XLSX its bytes);
//! a question nobody answers is marked `unanswered`, never left silently blank, and an answer
//! already in its cell is kept; a template that fails (including one that uses a name the
//! document does not have) is an error naming the question, the library entry and the template
//! line, and nothing is written.

pub mod cite;
mod csv_io;
mod library;
mod xlsx;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::error::{Error, Result};
pub use cite::Cited;
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
    /// The column a library entry's `choice` goes in (a dropdown); added only when the header
    /// lacks it and some answer has a choice.
    pub choice_column: &'a str,
    /// XLSX: the sheets to answer; empty means every sheet with the id and question header.
    pub sheets: &'a [String],
    pub force: bool,
    /// Answering from a verified bundle: evidence is cited by bag path and SHA-256.
    pub cited: Option<&'a Cited>,
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

/// What one sheet's filling wrote, for the checks an XLSX makes before it writes.
struct Filled {
    outcome: Outcome,
    /// The question id of each answered or unanswered row.
    ids: BTreeMap<usize, String>,
    /// The names of the columns written, by index.
    columns: BTreeMap<usize, String>,
}

/// The library, ready to render, and what every template sees.
struct Answerer<'a> {
    rules: &'a [Rule],
    env: Environment<'a>,
    context: BTreeMap<String, serde_json::Value>,
}

pub fn run(job: &Job<'_>, doc: serde_json::Value) -> Result<Outcome> {
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
    let answerer = Answerer {
        context: context(doc)?,
        env,
        rules: &rules,
    };
    match format_of(job.questionnaire)? {
        Format::Csv => {
            let (mut sheet, style) = csv_io::read(job.questionnaire, job)?;
            let filled = fill(&mut sheet, job, &answerer)?;
            let bytes = csv_io::write(&sheet, &style, job.output)?;
            write_out(job, &bytes)?;
            Ok(filled.outcome)
        }
        Format::Xlsx => {
            let mut book = xlsx::read(job.questionnaire, job)?;
            let mut outcome = Outcome {
                answered: 0,
                unanswered: Vec::new(),
            };
            let several = book.sheets.len() > 1;
            for sheet in &mut book.sheets {
                let filled = fill(&mut sheet.sheet, job, &answerer)?;
                outcome.answered += filled.outcome.answered;
                for (id, q) in &filled.outcome.unanswered {
                    let id = if several {
                        format!("{}: {id}", sheet.name)
                    } else {
                        id.clone()
                    };
                    outcome.unanswered.push((id, q.clone()));
                }
                sheet.filled = Some((filled.ids, filled.columns));
            }
            let bytes = xlsx::write(&book, job)?;
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

/// One question's reply, rendered.
struct Reply {
    text: Option<String>,
    choice: Option<String>,
    evidence: String,
}

impl Answerer<'_> {
    /// The reply of the first matching entry; `None` when no entry matches or it renders empty.
    fn reply(&self, job: &Job<'_>, id: &str, question: &str) -> Result<Option<Reply>> {
        let found = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.id.as_deref() == Some(id))
            .or_else(|| {
                self.rules
                    .iter()
                    .enumerate()
                    .find(|(_, rule)| rule.pattern.as_ref().is_some_and(|p| p.is_match(id)))
            });
        let Some((i, rule)) = found else {
            return Ok(None);
        };
        let mut ctx = self.context.clone();
        ctx.insert(
            "question".into(),
            serde_json::json!({ "id": id, "text": question }),
        );
        let render = |name: Option<String>| -> Result<Option<String>> {
            let Some(name) = name else { return Ok(None) };
            let text = self
                .env
                .get_template(&name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| template_error(job.library, rule, i, Some(id), &e))?;
            let text = text.trim().to_string();
            Ok((!text.is_empty()).then_some(text))
        };
        let text = render(rule.answer_name())?;
        let choice = render(rule.choice_name())?;
        if text.is_none() && choice.is_none() {
            return Ok(None);
        }
        let evidence = cite::references(job, rule, i)?;
        Ok(Some(Reply {
            text,
            choice,
            evidence,
        }))
    }
}

fn fill(sheet: &mut Sheet, job: &Job<'_>, answerer: &Answerer<'_>) -> Result<Filled> {
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
    let mut replies = Vec::new();
    for (r, row) in sheet.rows.iter().enumerate().skip(sheet.header + 1) {
        let id = row
            .get(id_col)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if id.is_empty() {
            // A section heading or a blank row, not a question.
            continue;
        }
        let question = row.get(q_col).cloned().unwrap_or_default();
        let reply = answerer.reply(job, &id, &question)?;
        replies.push((r, id, question, reply));
    }
    let any_choice = replies
        .iter()
        .any(|(.., reply)| reply.as_ref().is_some_and(|x| x.choice.is_some()));
    let mut names: Vec<&str> = job.out_columns.to_vec();
    if any_choice || find(job.choice_column).is_some() {
        names.push(job.choice_column);
    }
    let mut columns = BTreeMap::new();
    let mut cols = Vec::new();
    for name in names {
        let col = match find(name).or_else(|| cols.iter().find(|(n, _)| n == &name).map(|x| x.1)) {
            Some(c) => c,
            None => {
                let c = sheet.rows[sheet.header].len().max(header.len());
                sheet.rows[sheet.header].resize(c, String::new());
                sheet.rows[sheet.header].push(name.to_string());
                c
            }
        };
        if columns.insert(col, name.to_string()).is_some() || col == id_col || col == q_col {
            return Err(Error::Usage(format!(
                "column `{name}` is given for two purposes; the id, question, answer, evidence, \
                 status and choice columns must differ"
            )));
        }
        cols.push((name, col));
    }
    let width = cols.iter().map(|c| c.1).max().map_or(0, |m| m + 1);
    let [answer_col, evidence_col, status_col] = [cols[0].1, cols[1].1, cols[2].1];
    let choice_col = cols.get(3).map(|c| c.1);
    let mut filled = Filled {
        outcome: Outcome {
            answered: 0,
            unanswered: Vec::new(),
        },
        ids: BTreeMap::new(),
        columns,
    };
    for (r, id, question, reply) in replies {
        let row = &mut sheet.rows[r];
        if row.len() < width {
            row.resize(width, String::new());
        }
        filled.ids.insert(r, id.clone());
        match reply {
            Some(reply) => {
                if let Some(text) = reply.text {
                    row[answer_col] = text;
                }
                if let (Some(choice), Some(c)) = (reply.choice, choice_col) {
                    row[c] = choice;
                }
                if !reply.evidence.is_empty() {
                    row[evidence_col] = reply.evidence;
                }
                row[status_col] = "answered".into();
                filled.outcome.answered += 1;
            }
            None => {
                // An answer already in the cell (typed by a person) is kept.
                row[status_col] = "unanswered".into();
                filled.outcome.unanswered.push((id, question));
            }
        }
    }
    Ok(filled)
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
