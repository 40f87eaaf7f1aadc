//! The remediation plan made trackable. In: the ranked items, `as_of`, the per-severity days of
//! `policy.remediation_due_days` and the management-response register. Out: each item's due
//! date (as_of + the audit's `fix_days` where it gives one, else the severity's default; an item
//! of unknown severity takes medium's), its status and response from the register (`open` when
//! the register does not name it), the responses whose ids are no longer in the plan ("closed
//! since the last report"), and a warning for each item the register calls closed that this
//! build still finds. Guarantees: every item gets a due date; no response is dropped unseen.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::remediation::Item;
use crate::config::Scope;
use crate::ingest::responses::Response;
use crate::vocab::{ResponseStatus, Severity};

/// What the plan adds to a remediation item (flattened into `remediation[]`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Tracking {
    /// `as_of` + the days to fix, YYYY-MM-DD.
    pub due: Option<String>,
    /// Where the days come from: `fix_days` or `policy.remediation_due_days.<severity>`.
    pub due_basis: Option<String>,
    pub status: ResponseStatus,
    pub response: Option<String>,
    pub responder: Option<String>,
    /// Management's own target date, YYYY-MM-DD.
    pub target_date: Option<String>,
}

/// A response whose item this build no longer finds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Closed {
    pub id: String,
    pub status: ResponseStatus,
    pub response: Option<String>,
    pub responder: Option<String>,
    pub target_date: Option<String>,
}

/// Fill in every item's tracking; return the responses of items no longer found, and warnings.
pub fn track(
    items: &mut [Item],
    (as_of, due_days): (NaiveDate, &BTreeMap<Severity, u32>),
    responses: &[Response],
    scope: &Scope,
) -> (Vec<Closed>, Vec<String>) {
    let by_id: BTreeMap<&str, &Response> = responses.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut warnings = Vec::new();
    for item in items.iter_mut() {
        let (days, basis) = days_to_fix(item, due_days);
        item.tracking.due = as_of
            .checked_add_days(Days::new(u64::from(days)))
            .map(|d| d.to_string());
        item.tracking.due_basis = Some(basis);
        let Some(r) = by_id.get(item.id.as_str()) else {
            continue;
        };
        if r.status == ResponseStatus::Closed {
            warnings.push(format!(
                "sources.responses row {}: `{}` is marked closed, but this build still finds it",
                r.row, r.id
            ));
        }
        item.tracking.status = r.status;
        item.tracking.response = text(&r.response);
        item.tracking.responder = text(&r.responder);
        item.tracking.target_date = r.target_date.map(|d| d.to_string());
    }
    let mut closed: Vec<Closed> = responses
        .iter()
        .filter(|r| !items.iter().any(|i| i.id == r.id))
        .filter(|r| admitted(scope, &r.id))
        .map(|r| Closed {
            id: r.id.clone(),
            status: r.status,
            response: text(&r.response),
            responder: text(&r.responder),
            target_date: r.target_date.map(|d| d.to_string()),
        })
        .collect();
    closed.sort_by(|a, b| a.id.cmp(&b.id));
    (closed, warnings)
}

/// The audit's `fix_days`, else the severity's default (medium's when the severity is unknown).
fn days_to_fix(item: &Item, due_days: &BTreeMap<Severity, u32>) -> (u32, String) {
    if let Some(days) = item.fix_days {
        return (days, "fix_days".into());
    }
    let severity = item.severity.unwrap_or(Severity::Medium);
    let days = due_days.get(&severity).copied().unwrap_or(90);
    let name = serde_json::to_value(severity)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    (days, format!("policy.remediation_due_days.{name}"))
}

/// A scoped build lists only the closed items of its systems: an id is `<system>:…`; an id
/// without a system (an exception's) cannot be placed and is left out.
fn admitted(scope: &Scope, id: &str) -> bool {
    if !scope.is_scoped() {
        return true;
    }
    id.split_once(':')
        .is_some_and(|(system, _)| scope.admits(system))
}

fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, severity: Option<Severity>, fix_days: Option<u32>) -> Item {
        Item {
            rank: 1,
            id: id.into(),
            system: String::new(),
            source: String::new(),
            finding: String::new(),
            severity,
            blast_radius: None,
            fix_days,
            owner: None,
            tracking: Tracking::default(),
        }
    }

    fn response(id: &str, status: ResponseStatus) -> Response {
        Response {
            row: 2,
            id: id.into(),
            status,
            response: "on it".into(),
            responder: String::new(),
            target_date: None,
        }
    }

    #[test]
    fn due_dates_worked_by_hand() {
        let defaults = BTreeMap::from([
            (Severity::Critical, 14),
            (Severity::High, 30),
            (Severity::Medium, 90),
            (Severity::Low, 180),
        ]);
        let mut items = [
            item("a", Some(Severity::Critical), Some(5)),
            item("b", Some(Severity::High), None),
            item("c", Some(Severity::Low), None),
            item("d", None, None),
        ];
        let as_of = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        track(&mut items, (as_of, &defaults), &[], &Scope::default());
        let due: Vec<_> = items.iter().map(|i| i.tracking.due.as_deref()).collect();
        // 1 Oct + 5 = 6 Oct; + 30 = 31 Oct; + 180 = 30 Mar 2027 (31 Oct, 30 Nov, 31 Dec, 31 Jan,
        // 28 Feb: 151 days to 1 Mar, 29 more); unknown severity takes medium's 90: 30 Dec.
        assert_eq!(
            due,
            [
                Some("2026-10-06"),
                Some("2026-10-31"),
                Some("2027-03-30"),
                Some("2026-12-30")
            ]
        );
        assert_eq!(items[0].tracking.due_basis.as_deref(), Some("fix_days"));
        assert_eq!(
            items[1].tracking.due_basis.as_deref(),
            Some("policy.remediation_due_days.high")
        );
    }

    #[test]
    fn responses_fill_items_and_the_rest_are_closed_since() {
        let mut items = [item("sys:VA-01", Some(Severity::High), None)];
        let responses = [
            response("sys:VA-01", ResponseStatus::Closed),
            response("sys:VA-09", ResponseStatus::Closed),
            response("other:VA-02", ResponseStatus::InProgress),
            response("EX-7", ResponseStatus::Closed),
        ];
        let as_of = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let days = BTreeMap::new();
        let (closed, warnings) = track(&mut items, (as_of, &days), &responses, &Scope::default());
        assert_eq!(items[0].tracking.status, ResponseStatus::Closed);
        assert_eq!(items[0].tracking.response.as_deref(), Some("on it"));
        assert_eq!(warnings.len(), 1, "closed yet still found: {warnings:?}");
        let ids: Vec<&str> = closed.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["EX-7", "other:VA-02", "sys:VA-09"]);
        let scope = Scope {
            systems: vec!["sys".into()],
            request_id: None,
        };
        let (closed, _) = track(&mut items, (as_of, &days), &responses, &scope);
        let ids: Vec<&str> = closed.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["sys:VA-09"],
            "a scoped build lists only its systems' items"
        );
    }
}
