//! A1-style cell references and ranges as SpreadsheetML writes them, and cell text made safe for
//! an inline string. In: reference text (`D5`, `$A$1:$C$9`, `Lists!$A$1:$A$3`, `'My sheet'!B2`).
//! Out: zero-based (row, column) pairs. Guarantees: any text parses to a value or `None`, never
//! a panic; rows and columns stay within Excel's limits.

/// Excel's last row and column (1,048,576 rows, 16,384 columns), zero-based.
const MAX_ROW: u32 = 1_048_575;
const MAX_COL: u32 = 16_383;
/// The most characters one cell holds.
pub const MAX_CELL_CHARS: usize = 32_767;

/// A cell, zero-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cell {
    pub row: u32,
    pub col: u32,
}

/// A rectangle of cells, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub first: Cell,
    pub last: Cell,
}

impl Rect {
    pub fn contains(&self, c: Cell) -> bool {
        (self.first.row..=self.last.row).contains(&c.row)
            && (self.first.col..=self.last.col).contains(&c.col)
    }
}

/// `D5` or `$D$5` → (row 4, column 3).
pub fn parse_cell(text: &str) -> Option<Cell> {
    let text = text.trim().replace('$', "");
    let split = text.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = text.split_at(split);
    Some(Cell {
        row: parse_row(digits)?,
        col: parse_col(letters)?,
    })
}

fn parse_row(digits: &str) -> Option<u32> {
    let n: u32 = digits.parse().ok()?;
    n.checked_sub(1).filter(|r| *r <= MAX_ROW)
}

fn parse_col(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut n = 0u32;
    for c in letters.chars() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        n = n * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    n.checked_sub(1).filter(|c| *c <= MAX_COL)
}

/// `A1:C9`, or one cell as a one-cell range.
pub fn parse_rect(text: &str) -> Option<Rect> {
    let (a, b) = text.split_once(':').unwrap_or((text, text));
    let (a, b) = (parse_cell(a)?, parse_cell(b)?);
    Some(Rect {
        first: Cell {
            row: a.row.min(b.row),
            col: a.col.min(b.col),
        },
        last: Cell {
            row: a.row.max(b.row),
            col: a.col.max(b.col),
        },
    })
}

/// A `sqref`: ranges separated by spaces.
pub fn parse_sqref(text: &str) -> Vec<Rect> {
    text.split_whitespace().filter_map(parse_rect).collect()
}

/// `Lists!$A$1:$A$3` → (Some("Lists"), range); `$H$2:$H$4` → (None, range).
pub fn parse_sheet_rect(text: &str) -> Option<(Option<String>, Rect)> {
    let text = text.trim().trim_start_matches('=');
    match text.rsplit_once('!') {
        Some((sheet, range)) => {
            let sheet = sheet
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .map_or_else(|| sheet.to_string(), |s| s.replace("''", "'"));
            Some((Some(sheet), parse_rect(range)?))
        }
        None => Some((None, parse_rect(text)?)),
    }
}

/// Column letters of a zero-based column: 0 → A, 26 → AA.
pub fn col_name(col: u32) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.iter().rev().map(|b| char::from(*b)).collect()
}

pub fn cell_name(c: Cell) -> String {
    format!("{}{}", col_name(c.col), c.row + 1)
}

/// Text for an `<is><t>` element: XML-escaped, with the control characters XML 1.0 cannot
/// carry written as SpreadsheetML's `_xHHHH_`, and a literal `_xHHHH_` in the text protected
/// as `_x005F_xHHHH_` so Excel shows it as typed.
pub fn cell_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '_' if looks_escaped(&chars[i..]) => out.push_str("_x005F_"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("_x{:04X}_", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

fn looks_escaped(rest: &[char]) -> bool {
    rest.len() >= 7
        && rest[1] == 'x'
        && rest[2..6].iter().all(|c| c.is_ascii_hexdigit())
        && rest[6] == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_excel_numbers_them() {
        assert_eq!(parse_cell("A1"), Some(Cell { row: 0, col: 0 }));
        assert_eq!(parse_cell("$AB$12"), Some(Cell { row: 11, col: 27 }));
        assert_eq!(
            parse_cell("XFD1048576"),
            Some(Cell {
                row: MAX_ROW,
                col: MAX_COL
            })
        );
        assert_eq!(parse_cell("XFE1"), None);
        assert_eq!(parse_cell("A0"), None);
        assert_eq!(parse_cell("A99999999999"), None);
        assert_eq!(parse_cell("1A"), None);
        assert_eq!(parse_cell(""), None);
        assert_eq!(col_name(0), "A");
        assert_eq!(col_name(25), "Z");
        assert_eq!(col_name(26), "AA");
        assert_eq!(col_name(16_383), "XFD");
        let r = parse_rect("C9:A1").unwrap();
        assert_eq!(
            (r.first, r.last),
            (Cell { row: 0, col: 0 }, Cell { row: 8, col: 2 })
        );
        assert_eq!(parse_sqref("D5:D9 F2").len(), 2);
        let (sheet, _) = parse_sheet_rect("'It''s lists'!$A$1:$A$3").unwrap();
        assert_eq!(sheet.as_deref(), Some("It's lists"));
        assert_eq!(parse_sheet_rect("$H$2:$H$4").unwrap().0, None);
    }

    #[test]
    fn cell_text_escapes_markup_controls_and_look_alike_escapes() {
        assert_eq!(cell_text("a<b & c>"), "a&lt;b &amp; c&gt;");
        assert_eq!(cell_text("bell\u{7}\nline"), "bell_x0007_\nline");
        assert_eq!(cell_text("_x0041_"), "_x005F_x0041_");
        assert_eq!(cell_text("snake_case_x"), "snake_case_x");
    }
}
