//! The exceptions register in (SPEC §3.4): CSV files with the columns `id, system, control,
//! reason, approved_by, granted_on, expires_on, status, closed_on`. Out: validated `Exception`s.
//! Dates are UTC calendar days. Guarantees: ids are unique across the register, `status` is one of
//! open | closed | renewed, a closed or renewed exception has a `closed_on` date (without it,
//! adherence could not be decided), and `expires_on` is not before `granted_on`. Any breach is an
//! error naming the file and row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::{Config, parse_date};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionStatus {
    Open,
    Closed,
    Renewed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub file: PathBuf,
    pub row: usize,
    pub id: String,
    pub system: String,
    pub control: String,
    pub reason: String,
    pub approved_by: String,
    pub granted_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub status: ExceptionStatus,
    pub closed_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    system: String,
    #[serde(default)]
    control: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    approved_by: String,
    granted_on: String,
    expires_on: String,
    status: ExceptionStatus,
    #[serde(default)]
    closed_on: String,
}

pub fn read_all(config: &Config, warnings: &mut Vec<String>) -> Result<Vec<Exception>> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for path in super::expand_globs(&config.exceptions, "exceptions", warnings)? {
        for e in read_file(&path)? {
            if let Some((file, row)) = seen.insert(e.id.clone(), (e.file.clone(), e.row)) {
                return Err(error(
                    &e.file,
                    e.row,
                    format!(
                        "exception id `{}` is used again (first at {} row {row})",
                        e.id,
                        file.display()
                    ),
                ));
            }
            out.push(e);
        }
    }
    Ok(out)
}

fn read_file(path: &Path) -> Result<Vec<Exception>> {
    let bytes = crate::fsio::read_small(path, "exceptions register")?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let n = i + 2; // the header is row 1
        let row = row.map_err(|e| error(path, n, e.to_string()))?;
        out.push(validate(path, n, row)?);
    }
    Ok(out)
}

fn validate(path: &Path, n: usize, row: Row) -> Result<Exception> {
    let date = |field: &str, text: &str| {
        parse_date(text).map_err(|m| error(path, n, format!("{field}: {m}")))
    };
    if row.id.is_empty() || row.system.is_empty() {
        return Err(error(path, n, "`id` and `system` must not be empty".into()));
    }
    let granted_on = date("granted_on", &row.granted_on)?;
    let expires_on = date("expires_on", &row.expires_on)?;
    if expires_on < granted_on {
        return Err(error(
            path,
            n,
            format!("expires_on {expires_on} is before granted_on {granted_on}"),
        ));
    }
    let closed_on = match row.closed_on.as_str() {
        "" => None,
        text => Some(date("closed_on", text)?),
    };
    match (row.status, closed_on) {
        (ExceptionStatus::Closed | ExceptionStatus::Renewed, None) => {
            return Err(error(
                path,
                n,
                "a closed or renewed exception needs a closed_on date".into(),
            ));
        }
        (ExceptionStatus::Open, Some(d)) => {
            return Err(error(
                path,
                n,
                format!("status is open but closed_on is {d}"),
            ));
        }
        _ => {}
    }
    Ok(Exception {
        file: path.to_path_buf(),
        row: n,
        id: row.id,
        system: row.system,
        control: row.control,
        reason: row.reason,
        approved_by: row.approved_by,
        granted_on,
        expires_on,
        status: row.status,
        closed_on,
    })
}

/// An error at a register's row (the header is row 1): the exceptions and the responses.
pub(super) fn error(path: &Path, row: usize, message: String) -> Error {
    Error::Exceptions {
        path: path.to_path_buf(),
        at: Some(format!("row {row}")),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: ExceptionStatus, closed_on: &str) -> Row {
        Row {
            id: "EX-1".into(),
            system: "s".into(),
            control: "IR-01".into(),
            reason: String::new(),
            approved_by: String::new(),
            granted_on: "2026-01-01".into(),
            expires_on: "2026-06-30".into(),
            status,
            closed_on: closed_on.into(),
        }
    }

    #[test]
    fn status_and_closed_on_must_agree() {
        let p = Path::new("x.csv");
        assert!(validate(p, 2, row(ExceptionStatus::Closed, "2026-06-01")).is_ok());
        assert!(validate(p, 2, row(ExceptionStatus::Open, "")).is_ok());
        let e = validate(p, 3, row(ExceptionStatus::Renewed, "")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.csv (row 3): a closed or renewed exception needs a closed_on date"
        );
        assert!(validate(p, 2, row(ExceptionStatus::Open, "2026-06-01")).is_err());
        let mut bad = row(ExceptionStatus::Open, "");
        bad.expires_on = "2025-12-31".into();
        assert!(
            validate(p, 2, bad)
                .unwrap_err()
                .to_string()
                .contains("before granted_on")
        );
    }
}
