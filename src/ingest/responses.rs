//! The management-response register in (`sources.responses`): one CSV with the columns `id,
//! status, response, responder, target_date`, where `id` is a remediation item's id (as in
//! `remediation[].id`). Out: validated `Response`s in file order. Guarantees: ids are unique,
//! `status` is one of open | in_progress | risk_accepted | closed, `target_date` is a date or
//! empty; any breach is an error naming the file and row. Whether an id is still in the plan is
//! decided in `kpi::remediation`.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use super::exceptions::error;
use crate::config::parse_date;
use crate::error::Result;
use crate::vocab::ResponseStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub row: usize,
    pub id: String,
    pub status: ResponseStatus,
    pub response: String,
    pub responder: String,
    pub target_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: String,
    status: ResponseStatus,
    #[serde(default)]
    response: String,
    #[serde(default)]
    responder: String,
    #[serde(default)]
    target_date: String,
}

pub fn read(path: &Path) -> Result<Vec<Response>> {
    let bytes = crate::fsio::read_small(path, "management-response register")?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let n = i + 2; // the header is row 1
        let row = row.map_err(|e| error(path, n, e.to_string()))?;
        if row.id.is_empty() {
            return Err(error(path, n, "`id` must not be empty".into()));
        }
        if let Some(first) = seen.insert(row.id.clone(), n) {
            return Err(error(
                path,
                n,
                format!("id `{}` is answered again (first at row {first})", row.id),
            ));
        }
        let target_date = match row.target_date.as_str() {
            "" => None,
            text => {
                Some(parse_date(text).map_err(|m| error(path, n, format!("target_date: {m}")))?)
            }
        };
        out.push(Response {
            row: n,
            id: row.id,
            status: row.status,
            response: row.response,
            responder: row.responder,
            target_date,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Response>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("responses.csv");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn rows_are_read_with_optional_columns() {
        let out = parse(
            "id,status,response,responder,target_date\n\
             a:IR-01,in_progress,Test scheduled,CTO,2026-10-20\n\
             b:VA-04,closed,,,\n",
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].status, ResponseStatus::InProgress);
        assert_eq!(out[0].target_date, NaiveDate::from_ymd_opt(2026, 10, 20));
        assert_eq!((out[1].row, out[1].target_date), (3, None));
    }

    #[test]
    fn bad_rows_name_the_row() {
        let cases = [
            ("id,status\na,maybe\n", "row 2"),
            (
                "id,status\na,open\na,closed\n",
                "answered again (first at row 2)",
            ),
            ("id,status,target_date\na,open,soon\n", "target_date"),
            ("id,status,colour\na,open,red\n", "colour"),
            ("id,status\n,open\n", "must not be empty"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
