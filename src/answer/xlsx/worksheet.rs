//! One worksheet part edited in place. In: the part's XML and the cells to write. Out: the same
//! XML with those cells replaced or inserted as inline strings. Guarantees: every byte outside the changed `<c>` elements, the rows they
//! open, and `<dimension>` is copied as it was; a replaced cell keeps its style index; cells and
//! rows are inserted in the order SpreadsheetML requires; malformed XML is an error, not a panic.

use std::collections::BTreeMap;

use quick_xml::events::Event;

use super::facts::{Position, xml_error};
use super::parts::attrs;
use super::refs::{Cell, Rect, cell_name, cell_text, parse_rect};

/// What to write in one cell; `style` is used only when the cell does not exist yet.
#[derive(Debug, Clone)]
pub struct Edit {
    pub text: String,
    pub style: Option<String>,
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

/// Where the value of attribute `name` lies in an opening tag (`name="…"` after whitespace).
fn attr_span(tag: &str, name: &str) -> Option<(usize, usize)> {
    let key = format!("{name}=\"");
    let at = tag.match_indices(&key).find(|(i, _)| {
        tag[..*i]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace)
    })?;
    let start = at.0 + key.len();
    let len = tag.get(start..)?.find('"')?;
    Some((start, start + len))
}

/// `tag` with the value of attribute `name` replaced by `value`; unchanged without it.
fn with_attr(tag: &str, name: &str, value: &str) -> String {
    match attr_span(tag, name) {
        Some((start, end)) => format!("{}{value}{}", &tag[..start], &tag[end..]),
        None => tag.to_string(),
    }
}

/// A row's opening tag with its `spans` hint widened to cover `last_col` (zero-based).
fn widen_spans(tag: &str, last_col: Option<u32>) -> String {
    let (Some(last), Some((start, end))) = (last_col, attr_span(tag, "spans")) else {
        return tag.to_string();
    };
    let value = &tag[start..end];
    let (first, to) = value.split_once(':').unwrap_or((value, value));
    if to.parse::<u32>().unwrap_or(0) > last {
        return tag.to_string();
    }
    with_attr(tag, "spans", &format!("{first}:{}", last + 1))
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
    with_attr(&tag, "ref", &text)
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
    fn attributes_are_replaced_in_place_whatever_follows_them() {
        let tag = r#"<dimension ref="A1:B2" x:extra="1"/>"#;
        assert_eq!(
            with_attr(tag, "ref", "A1:D5"),
            r#"<dimension ref="A1:D5" x:extra="1"/>"#
        );
        let row = r#"<row r="1" xspans="9" spans="1:2" ht="15">"#;
        assert_eq!(
            widen_spans(row, Some(3)),
            r#"<row r="1" xspans="9" spans="1:4" ht="15">"#
        );
        assert_eq!(widen_spans(row, Some(1)), row, "already covered");
        assert_eq!(with_attr("<row>", "spans", "1:2"), "<row>");
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
}
