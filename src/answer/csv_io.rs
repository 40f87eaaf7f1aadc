//! A questionnaire as CSV: read into a `Sheet` of text cells, written back with the input's own
//! form — a UTF-8 byte-order mark and CRLF line ends are kept when the input had them.

use super::*;

/// What to keep of the input's form: a UTF-8 byte-order mark and CRLF line ends.
pub struct Style {
    bom: bool,
    crlf: bool,
}

pub fn read(path: &Path, job: &Job<'_>) -> Result<(Sheet, Style)> {
    let bytes = crate::fsio::read_small(path, "questionnaire")?;
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
