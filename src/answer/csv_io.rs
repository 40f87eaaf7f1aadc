//! A questionnaire as CSV: read into a `Sheet` of text cells, written back with the input's own
//! form — a UTF-8 byte-order mark, CRLF line ends, the delimiter (`,`, or the `;` a European
//! Excel writes, or a tab) and whether every field was quoted are kept as the input had them.

use super::*;

/// What to keep of the input's form.
pub struct Style {
    bom: bool,
    crlf: bool,
    delimiter: u8,
    /// Every field of the header row was quoted: write every field quoted.
    quote_all: bool,
}

/// The delimiters a questionnaire is written with, tried in this order.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// Parse `body` with `delimiter`; `None` when it is not readable so.
fn rows_with(body: &[u8], delimiter: u8) -> std::result::Result<Vec<Vec<String>>, csv::Error> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body)
        .records()
        .map(|r| r.map(|rec| rec.iter().map(str::to_string).collect()))
        .collect()
}

/// Whether every field of the line at `header` (0-based row) was written in quotes: read from
/// the raw bytes of the first line, which for a header row holds no quoted newline.
fn quoted_header(body: &[u8], header: usize, delimiter: u8) -> bool {
    let text = String::from_utf8_lossy(body);
    let Some(line) = text.lines().nth(header) else {
        return false;
    };
    let fields: Vec<&str> = line.split(char::from(delimiter)).collect();
    !fields.is_empty()
        && fields
            .iter()
            .all(|f| f.len() >= 2 && f.starts_with('"') && f.ends_with('"'))
}

pub fn read(path: &Path, job: &Job<'_>) -> Result<(Sheet, Style)> {
    let bytes = crate::fsio::read_small(path, "questionnaire")?;
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &bytes[3..] } else { &bytes[..] };
    let crlf = body
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|i| i > 0 && body[i - 1] == b'\r');
    // The delimiter whose reading has the id and question columns in a header row; else `,`.
    let mut first_error = None;
    let mut found = None;
    for delimiter in DELIMITERS {
        match rows_with(body, delimiter) {
            Ok(rows) => {
                if let Some(header) = header_row(&rows, job) {
                    found = Some((rows, header, delimiter));
                    break;
                }
            }
            Err(e) if delimiter == b',' => first_error = Some(e),
            Err(_) => {}
        }
    }
    let Some((rows, header, delimiter)) = found else {
        return Err(match first_error {
            Some(e) => Error::Answer {
                path: path.to_path_buf(),
                at: Some(format!("row {}", e.position().map_or(1, |p| p.line()))),
                message: format!("not a readable CSV row: {e}"),
            },
            None => Error::Answer {
                path: path.to_path_buf(),
                at: None,
                message: format!(
                    "no header row with the columns `{}` and `{}` (see --id-column, \
                     --question-column)",
                    job.id_column, job.question_column
                ),
            },
        });
    };
    let quote_all = quoted_header(body, header, delimiter);
    Ok((
        Sheet { rows, header },
        Style {
            bom,
            crlf,
            delimiter,
            quote_all,
        },
    ))
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
        .delimiter(style.delimiter)
        .quote_style(if style.quote_all {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
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
