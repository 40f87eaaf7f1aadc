//! The exceptions register in, its KPI view out (SPEC §4): each exception marked `expired`
//! (`expires_on < as_of`), `adherent` (expired, and closed or renewed on or before `expires_on`)
//! and `open_at_as_of`, and the two KPIs `exception_expiry_adherence` and
//! `expired_open_exceptions_count`. Dates are UTC calendar days, compared as dates.

use chrono::NaiveDate;
use serde::Serialize;

use super::{KpiValue, ratio};
use crate::ingest::exceptions::{Exception, ExceptionStatus};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExceptionOut {
    pub id: String,
    pub system: String,
    pub control: String,
    pub reason: String,
    pub approved_by: String,
    pub granted_on: String,
    pub expires_on: String,
    pub status: ExceptionStatus,
    pub closed_on: Option<String>,
    pub expired: bool,
    /// `null` for an exception that has not expired: adherence is not yet decided.
    pub adherent: Option<bool>,
    /// Open on the as-of date: status open, or closed/renewed only after it.
    pub open_at_as_of: bool,
    /// Days the exception ran past its expiry unclosed (an added key): to as_of while still open,
    /// to `closed_on` when closed late, 0 when closed in time; `null` when not expired.
    pub days_overdue: Option<i64>,
    pub file: String,
    pub row: usize,
}

pub fn assess(e: &Exception, as_of: NaiveDate) -> ExceptionOut {
    let expired = e.expires_on < as_of;
    let closed_in_time = matches!(e.status, ExceptionStatus::Closed | ExceptionStatus::Renewed)
        && e.closed_on.is_some_and(|d| d <= e.expires_on);
    let open_at_as_of = match e.status {
        ExceptionStatus::Open => true,
        _ => e.closed_on.is_some_and(|d| d > as_of),
    };
    let overdue_until = if open_at_as_of {
        Some(as_of)
    } else {
        e.closed_on
    };
    let days_overdue =
        expired.then(|| overdue_until.map_or(0, |d| (d - e.expires_on).num_days().max(0)));
    ExceptionOut {
        days_overdue,
        id: e.id.clone(),
        system: e.system.clone(),
        control: e.control.clone(),
        reason: e.reason.clone(),
        approved_by: e.approved_by.clone(),
        granted_on: e.granted_on.to_string(),
        expires_on: e.expires_on.to_string(),
        status: e.status,
        closed_on: e.closed_on.map(|d| d.to_string()),
        expired,
        adherent: expired.then_some(closed_in_time),
        open_at_as_of,
        file: e.file.display().to_string(),
        row: e.row,
    }
}

pub fn expiry_adherence<'a>(
    list: impl Iterator<Item = &'a ExceptionOut>,
    target: Option<f64>,
) -> KpiValue {
    let (mut adherent, mut expired) = (0, 0);
    for e in list.filter(|e| e.expired) {
        expired += 1;
        if e.adherent == Some(true) {
            adherent += 1;
        }
    }
    ratio(adherent, expired, target)
}

pub fn expired_open_count<'a>(
    list: impl Iterator<Item = &'a ExceptionOut>,
    target: Option<f64>,
) -> KpiValue {
    let n = list.filter(|e| e.expired && e.open_at_as_of).count() as u64;
    super::count(n, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn ex(id: &str, expires: &str, status: ExceptionStatus, closed: Option<&str>) -> Exception {
        Exception {
            file: PathBuf::from("exceptions.csv"),
            row: 2,
            id: id.into(),
            system: "s".into(),
            control: "IR-01".into(),
            reason: String::new(),
            approved_by: String::new(),
            granted_on: day("2026-01-01"),
            expires_on: day(expires),
            status,
            closed_on: closed.map(day),
        }
    }

    #[test]
    fn every_adherence_case_by_hand() {
        use ExceptionStatus::*;
        let as_of = day("2026-10-01");
        let list: Vec<ExceptionOut> = [
            ex("on-time", "2026-08-31", Closed, Some("2026-08-31")), // closed on the expiry day: adherent
            ex("late", "2026-08-31", Closed, Some("2026-09-02")),    // closed after expiry: not
            ex("renewed", "2026-09-15", Renewed, Some("2026-09-10")), // renewed before expiry: adherent
            ex("overdue", "2026-09-30", Open, None), // expired yesterday, open: not
            ex("future", "2026-10-01", Open, None),  // expires on as_of: not expired
            ex(
                "closed-after-as-of",
                "2026-09-01",
                Closed,
                Some("2026-10-05"),
            ), // open at as_of
        ]
        .iter()
        .map(|e| assess(e, as_of))
        .collect();
        let adherent: Vec<Option<bool>> = list.iter().map(|e| e.adherent).collect();
        assert_eq!(
            adherent,
            [
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                None,
                Some(false)
            ]
        );
        // Overdue by hand: 0; 31 Aug → 2 Sep is 2; 0; 30 Sep → as_of 1 Oct is 1; not expired;
        // open at as_of, so 1 Sep → 1 Oct is 30 (not to its later closing).
        let overdue: Vec<Option<i64>> = list.iter().map(|e| e.days_overdue).collect();
        assert_eq!(
            overdue,
            [Some(0), Some(2), Some(0), Some(1), None, Some(30)]
        );
        // 2 adherent of 5 expired.
        let k = expiry_adherence(list.iter(), Some(0.95));
        assert_eq!(
            (k.numerator, k.denominator, k.met),
            (Some(2), Some(5), Some(false))
        );
        assert_eq!(k.value, Some(0.4));
        // Open at as_of and expired: "overdue" and "closed-after-as-of".
        let c = expired_open_count(list.iter(), Some(0.0));
        assert_eq!((c.value, c.met), (Some(2.0), Some(false)));
        let none: Vec<ExceptionOut> = vec![];
        assert_eq!(expiry_adherence(none.iter(), Some(0.95)).value, None);
    }
}
