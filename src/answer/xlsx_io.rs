//! A questionnaire as an XLSX workbook: every sheet, value and type read with calamine and
//! written back with rust_xlsxwriter, the questionnaire sheet with its answer columns filled.
//! Styles are not kept (docs/decisions.md).

use calamine::{Data, Reader, Xlsx, open_workbook};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

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
    let mut wb: Xlsx<_> = {
        // calamine opens the file itself: hold it to the same rules first.
        crate::fsio::read_small(path, "questionnaire")?;
        open_workbook(path)
    }
    .map_err(|e| fail(format!("not a readable XLSX workbook: {e}")))?;
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
pub fn write(
    book: &Book,
    path: &Path,
    build_time: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<u8>> {
    let fail = |e: rust_xlsxwriter::XlsxError| Error::Answer {
        path: path.to_path_buf(),
        at: None,
        message: format!("cannot write the workbook: {e}"),
    };
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let wrap = Format::new().set_text_wrap();
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_timestamp(build_time.timestamp()).map_err(fail)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
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
