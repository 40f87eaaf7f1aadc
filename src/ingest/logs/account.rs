//! The account of every log file: records, accepted, outside the period, rejected, per reason
//! with the line of the first such record. In: the files read and the scan's counts. Out: one
//! `LogFile` per file and the `Rejected` rows. Guarantees: accepted + outside + rejected = records
//! and records + non-records (a Splunk export's previews, terminator, messages) = lines for every
//! file; a reject's line is found in one pass over its file for all reasons at once
//! (`lines::RecordLines`); CSV lines count the header as line 1 (quoted newlines aside); Parquet
//! rows have no line.

use std::collections::{BTreeMap, BTreeSet};

use super::classify::{ACCEPTED, NonRecord, OUTSIDE_PERIOD, Reason};
use super::lines::RecordLines;
use super::{Input, LogFile, Rejected};
use crate::config::LogFormat;
use crate::error::{Error, Result};

/// Per-file totals and per-reason rejects, with the line of each reason's first record.
pub(super) fn account(
    inputs: &[Input],
    by_file: &BTreeMap<(u32, u32), (u64, u64)>,
) -> Result<(Vec<LogFile>, Vec<Rejected>)> {
    let mut files = Vec::new();
    let mut rejected = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let get = |code: u32| by_file.get(&(i as u32, code)).copied();
        let display = input.shown().display().to_string();
        let bad = input.bad_lines.len() as u64;
        let mut file = LogFile {
            path: display.clone(),
            format: input.label(),
            records: bad,
            accepted: get(ACCEPTED).map_or(0, |x| x.0),
            outside_period: get(OUTSIDE_PERIOD).map_or(0, |x| x.0),
            rejected: bad,
            non_records: NonRecord::ALL
                .into_iter()
                .filter_map(|k| get(k.code()).map(|x| (k.label(), x.0)))
                .collect(),
            lines: 0,
            models: BTreeMap::new(),
        };
        file.records += file.accepted + file.outside_period;
        let first_rows: Vec<u64> = Reason::ALL
            .iter()
            .filter_map(|r| get(r.code()).map(|x| x.1))
            .collect();
        let lines = lines_of_rows(input, &first_rows)?;
        for reason in Reason::ALL {
            let (count, first_line) = if reason == Reason::NotJson {
                match input.bad_lines.first() {
                    Some(l) => (bad, Some(*l)),
                    None => continue,
                }
            } else {
                match get(reason.code()) {
                    Some((n, row)) => (n, lines.get(&row).copied()),
                    None => continue,
                }
            };
            if reason != Reason::NotJson {
                file.records += count;
                file.rejected += count;
            }
            rejected.push(Rejected {
                source: display.clone(),
                reason,
                count,
                first_line,
            });
        }
        file.lines = file.records + file.non_records.values().sum::<u64>();
        files.push(file);
    }
    Ok((files, rejected))
}

/// The file line of each scanned row in `rows`: CSV rows follow the header; JSON rows skip blank
/// lines and lines set aside as not JSON, found in one pass; Parquet rows have none.
fn lines_of_rows(input: &Input, rows: &[u64]) -> Result<BTreeMap<u64, u64>> {
    match input.format {
        LogFormat::Csv => return Ok(rows.iter().map(|&r| (r, r + 2)).collect()),
        LogFormat::Parquet => return Ok(BTreeMap::new()),
        _ => {}
    }
    let mut wanted: BTreeSet<u64> = rows.iter().copied().collect();
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let read_error = |e| Error::io("cannot read", &input.path, e);
    let file = std::fs::File::open(&input.path).map_err(read_error)?;
    let mut records = RecordLines::new(file, &input.bad_lines);
    while let Some((row, line)) = records.next_record().map_err(read_error)? {
        if wanted.remove(&row) {
            out.insert(row, line);
            if wanted.is_empty() {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn csv_rows_follow_the_header_and_json_rows_skip_blank_and_bad_lines() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut tmp, b"{}\n\nbroken\n{}\n{}\n").unwrap();
        let input = |format| Input {
            path: PathBuf::from(tmp.path()),
            format,
            source: 0,
            bad_lines: vec![3],
            traces: None,
        };
        // Rows 0, 1, 2 are lines 1, 4, 5 (line 2 blank, line 3 not JSON).
        let lines = lines_of_rows(&input(LogFormat::Ndjson), &[2, 0]).unwrap();
        assert_eq!(lines, BTreeMap::from([(0, 1), (2, 5)]));
        let lines = lines_of_rows(&input(LogFormat::Csv), &[0, 7]).unwrap();
        assert_eq!(lines, BTreeMap::from([(0, 2), (7, 9)]));
        assert!(
            lines_of_rows(&input(LogFormat::Parquet), &[0])
                .unwrap()
                .is_empty()
        );
    }
}
