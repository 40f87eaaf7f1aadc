//! The parts of the OSCAL 1.2.1 JSON model that dossier writes, as serde structs named after
//! the published schema's definitions (`metadata`, `property`, `back-matter`, `resource`,
//! `rlink`, `hash`, `link`, `part`). Field names are the schema's kebab-case keys; an empty
//! list or absent value is left out, as the schema wants (its arrays have at least one item).

use serde::Serialize;

/// The OSCAL version whose schema the documents follow: the one compliance-trestle 5.2 validates.
pub const OSCAL_VERSION: &str = "1.2.1";

/// Where dossier's own property names live (OSCAL asks that names outside its own set carry one).
pub const NS: &str = "urn:dossier:oscal";

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Metadata {
    pub title: String,
    pub last_modified: String,
    pub version: String,
    pub oscal_version: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<Party>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Prop {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<&'static str>,
    pub value: String,
}

impl Prop {
    /// A property of dossier's own namespace.
    pub fn ours(name: &str, value: impl Into<String>) -> Prop {
        Prop {
            name: name.to_string(),
            ns: Some(NS),
            value: value.into(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Role {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct Party {
    pub uuid: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct BackMatter {
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub uuid: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rlinks: Vec<Rlink>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Rlink {
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hash {
    pub algorithm: &'static str,
    pub value: String,
}

impl Hash {
    pub fn sha256(hex: &str) -> Hash {
        Hash {
            algorithm: "SHA-256",
            value: hex.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub href: String,
    pub rel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Part {
    pub id: String,
    pub name: &'static str,
    pub prose: String,
}

/// OSCAL's `risk` (assessment results and POA&M alike); what a document does not know is left out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Risk {
    pub uuid: String,
    pub title: String,
    pub description: String,
    pub statement: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remediations: Vec<Response>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_observations: Vec<ObservationRef>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ObservationRef {
    pub observation_uuid: String,
}

/// A risk's planned `response`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Response {
    pub uuid: String,
    pub lifecycle: &'static str,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
}

/// OSCAL's `task` (a plan's action, a remediation's milestone).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Task {
    pub uuid: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub timing: Timing,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub responsible_roles: Vec<ResponsibleRole>,
}

/// A task's `timing`: one day, or a range.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Timing {
    OnDate { date: String },
    WithinDateRange { start: String, end: String },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ResponsibleRole {
    pub role_id: &'static str,
    pub party_uuids: Vec<String>,
}

/// A reference to a document's own back-matter resource.
pub fn local(uuid: &str) -> String {
    format!("#{uuid}")
}

/// A date as an OSCAL date-time with a time zone: the day's start in UTC.
pub fn day_start(day: &str) -> String {
    format!("{day}T00:00:00Z")
}

/// A date as the end of that day in UTC.
pub fn day_end(day: &str) -> String {
    format!("{day}T23:59:59Z")
}

/// An OSCAL token (`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`) for an id written by people: kept when
/// it is one, else `c-`, the id with every other character as `_`, and 8 hex digits of the id's
/// SHA-256 — so `a b` and `a/b` stay two controls.
pub fn token(id: &str) -> String {
    let valid = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_');
    let mut chars = id.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    if starts_well && id.chars().all(valid) {
        return id.to_string();
    }
    let body: String = id.chars().map(|c| if valid(c) { c } else { '_' }).collect();
    let hash = crate::digest::sha256_hex(id.as_bytes());
    format!("c-{body}-{}", hash.get(..8).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_people_write_become_tokens() {
        assert_eq!(token("VA-01"), "VA-01");
        assert_eq!(token("_x.1"), "_x.1");
        // sha256("1.2") begins 77ac319b (sha256sum); ids that read alike stay apart.
        assert_eq!(token("1.2"), "c-1.2-77ac319b");
        assert!(token("IR 01/a").starts_with("c-IR_01_a-"));
        assert_ne!(token("a b"), token("a/b"));
        assert!(token("").starts_with("c--"));
        let pattern = |t: &str| {
            t.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && t.chars().all(|c| c.is_alphanumeric() || ".-_".contains(c))
        };
        for id in ["1.2", "IR 01/a", "", "ü-3", "§4"] {
            assert!(pattern(&token(id)), "{id}: {}", token(id));
        }
    }
}
