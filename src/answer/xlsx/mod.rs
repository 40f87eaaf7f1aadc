//! A questionnaire as an XLSX workbook, answered in place (issue 19). In: the workbook's bytes;
//! calamine reads the cell values to find the questionnaire sheets (those with the id and
//! question header, or the ones `--sheet` names) and the values their dropdowns allow. Out: the
//! same zip with only the questionnaire worksheet parts rewritten — the answered cells as inline
//! strings keeping their style — and, when answering from a bundle, an added `Evidence` sheet
//! naming it. Guarantees: every other part is copied raw (the same compressed bytes), so styles,
//! formulas, validations, comments, defined names, protection and hidden sheets stay; a value a
//! cell's dropdown does not allow, a formula cell, or a cell hidden inside a merge is an error
//! naming the question and the cell, and nothing is written.

mod checks;
mod evidence;
mod facts;
mod parts;
mod refs;
mod worksheet;

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use calamine::{Data, Reader, Xlsx};
use zip::write::SimpleFileOptions;

use super::*;
use facts::Facts;

/// The most one XML part may decompress to: far above any real questionnaire, far below memory.
const MAX_PART_BYTES: u64 = 256 << 20;

/// A sheet holding questions.
pub struct QSheet {
    pub name: String,
    part: String,
    /// Where calamine's grid starts in the sheet (row, column), zero-based.
    origin: (u32, u32),
    pub sheet: Sheet,
    original: Vec<Vec<String>>,
    facts: Facts,
    /// The values each of `facts.validations` allows; `None` when its source cannot be read.
    allowed: Vec<Option<Vec<String>>>,
    /// After filling: the question id by row, the written columns' names by column.
    pub filled: Option<(BTreeMap<usize, String>, BTreeMap<usize, String>)>,
}

pub struct Book {
    bytes: Vec<u8>,
    workbook_part: String,
    sheet_names: Vec<String>,
    pub sheets: Vec<QSheet>,
}

fn fail(path: &Path, message: String) -> Error {
    Error::Answer {
        path: path.to_path_buf(),
        at: None,
        message,
    }
}

type Zip<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

fn part_bytes(zip: &mut Zip<'_>, name: &str) -> std::result::Result<Vec<u8>, String> {
    let entry = zip.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    let mut out = Vec::new();
    entry
        .take(MAX_PART_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{name}: {e}"))?;
    if out.len() as u64 > MAX_PART_BYTES {
        return Err(format!(
            "{name} decompresses to more than {} MiB",
            MAX_PART_BYTES >> 20
        ));
    }
    Ok(out)
}

fn part_text(zip: &mut Zip<'_>, name: &str) -> std::result::Result<String, String> {
    String::from_utf8(part_bytes(zip, name)?).map_err(|_| format!("{name} is not UTF-8"))
}

pub fn read(path: &Path, job: &Job<'_>) -> Result<Book> {
    let bytes = crate::fsio::read_small(path, "questionnaire")?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone()))
        .map_err(|e| fail(path, format!("not a readable XLSX workbook: {e}")))?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.as_slice()))
        .map_err(|e| fail(path, format!("not a readable XLSX workbook: {e}")))?;
    let (workbook_part, sheet_parts) = locate(&mut zip).map_err(|m| fail(path, m))?;
    let sheet_names = wb.sheet_names();
    for wanted in job.sheets {
        if !sheet_names.contains(wanted) {
            return Err(fail(
                path,
                format!(
                    "no sheet `{wanted}` (--sheet); sheets: {}",
                    sheet_names.join(", ")
                ),
            ));
        }
    }
    let mut sheets = Vec::new();
    for name in &sheet_names {
        if !job.sheets.is_empty() && !job.sheets.contains(name) {
            continue;
        }
        let range = wb
            .worksheet_range(name)
            .map_err(|e| fail(path, format!("sheet {name}: {e}")))?;
        let origin = range.start().unwrap_or((0, 0));
        let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(text).collect()).collect();
        let Some(header) = header_row(&rows, job) else {
            if job.sheets.is_empty() {
                continue;
            }
            return Err(fail(
                path,
                format!(
                    "sheet `{name}` has no header row with the columns `{}` and `{}` (see \
                     --id-column, --question-column)",
                    job.id_column, job.question_column
                ),
            ));
        };
        let part = sheet_parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| {
                fail(
                    path,
                    format!("sheet {name}: no worksheet part in the package"),
                )
            })?;
        let xml = part_bytes(&mut zip, &part).map_err(|m| fail(path, m))?;
        let facts = facts::scan(&xml).map_err(|m| fail(path, format!("{part}: {m}")))?;
        sheets.push(QSheet {
            name: name.clone(),
            part,
            origin,
            original: rows.clone(),
            sheet: Sheet { rows, header },
            facts,
            allowed: Vec::new(),
            filled: None,
        });
    }
    if sheets.is_empty() {
        return Err(fail(
            path,
            format!(
                "no sheet has a header row with the columns `{}` and `{}` (see --id-column, \
                 --question-column, --sheet)",
                job.id_column, job.question_column
            ),
        ));
    }
    for s in &mut sheets {
        s.allowed = s
            .facts
            .validations
            .iter()
            .map(|v| allowed_values(&mut wb, &s.name, &v.source))
            .collect();
    }
    Ok(Book {
        bytes,
        workbook_part,
        sheet_names,
        sheets,
    })
}

/// The workbook part and each sheet's part.
fn locate(zip: &mut Zip<'_>) -> std::result::Result<(String, Vec<(String, String)>), String> {
    let package = part_text(zip, "_rels/.rels")?;
    let workbook_part = parts::workbook_part(&package)?;
    let workbook = part_text(zip, &workbook_part)?;
    let rels = part_text(zip, &parts::rels_of(&workbook_part))?;
    let sheets = parts::sheet_parts(&workbook_part, &workbook, &rels)
        .map_err(|m| format!("{workbook_part}: {m}"))?;
    Ok((workbook_part, sheets))
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

/// The values a list validation offers: a literal `"Yes,No,N/A"`, or the non-empty cells of a
/// range on this or another sheet, directly or through a defined name.
fn allowed_values(
    wb: &mut Xlsx<Cursor<Vec<u8>>>,
    sheet: &str,
    source: &str,
) -> Option<Vec<String>> {
    let source = source.trim();
    if let Some(inner) = source.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let inner = inner.replace("\"\"", "\"");
        return Some(inner.split(',').map(|s| s.trim().to_string()).collect());
    }
    let source = source.trim_start_matches('=');
    let formula = wb
        .defined_names()
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(source))
        .map_or_else(|| source.to_string(), |(_, f)| f.clone());
    let (other, rect) = refs::parse_sheet_rect(&formula)?;
    let range = wb.worksheet_range(other.as_deref().unwrap_or(sheet)).ok()?;
    let (Some(start), Some(end)) = (range.start(), range.end()) else {
        return Some(Vec::new());
    };
    // Only the cells that exist: a hostile `A1:XFD1048576` costs no more than the sheet.
    let mut values = Vec::new();
    for row in rect.first.row.max(start.0)..=rect.last.row.min(end.0) {
        for col in rect.first.col.max(start.1)..=rect.last.col.min(end.1) {
            if let Some(t) = range
                .get_value((row, col))
                .map(text)
                .filter(|t| !t.is_empty())
            {
                values.push(t);
            }
        }
    }
    Some(values)
}

/// The workbook again: each questionnaire worksheet rewritten, an Evidence sheet when answering
/// from a bundle, every other part copied raw.
pub fn write(book: &Book, job: &Job<'_>) -> Result<Vec<u8>> {
    let path = job.questionnaire;
    let mut zip = zip::ZipArchive::new(Cursor::new(book.bytes.as_slice()))
        .map_err(|e| fail(path, e.to_string()))?;
    let mut replaced: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for s in &book.sheets {
        let edits = checks::edits(s, job)?;
        let xml = part_bytes(&mut zip, &s.part).map_err(|m| fail(path, m))?;
        let new =
            worksheet::apply(&xml, &edits).map_err(|m| fail(path, format!("{}: {m}", s.part)))?;
        replaced.insert(s.part.clone(), new);
    }
    if let Some(cited) = job.cited {
        evidence::add_sheet(book, &mut zip, cited, &mut replaced).map_err(|m| fail(path, m))?;
    }
    assemble(&mut zip, &replaced).map_err(|m| fail(path, format!("cannot write the workbook: {m}")))
}

/// The zip again in its order: replaced parts deflated anew with their old time, the rest copied
/// raw; parts new to the package last.
fn assemble(
    zip: &mut Zip<'_>,
    replaced: &BTreeMap<String, Vec<u8>>,
) -> std::result::Result<Vec<u8>, String> {
    let e = |x: zip::result::ZipError| x.to_string();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut written = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(e)?;
        let name = entry.name().to_string();
        match replaced.get(&name) {
            Some(bytes) => {
                let options = SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .last_modified_time(entry.last_modified().unwrap_or_default());
                drop(entry);
                out.start_file(name.as_str(), options).map_err(e)?;
                out.write_all(bytes).map_err(|x| x.to_string())?;
            }
            None => out.raw_copy_file(entry).map_err(e)?,
        }
        written.push(name);
    }
    for (name, bytes) in replaced.iter().filter(|(n, _)| !written.contains(n)) {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        out.start_file(name.as_str(), options).map_err(e)?;
        out.write_all(bytes).map_err(|x| x.to_string())?;
    }
    Ok(out.finish().map_err(e)?.into_inner())
}
