//! Customer questionnaires (SPEC §9). In: a questionnaire (CSV, or an XLSX workbook whose sheet
//! holding the id and question columns is the questionnaire), an answer library (YAML: entries
//! matched by exact question id, else by the first regex over ids that matches, each a MiniJinja
//! template plus the evidence paths it cites) and the KPI document. Out: the same questionnaire with
//! `answer`, `evidence` and `status` columns filled, and the list of questions left unanswered.
//! Guarantees: every other cell keeps its value; a question nobody answers is marked `unanswered`,
//! never left silently blank; a template that fails (including one that uses a name the document
//! does not have) is an error naming the question, the library entry and the template line, and
//! nothing is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::kpi::Document;

/// The output columns, in the order they are added when the questionnaire lacks them.
const OUT_COLUMNS: [&str; 3] = ["answer", "evidence", "status"];

pub struct Job<'a> {
    pub questionnaire: &'a Path,
    pub library: &'a Path,
    pub output: &'a Path,
    pub id_column: &'a str,
    pub question_column: &'a str,
    pub force: bool,
}

/// What `run` did: the questions answered and the ones left open, as (id, question).
#[derive(Debug)]
pub struct Outcome {
    pub answered: usize,
    pub unanswered: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Library {
    answers: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: Option<String>,
    pattern: Option<String>,
    answer: String,
    #[serde(default)]
    evidence: Vec<String>,
}

/// A library entry ready to match and render.
struct Rule {
    /// The template's name in the environment: `answers[<index>]`.
    name: String,
    /// How the entry is named in messages: `id AI-DOC-01` or `pattern ^AI-LOG-`.
    label: String,
    id: Option<String>,
    pattern: Option<regex::Regex>,
    template: String,
    evidence: String,
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
            let bytes = xlsx_io::write(&book, job.output)?;
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

// ---- the library --------------------------------------------------------------------------------

fn load_library(path: &Path) -> Result<Vec<Rule>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    let de = serde_yaml::Deserializer::from_str(&text);
    let library: Library = serde_path_to_error::deserialize(de).map_err(|e| {
        let location = e.inner().location();
        Error::Config {
            path: path.to_path_buf(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            key: Some(e.path().to_string()).filter(|k| k != "."),
            message: e.inner().to_string(),
            hint: Some("an answer library is `answers:` with entries of `id` or `pattern`, `answer` and `evidence`".into()),
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
    Ok(Rule {
        name: format!("answers[{index}]"),
        label,
        id: e.id,
        pattern,
        template: e.answer,
        evidence: e.evidence.join("; "),
    })
}

/// Every template compiled up front, so a syntax error stops the run before anything is read.
fn environment<'a>(rules: &'a [Rule], library: &Path) -> Result<Environment<'a>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("pct", pct);
    for (i, r) in rules.iter().enumerate() {
        env.add_template(&r.name, &r.template)
            .map_err(|e| template_error(library, r, i, None, &e))?;
    }
    Ok(env)
}

fn template_error(
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
fn context(doc: &Document) -> Result<BTreeMap<String, serde_json::Value>> {
    let json = serde_json::to_value(doc)
        .map_err(|e| Error::Usage(format!("cannot serialise the KPI document: {e}")))?;
    let serde_json::Value::Object(map) = json else {
        return Err(Error::Usage("the KPI document is not an object".into()));
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

// ---- filling ------------------------------------------------------------------------------------

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
    for name in OUT_COLUMNS {
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

// ---- CSV ----------------------------------------------------------------------------------------

mod csv_io {
    use super::*;

    /// What to keep of the input's form: a UTF-8 byte-order mark and CRLF line ends.
    pub struct Style {
        bom: bool,
        crlf: bool,
    }

    pub fn read(path: &Path, job: &Job<'_>) -> Result<(Sheet, Style)> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
        let bom = bytes.starts_with(b"\xEF\xBB\xBF");
        let body = if bom { &bytes[3..] } else { &bytes[..] };
        let crlf = body
            .iter()
            .position(|&b| b == b'\n')
            .is_some_and(|i| i > 0 && body[i - 1] == b'\r');
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| Error::Answer {
                path: path.to_path_buf(),
                at: Some(format!(
                    "row {}",
                    e.position().map_or(i as u64 + 1, |p| p.line())
                )),
                message: format!("not a readable CSV row: {e}"),
            })?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        let header = header_row(&rows, job).ok_or_else(|| Error::Answer {
            path: path.to_path_buf(),
            at: None,
            message: format!(
                "no header row with the columns `{}` and `{}` (see --id-column, --question-column)",
                job.id_column, job.question_column
            ),
        })?;
        Ok((Sheet { rows, header }, Style { bom, crlf }))
    }

    pub fn write(sheet: &Sheet, style: &Style, path: &Path) -> Result<Vec<u8>> {
        let fail = |e: csv::Error| Error::Answer {
            path: path.to_path_buf(),
            at: None,
            message: format!("cannot write the CSV: {e}"),
        };
        let mut out = Vec::new();
        if style.bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(if style.crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(out);
        for row in &sheet.rows {
            w.write_record(row).map_err(fail)?;
        }
        w.into_inner().map_err(|e| Error::Answer {
            path: path.to_path_buf(),
            at: None,
            message: format!("cannot write the CSV: {e}"),
        })
    }
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

// ---- XLSX ---------------------------------------------------------------------------------------

mod xlsx_io {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    use rust_xlsxwriter::{Format, Workbook};

    use super::*;

    /// One worksheet's cells by (row, column), as read.
    struct Grid {
        name: String,
        cells: Vec<(u32, u32, Data)>,
    }

    pub struct Book {
        grids: Vec<Grid>,
        /// Which grid is the questionnaire, and where its table starts.
        index: usize,
        origin: (u32, u32),
        pub sheet: Sheet,
        /// The questionnaire's cells as read, to tell changed text cells from untouched ones.
        original: Vec<Vec<String>>,
    }

    pub fn read(path: &Path, job: &Job<'_>) -> Result<Book> {
        let fail = |message: String| Error::Answer {
            path: path.to_path_buf(),
            at: None,
            message,
        };
        let mut wb: Xlsx<_> =
            open_workbook(path).map_err(|e| fail(format!("not a readable XLSX workbook: {e}")))?;
        let mut grids = Vec::new();
        let mut found = None;
        for name in wb.sheet_names() {
            let range = wb
                .worksheet_range(&name)
                .map_err(|e| fail(format!("sheet {name}: {e}")))?;
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let cells: Vec<(u32, u32, Data)> = range
                .used_cells()
                .map(|(r, c, d)| (r0 + r as u32, c0 + c as u32, d.clone()))
                .collect();
            if found.is_none() {
                let rows: Vec<Vec<String>> = range
                    .rows()
                    .map(|row| row.iter().map(text).collect())
                    .collect();
                if let Some(header) = header_row(&rows, job) {
                    found = Some((grids.len(), (r0, c0), Sheet { rows, header }));
                }
            }
            grids.push(Grid { name, cells });
        }
        let (index, origin, sheet) = found.ok_or_else(|| {
            fail(format!(
                "no sheet has a header row with the columns `{}` and `{}` (see --id-column, --question-column)",
                job.id_column, job.question_column
            ))
        })?;
        Ok(Book {
            grids,
            index,
            origin,
            original: sheet.rows.clone(),
            sheet,
        })
    }

    fn text(d: &Data) -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(d) => d.as_f64().to_string(),
            Data::Error(e) => format!("{e}"),
        }
    }

    /// Every sheet again, cell for cell, with the questionnaire's changed cells as text.
    pub fn write(book: &Book, path: &Path) -> Result<Vec<u8>> {
        let fail = |e: rust_xlsxwriter::XlsxError| Error::Answer {
            path: path.to_path_buf(),
            at: None,
            message: format!("cannot write the workbook: {e}"),
        };
        let date = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let wrap = Format::new().set_text_wrap();
        let mut wb = Workbook::new();
        for (i, grid) in book.grids.iter().enumerate() {
            let ws = wb.add_worksheet();
            ws.set_name(&grid.name).map_err(fail)?;
            for (r, c, d) in &grid.cells {
                let c = col16(*c).map_err(fail)?;
                match d {
                    Data::Empty => continue,
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                        ws.write_string(*r, c, s)
                    }
                    Data::Float(f) => ws.write_number(*r, c, *f),
                    Data::Int(n) => ws.write_number(*r, c, *n as f64),
                    Data::Bool(b) => ws.write_boolean(*r, c, *b),
                    Data::DateTime(d) => ws.write_number_with_format(*r, c, d.as_f64(), &date),
                    Data::Error(e) => ws.write_string(*r, c, format!("{e}")),
                }
                .map_err(fail)?;
            }
            if i != book.index {
                continue;
            }
            let (r0, c0) = book.origin;
            for (r, row) in book.sheet.rows.iter().enumerate() {
                for (c, value) in row.iter().enumerate() {
                    let before = book.original.get(r).and_then(|o| o.get(c));
                    if before == Some(value) {
                        continue;
                    }
                    let col = col16(c0 + c as u32).map_err(fail)?;
                    ws.write_string_with_format(r0 + r as u32, col, value, &wrap)
                        .map_err(fail)?;
                }
            }
        }
        wb.save_to_buffer().map_err(fail)
    }

    fn col16(c: u32) -> std::result::Result<u16, rust_xlsxwriter::XlsxError> {
        u16::try_from(c).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)
    }
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
            answer: "x".into(),
            evidence: vec![],
        };
        let p = Path::new("answers.yaml");
        assert!(rule(p, 0, entry(Some("A"), None)).is_ok());
        assert!(rule(p, 0, entry(None, Some("^A-"))).is_ok());
        assert!(rule(p, 0, entry(None, None)).is_err());
        assert!(rule(p, 0, entry(Some("A"), Some("^A"))).is_err());
        let bad = rule(p, 3, entry(None, Some("(unclosed"))).err().unwrap();
        assert!(bad.to_string().contains("answers[3]"), "{bad}");
    }
}
