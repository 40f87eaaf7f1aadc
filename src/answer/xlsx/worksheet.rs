//! One worksheet part, read for what answering must respect and edited in place. In: the part's
//! XML and the cells to write. Out: its list validations, merged ranges, formula cells and
//! column/row styles (`scan`); the same XML with those cells replaced or inserted as inline
//! strings (`apply`). Guarantees: every byte outside the changed `<c>` elements, the rows they
//! open, and `<dimension>` is copied as it was; a replaced cell keeps its style index; cells and
//! rows are inserted in the order SpreadsheetML requires; malformed XML is an error, not a panic.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::events::{BytesStart, Event};

use super::parts::attrs;
use super::refs::{Cell, Rect, cell_name, cell_text, parse_cell, parse_rect, parse_sqref};

/// A list data validation (a dropdown): the cells it covers and its source, as written
/// (`"Yes,No,N/A"`, `$H$2:$H$4`, `Lists!$A$1:$A$3` or a defined name).
#[derive(Debug, Clone)]
pub struct Validation {
    pub cells: Vec<Rect>,
    pub source: String,
}

#[derive(Debug, Default)]
pub struct Facts {
    pub validations: Vec<Validation>,
    pub merged: Vec<Rect>,
    pub formulas: BTreeSet<Cell>,
    /// `<col min max style>`, zero-based columns.
    col_styles: Vec<(u32, u32, String)>,
    /// Rows with `customFormat="1"`: their style.
    row_styles: BTreeMap<u32, String>,
    /// Each existing cell's style index.
    pub cell_styles: BTreeMap<Cell, String>,
}

impl Facts {
    /// The style a cell created at `c` would show with in Excel: its row's, else its column's.
    pub fn style_for_new(&self, c: Cell) -> Option<String> {
        self.row_styles.get(&c.row).cloned().or_else(|| {
            self.col_styles
                .iter()
                .find(|(min, max, _)| (*min..=*max).contains(&c.col))
                .map(|(_, _, s)| s.clone())
        })
    }

    /// The list validation covering `c`, with its index.
    pub fn validation_at(&self, c: Cell) -> Option<(usize, &Validation)> {
        self.validations
            .iter()
            .enumerate()
            .find(|(_, v)| v.cells.iter().any(|r| r.contains(c)))
    }

    pub fn merge_at(&self, c: Cell) -> Option<&Rect> {
        self.merged.iter().find(|r| r.contains(c))
    }
}

/// What to write in one cell; `style` is used only when the cell does not exist yet.
#[derive(Debug, Clone)]
pub struct Edit {
    pub text: String,
    pub style: Option<String>,
}

fn xml_error(reader: &quick_xml::Reader<&[u8]>, e: impl std::fmt::Display) -> String {
    format!("malformed XML at byte {}: {e}", reader.error_position())
}

/// Where the reader is in `<sheetData>`: rows and cells may omit `r`, counting on from the last.
#[derive(Default)]
struct Position {
    row: Option<u32>,
    col: Option<u32>,
}

impl Position {
    fn open_row(&mut self, e: &BytesStart<'_>) -> Result<u32, String> {
        let a = attrs(e)?;
        let row = match a.get("r") {
            Some(r) => r
                .parse::<u32>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .ok_or_else(|| format!("row number `{r}` is not a number"))?,
            None => self.row.map_or(0, |r| r + 1),
        };
        self.row = Some(row);
        self.col = None;
        Ok(row)
    }

    fn open_cell(&mut self, a: &super::parts::Attrs) -> Result<Cell, String> {
        let cell = match a.get("r") {
            Some(r) => parse_cell(r).ok_or_else(|| format!("cell reference `{r}` is not valid"))?,
            None => Cell {
                row: self.row.unwrap_or(0),
                col: self.col.map_or(0, |c| c + 1),
            },
        };
        self.col = Some(cell.col);
        Ok(cell)
    }
}

pub fn scan(xml: &[u8]) -> Result<Facts, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut facts = Facts::default();
    let mut pos = Position::default();
    let mut cell = None;
    // Inside a list `dataValidation` (either the classic or the x14 form): its sqref and source.
    let mut validation: Option<(String, String)> = None;
    let mut text_of: Option<&'static str> = None;
    loop {
        let event = reader.read_event().map_err(|e| xml_error(&reader, e))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    "row" => {
                        let row = pos.open_row(e)?;
                        let a = attrs(e)?;
                        if a.get("customFormat")
                            .is_some_and(|v| v == "1" || v == "true")
                            && let Some(s) = a.get("s")
                        {
                            facts.row_styles.insert(row, s.clone());
                        }
                    }
                    "c" => {
                        let a = attrs(e)?;
                        let c = pos.open_cell(&a)?;
                        if let Some(s) = a.get("s") {
                            facts.cell_styles.insert(c, s.clone());
                        }
                        cell = (!empty).then_some(c);
                    }
                    "f" => {
                        if let Some(c) = cell {
                            facts.formulas.insert(c);
                        }
                    }
                    "col" => {
                        let a = attrs(e)?;
                        let num =
                            |k: &str| a.get(k).and_then(|v| v.parse::<u32>().ok()?.checked_sub(1));
                        if let (Some(min), Some(max), Some(s)) =
                            (num("min"), num("max"), a.get("style"))
                        {
                            facts.col_styles.push((min, max, s.clone()));
                        }
                    }
                    "mergeCell" => {
                        if let Some(r) = attrs(e)?.get("ref").and_then(|r| parse_rect(r)) {
                            facts.merged.push(r);
                        }
                    }
                    "dataValidation" => {
                        let a = attrs(e)?;
                        if a.get("type").map(String::as_str) == Some("list") {
                            let sqref = a.get("sqref").cloned().unwrap_or_default();
                            validation = (!empty).then_some((sqref, String::new()));
                        }
                    }
                    "formula1" if validation.is_some() => text_of = Some("formula1"),
                    "sqref" if validation.is_some() => text_of = Some("sqref"),
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let (Some(which), Some((sqref, source))) = (text_of, validation.as_mut()) {
                    let target = if which == "sqref" { sqref } else { source };
                    target.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let (Some(which), Some((sqref, source))) = (text_of, validation.as_mut()) {
                    let target = if which == "sqref" { sqref } else { source };
                    let entity = format!("&{};", r.xml10_content());
                    target.push_str(
                        &quick_xml::escape::unescape(&entity).map_err(|e| e.to_string())?,
                    );
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "c" => cell = None,
                "formula1" | "sqref" => text_of = None,
                "dataValidation" => {
                    if let Some((sqref, source)) = validation.take() {
                        facts.validations.push(Validation {
                            cells: parse_sqref(&sqref),
                            source: source.trim().to_string(),
                        });
                    }
                }
                _ => {}
            },
            Event::Eof => return Ok(facts),
            _ => {}
        }
    }
}

/// One inline-string cell element.
fn cell_xml(prefix: &str, at: Cell, style: Option<&str>, text: &str) -> String {
    let s = style
        .map(|s| format!(r#" s="{}""#, super::parts::xml_attr(s)))
        .unwrap_or_default();
    format!(
        r#"<{prefix}c r="{}"{s} t="inlineStr"><{prefix}is><{prefix}t xml:space="preserve">{}</{prefix}t></{prefix}is></{prefix}c>"#,
        cell_name(at),
        cell_text(text)
    )
}

fn cells_xml(prefix: &str, row: u32, cells: &BTreeMap<u32, Edit>) -> String {
    cells
        .iter()
        .map(|(col, e)| cell_xml(prefix, Cell { row, col: *col }, e.style.as_deref(), &e.text))
        .collect()
}

fn row_xml(prefix: &str, row: u32, cells: &BTreeMap<u32, Edit>) -> String {
    format!(
        r#"<{prefix}row r="{}">{}</{prefix}row>"#,
        row + 1,
        cells_xml(prefix, row, cells)
    )
}

/// A row's opening tag with its `spans` hint widened to cover `last_col` (zero-based).
fn widen_spans(tag: &str, last_col: Option<u32>) -> String {
    let Some(last) = last_col else {
        return tag.to_string();
    };
    let Some(start) = tag.find(r#"spans=""#) else {
        return tag.to_string();
    };
    let value_start = start + r#"spans=""#.len();
    let Some(len) = tag[value_start..].find('"') else {
        return tag.to_string();
    };
    let value = &tag[value_start..value_start + len];
    let (first, end) = value.split_once(':').unwrap_or((value, value));
    let end: u32 = end.parse().unwrap_or(0);
    if end > last {
        return tag.to_string();
    }
    format!(
        "{}{first}:{}{}",
        &tag[..value_start],
        last + 1,
        &tag[value_start + len..]
    )
}

/// The XML with `edits` written: existing cells replaced (keeping `s`), missing cells and rows
/// inserted in order, `<dimension>` widened to cover them.
pub fn apply(xml: &[u8], edits: &BTreeMap<Cell, Edit>) -> Result<Vec<u8>, String> {
    let mut rows: BTreeMap<u32, BTreeMap<u32, Edit>> = BTreeMap::new();
    for (c, e) in edits {
        rows.entry(c.row).or_default().insert(c.col, e.clone());
    }
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut splices: Vec<(usize, usize, String)> = Vec::new();
    let mut pos = Position::default();
    let mut prefix = String::new();
    let mut pending: BTreeMap<u32, Edit> = BTreeMap::new();
    let mut dimension: Option<(usize, usize, Option<Rect>)> = None;
    let mut in_sheet_data = false;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| xml_error(&reader, e))?;
        let after = reader.buffer_position() as usize;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    "dimension" => {
                        let r = attrs(e)?.get("ref").and_then(|r| parse_rect(r));
                        dimension = Some((before, after, r));
                    }
                    "sheetData" => {
                        prefix = e
                            .name()
                            .prefix()
                            .map(|p| format!("{}:", p.as_ref()))
                            .unwrap_or_default();
                        if empty {
                            let body: String = std::mem::take(&mut rows)
                                .iter()
                                .map(|(r, cells)| row_xml(&prefix, *r, cells))
                                .collect();
                            let tag = String::from_utf8_lossy(&xml[before..after]);
                            let open = tag.trim_end_matches("/>").trim_end();
                            splices.push((
                                before,
                                after,
                                format!("{open}>{body}</{prefix}sheetData>"),
                            ));
                        } else {
                            in_sheet_data = true;
                        }
                    }
                    "row" if in_sheet_data => {
                        let row = pos.open_row(e)?;
                        let earlier: Vec<u32> = rows.range(..row).map(|(r, _)| *r).collect();
                        let mut inserted = String::new();
                        for r in earlier {
                            if let Some(cells) = rows.remove(&r) {
                                inserted.push_str(&row_xml(&prefix, r, &cells));
                            }
                        }
                        if !inserted.is_empty() {
                            splices.push((before, before, inserted));
                        }
                        pending = rows.remove(&row).unwrap_or_default();
                        let tag = String::from_utf8_lossy(&xml[before..after]).into_owned();
                        let wide = widen_spans(&tag, pending.keys().next_back().copied());
                        if empty && !pending.is_empty() {
                            let open = wide.trim_end_matches("/>").trim_end();
                            let cells = cells_xml(&prefix, row, &std::mem::take(&mut pending));
                            splices.push((before, after, format!("{open}>{cells}</{prefix}row>")));
                        } else if wide != tag {
                            splices.push((before, after, wide));
                        }
                    }
                    "c" if in_sheet_data => {
                        let a = attrs(e)?;
                        let at = pos.open_cell(&a)?;
                        let earlier: Vec<u32> = pending.range(..at.col).map(|(c, _)| *c).collect();
                        let mut inserted = String::new();
                        for c in earlier {
                            if let Some(edit) = pending.remove(&c) {
                                let cell = Cell {
                                    row: at.row,
                                    col: c,
                                };
                                inserted.push_str(&cell_xml(
                                    &prefix,
                                    cell,
                                    edit.style.as_deref(),
                                    &edit.text,
                                ));
                            }
                        }
                        if !inserted.is_empty() {
                            splices.push((before, before, inserted));
                        }
                        if let Some(edit) = pending.remove(&at.col) {
                            let end = if empty {
                                after
                            } else {
                                reader
                                    .read_to_end(e.name())
                                    .map_err(|x| xml_error(&reader, x))?;
                                reader.buffer_position() as usize
                            };
                            let style = a.get("s").map(String::as_str);
                            splices.push((before, end, cell_xml(&prefix, at, style, &edit.text)));
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "row" if in_sheet_data => {
                    let cells = std::mem::take(&mut pending);
                    if !cells.is_empty() {
                        let row = pos.row.unwrap_or(0);
                        splices.push((before, before, cells_xml(&prefix, row, &cells)));
                    }
                }
                "sheetData" => {
                    in_sheet_data = false;
                    let body: String = std::mem::take(&mut rows)
                        .iter()
                        .map(|(r, cells)| row_xml(&prefix, *r, cells))
                        .collect();
                    if !body.is_empty() {
                        splices.push((before, before, body));
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !rows.is_empty() {
        return Err("the worksheet has no <sheetData> to write the answers in".into());
    }
    if let Some((start, end, old)) = dimension {
        splices.push((start, end, dimension_xml(&xml[start..end], old, edits)));
    }
    Ok(splice(xml, splices))
}

/// `<dimension ref>` widened to the written cells (the element is otherwise kept).
fn dimension_xml(tag: &[u8], old: Option<Rect>, edits: &BTreeMap<Cell, Edit>) -> String {
    let tag = String::from_utf8_lossy(tag).into_owned();
    let (Some(old), Some(first), Some(last)) = (old, edits.keys().next(), edits.keys().next_back())
    else {
        return tag;
    };
    let max_col = edits
        .keys()
        .map(|c| c.col)
        .max()
        .unwrap_or(0)
        .max(old.last.col);
    let new = Rect {
        first: Cell {
            row: old.first.row.min(first.row),
            col: old
                .first
                .col
                .min(edits.keys().map(|c| c.col).min().unwrap_or(0)),
        },
        last: Cell {
            row: old.last.row.max(last.row),
            col: max_col,
        },
    };
    if new == old {
        return tag;
    }
    let text = format!("{}:{}", cell_name(new.first), cell_name(new.last));
    match (tag.find(r#"ref=""#), tag.rfind('"')) {
        (Some(s), Some(e)) if e > s + 5 => format!("{}{text}{}", &tag[..s + 5], &tag[e..]),
        _ => tag,
    }
}

fn splice(xml: &[u8], mut splices: Vec<(usize, usize, String)>) -> Vec<u8> {
    // Stable: two insertions at one offset keep the order they were found in.
    splices.sort_by_key(|(start, _, _)| *start);
    let mut out = Vec::with_capacity(xml.len() + splices.iter().map(|s| s.2.len()).sum::<usize>());
    let mut at = 0;
    for (start, end, text) in splices {
        if start < at {
            // Splices never overlap by construction; were one to, it is dropped, not a panic.
            continue;
        }
        out.extend_from_slice(&xml[at..start]);
        out.extend_from_slice(text.as_bytes());
        at = end;
    }
    out.extend_from_slice(&xml[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str) -> Edit {
        Edit {
            text: text.into(),
            style: None,
        }
    }

    #[test]
    fn cells_are_replaced_keeping_style_and_inserted_in_order() {
        // Prefixed elements, a row and cells without `r`, an empty row element, a row to add.
        let xml = br#"<x:worksheet xmlns:x="m"><x:dimension ref="A1:B2"/><x:sheetData><x:row r="1" spans="1:2"><x:c r="A1" s="7"><x:v>1</x:v></x:c><x:c s="2"/></x:row><x:row/></x:sheetData></x:worksheet>"#;
        let at = |row, col| Cell { row, col };
        let edits = BTreeMap::from([
            (at(0, 0), edit("a&b")),
            (at(0, 3), edit("new")),
            (at(1, 1), edit("two")),
            (at(4, 0), edit("five")),
        ]);
        let out = String::from_utf8(apply(xml, &edits).unwrap()).unwrap();
        let cell = |r: &str, s: &str, t: &str| {
            format!(
                r#"<x:c r="{r}"{s} t="inlineStr"><x:is><x:t xml:space="preserve">{t}</x:t></x:is></x:c>"#
            )
        };
        let expected = format!(
            r#"<x:worksheet xmlns:x="m"><x:dimension ref="A1:D5"/><x:sheetData><x:row r="1" spans="1:4">{}<x:c s="2"/>{}</x:row><x:row>{}</x:row><x:row r="5">{}</x:row></x:sheetData></x:worksheet>"#,
            cell("A1", r#" s="7""#, "a&amp;b"),
            cell("D1", "", "new"),
            cell("B2", "", "two"),
            cell("A5", "", "five"),
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn scan_reads_list_validations_in_both_forms_merges_formulas_and_styles() {
        let xml = br#"<worksheet xmlns:x14="a" xmlns:xm="b"><cols><col min="3" max="4" style="9"/></cols><sheetData><row r="2" s="5" customFormat="1"><c r="A2"><f>1+1</f></c></row></sheetData><mergeCells><mergeCell ref="A1:C1"/></mergeCells><dataValidations><dataValidation type="list" sqref="C2:C9 E2"><formula1>"Yes,No"</formula1></dataValidation><dataValidation type="whole" sqref="F2"><formula1>1</formula1></dataValidation></dataValidations><extLst><ext><x14:dataValidations><x14:dataValidation type="list"><x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f></x14:formula1><xm:sqref>D2:D9</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst></worksheet>"#;
        let facts = scan(xml).unwrap();
        let at = |row, col| Cell { row, col };
        assert_eq!(facts.validations.len(), 2);
        assert_eq!(
            facts.validation_at(at(4, 2)).unwrap().1.source,
            r#""Yes,No""#
        );
        assert!(facts.validation_at(at(1, 4)).is_some());
        assert_eq!(
            facts.validation_at(at(1, 3)).unwrap().1.source,
            "Lists!$A$1:$A$3"
        );
        assert!(facts.validation_at(at(1, 5)).is_none(), "not a list");
        assert!(facts.formulas.contains(&at(1, 0)));
        assert_eq!(facts.merge_at(at(0, 1)).map(|m| m.first), Some(at(0, 0)));
        assert_eq!(
            facts.style_for_new(at(1, 3)).as_deref(),
            Some("5"),
            "row first"
        );
        assert_eq!(
            facts.style_for_new(at(2, 3)).as_deref(),
            Some("9"),
            "then column"
        );
        assert_eq!(facts.style_for_new(at(2, 0)), None);
        assert!(scan(b"<worksheet><sheetData><row r=\"x\"/></sheetData></worksheet>").is_err());
        assert!(scan(b"<worksheet><sheetData></row></worksheet>").is_err());
    }
}
