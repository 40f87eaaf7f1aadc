//! What a worksheet part says that answering must respect. In: the part's XML. Out: its list
//! data validations (dropdowns, classic and Excel 2010 `x14` form), merged ranges, formula cells,
//! and the row, column and cell styles a new cell would take. Guarantees: one streaming pass;
//! rows and cells that omit `r` are counted on from the last; malformed XML is an error, not a
//! panic.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::events::{BytesStart, Event};

use super::parts::attrs;
use super::refs::{Cell, Rect, parse_cell, parse_rect, parse_sqref};

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

pub(super) fn xml_error(reader: &quick_xml::Reader<&[u8]>, e: impl std::fmt::Display) -> String {
    format!("malformed XML at byte {}: {e}", reader.error_position())
}

/// Where the reader is in `<sheetData>`: rows and cells may omit `r`, counting on from the last.
#[derive(Default)]
pub(super) struct Position {
    pub(super) row: Option<u32>,
    pub(super) col: Option<u32>,
}

impl Position {
    pub(super) fn open_row(&mut self, e: &BytesStart<'_>) -> Result<u32, String> {
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

    pub(super) fn open_cell(&mut self, a: &super::parts::Attrs) -> Result<Cell, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
