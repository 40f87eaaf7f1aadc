//! A questionnaire as an XLSX workbook, answered in place (issue 19). In: the workbook's bytes;
//! calamine reads the cell values to find the questionnaire sheets (those with the id and
//! question header, or the ones `--sheet` names) and the values their dropdowns allow. Out: the
//! same zip with only the questionnaire worksheet parts rewritten — the answered cells as inline
//! strings keeping their style — and, when answering from a bundle, an added `Evidence` sheet
//! naming it. Guarantees: every other part is copied raw (the same compressed bytes), so styles,
//! formulas, validations, comments, defined names, protection and hidden sheets stay; a value a
//! cell's dropdown does not allow, a formula cell, or a cell hidden inside a merge is an error
//! naming the question and the cell, and nothing is written.

mod parts;
mod refs;
mod worksheet;

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use calamine::{Data, Reader, Xlsx};
use zip::write::SimpleFileOptions;

use super::*;
use refs::Cell;
use worksheet::{Edit, Facts};

/// The most one XML part may decompress to: far above any real questionnaire, far below memory.
const MAX_PART_BYTES: u64 = 256 << 20;
/// The part the Evidence sheet is written to; a workbook that has it was answered before.
const EVIDENCE_PART: &str = "xl/worksheets/dossier-evidence.xml";

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
        let facts = worksheet::scan(&xml).map_err(|m| fail(path, format!("{part}: {m}")))?;
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

/// The cells filling changed, each checked against the sheet: no formula overwritten, no cell
/// hidden inside a merge, no value its dropdown does not allow.
fn edits(s: &QSheet, job: &Job<'_>) -> Result<BTreeMap<Cell, Edit>> {
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

/// The workbook again: each questionnaire worksheet rewritten, an Evidence sheet when answering
/// from a bundle, every other part copied raw.
pub fn write(book: &Book, job: &Job<'_>) -> Result<Vec<u8>> {
    let path = job.questionnaire;
    let mut zip = zip::ZipArchive::new(Cursor::new(book.bytes.as_slice()))
        .map_err(|e| fail(path, e.to_string()))?;
    let mut replaced: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for s in &book.sheets {
        let edits = edits(s, job)?;
        let xml = part_bytes(&mut zip, &s.part).map_err(|m| fail(path, m))?;
        let new =
            worksheet::apply(&xml, &edits).map_err(|m| fail(path, format!("{}: {m}", s.part)))?;
        replaced.insert(s.part.clone(), new);
    }
    if let Some(cited) = job.cited {
        add_evidence_sheet(book, &mut zip, cited, &mut replaced).map_err(|m| fail(path, m))?;
    }
    assemble(&mut zip, &replaced).map_err(|m| fail(path, format!("cannot write the workbook: {m}")))
}

fn add_evidence_sheet(
    book: &Book,
    zip: &mut Zip<'_>,
    cited: &Cited,
    replaced: &mut BTreeMap<String, Vec<u8>>,
) -> std::result::Result<(), String> {
    replaced.insert(EVIDENCE_PART.into(), evidence_xml(cited).into_bytes());
    if zip.index_for_name(EVIDENCE_PART).is_some() {
        // Answered from a bundle before: the sheet is there, its content is replaced.
        return Ok(());
    }
    let name = ["Evidence", "dossier evidence", "dossier evidence 2"]
        .into_iter()
        .find(|n| !book.sheet_names.iter().any(|s| s.eq_ignore_ascii_case(n)))
        .ok_or("the sheet names Evidence and dossier evidence are taken")?;
    let wb_rels = parts::rels_of(&book.workbook_part);
    let (workbook, rels, types) = parts::add_sheet(
        &parts::NewSheet {
            name,
            part: EVIDENCE_PART,
            workbook_part: &book.workbook_part,
        },
        &part_text(zip, &book.workbook_part)?,
        &part_text(zip, &wb_rels)?,
        &part_text(zip, "[Content_Types].xml")?,
    )?;
    replaced.insert(book.workbook_part.clone(), workbook.into_bytes());
    replaced.insert(wb_rels, rels.into_bytes());
    replaced.insert("[Content_Types].xml".into(), types.into_bytes());
    Ok(())
}

/// The Evidence sheet: which signed bundle the answers were drawn from, and how to check it.
fn evidence_xml(cited: &Cited) -> String {
    let file = cited
        .bundle
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        (
            "Answers drawn from",
            format!("the signed evidence bundle {file}, verified before answering"),
        ),
        ("Bundle id", cited.id.clone()),
        ("Bundle SHA-256", cited.sha256.clone()),
        (
            "Signer key fingerprint",
            cited
                .fingerprint
                .as_ref()
                .map_or("(none)".into(), |f| format!("sha256:{f}")),
        ),
        (
            "Key checked against",
            if cited.key_pinned {
                "the key given with --pubkey"
            } else {
                "the key the bundle carries"
            }
            .into(),
        ),
        (
            "Time-stamp",
            cited.time_stamp.clone().unwrap_or_else(|| "(none)".into()),
        ),
        ("Files in the bundle", cited.manifest.len().to_string()),
        (
            "How to check",
            format!(
                "dossier verify {file} --pubkey <signer key>; each evidence cell gives a bag path and its SHA-256 from manifest-sha256.txt"
            ),
        ),
    ];
    let mut body = String::new();
    for (i, (k, v)) in rows.iter().enumerate() {
        let r = i as u32;
        body.push_str(&format!(
            r#"<row r="{}"><c r="A{0}" t="inlineStr"><is><t>{}</t></is></c><c r="B{0}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c></row>"#,
            r + 1,
            refs::cell_text(k),
            refs::cell_text(v)
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cols><col min="1" max="1" width="26" customWidth="1"/><col min="2" max="2" width="100" customWidth="1"/></cols><sheetData>{body}</sheetData></worksheet>"#
    )
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
