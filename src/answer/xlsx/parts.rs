//! The package side of a workbook: which zip part holds which sheet (from `_rels/.rels`, the
//! workbook part and its relationships), and the three small insertions that add one sheet to a
//! workbook (a `<sheet>` in the workbook, a relationship, a content-type override). In: part
//! texts. Out: part paths, or part texts with one insertion each. Guarantees: the rest of a part's
//! bytes are kept as they were; a malformed part is an error naming it, never a panic.

use std::collections::BTreeMap;

use quick_xml::events::Event;

/// An element's attributes by qualified name.
pub type Attrs = BTreeMap<String, String>;

const REL_WORKSHEET: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const CT_WORKSHEET: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml";

/// Every element named `local` (any prefix), with its attributes, in document order.
pub fn elements(xml: &str, local: &str) -> Result<Vec<Attrs>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == local => {
                found.push(attrs(&e)?);
            }
            Ok(Event::Eof) => return Ok(found),
            Ok(_) => {}
            Err(e) => return Err(format!("at byte {}: {e}", reader.error_position())),
        }
    }
}

pub fn attrs(e: &quick_xml::events::BytesStart<'_>) -> Result<Attrs, String> {
    let mut out = Attrs::new();
    for a in e.attributes() {
        let a = a.map_err(|x| x.to_string())?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|x| x.to_string())?;
        out.insert(a.key.as_ref().to_string(), value.into_owned());
    }
    Ok(out)
}

/// The value of the attribute whose local name is `local` (`r:id` for `id`).
pub fn local_attr<'a>(attrs: &'a Attrs, local: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.rsplit(':').next() == Some(local))
        .map(|(_, v)| v.as_str())
}

/// The relationships part of a part: `xl/workbook.xml` → `xl/_rels/workbook.xml.rels`.
pub fn rels_of(part: &str) -> String {
    let (dir, file) = part.rsplit_once('/').unwrap_or(("", part));
    if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    }
}

/// A relationship target, relative to the part that has it, as a zip path.
pub fn resolve(from_part: &str, target: &str) -> String {
    let mut segments: Vec<&str> = match target.strip_prefix('/') {
        Some(_) => Vec::new(),
        None => from_part
            .rsplit_once('/')
            .map_or(vec![], |(d, _)| d.split('/').collect()),
    };
    for s in target.trim_start_matches('/').split('/') {
        match s {
            ".." => {
                segments.pop();
            }
            "." | "" => {}
            s => segments.push(s),
        }
    }
    segments.join("/")
}

/// The workbook part, from the package relationships.
pub fn workbook_part(package_rels: &str) -> Result<String, String> {
    elements(package_rels, "Relationship")?
        .iter()
        .find(|r| {
            r.get("Type")
                .is_some_and(|t| t.ends_with("/officeDocument"))
        })
        .and_then(|r| r.get("Target"))
        .map(|t| resolve("", t))
        .ok_or_else(|| "no officeDocument relationship".into())
}

/// Each sheet's name and the zip part that holds it, in workbook order.
pub fn sheet_parts(
    workbook_part: &str,
    workbook: &str,
    rels: &str,
) -> Result<Vec<(String, String)>, String> {
    let targets: BTreeMap<String, String> = elements(rels, "Relationship")?
        .into_iter()
        .filter_map(|r| Some((r.get("Id")?.clone(), r.get("Target")?.clone())))
        .collect();
    let mut out = Vec::new();
    for sheet in elements(workbook, "sheet")? {
        let (Some(name), Some(id)) = (sheet.get("name"), local_attr(&sheet, "id")) else {
            continue;
        };
        if let Some(target) = targets.get(id) {
            out.push((name.clone(), resolve(workbook_part, target)));
        }
    }
    Ok(out)
}

/// Insert `insertion` before the closing tag of the first element named `local` (any prefix);
/// an empty element `<x/>` is opened and closed around it.
pub fn insert_before_close(xml: &str, local: &str, insertion: &str) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth_at_open = None;
    let mut depth = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth_at_open.is_none() && e.local_name().as_ref() == local {
                    depth_at_open = Some(depth);
                }
            }
            Ok(Event::Empty(e)) if depth_at_open.is_none() && e.local_name().as_ref() == local => {
                let end = reader.buffer_position() as usize;
                let name = e.name().as_ref().to_string();
                let tag = xml.get(before..end).ok_or("bad offsets")?;
                let open = tag.trim_end_matches("/>").trim_end();
                return Ok(format!(
                    "{}{open}>{insertion}</{name}>{}",
                    &xml[..before],
                    &xml[end..]
                ));
            }
            Ok(Event::End(_)) => {
                if depth_at_open == Some(depth) {
                    return Ok(format!("{}{insertion}{}", &xml[..before], &xml[before..]));
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) => return Err(format!("no <{local}> element")),
            Ok(_) => {}
            Err(e) => return Err(format!("at byte {}: {e}", reader.error_position())),
        }
    }
}

/// The prefix (with its colon) the first element named `local` is written with: `x:` or ``.
pub fn prefix_of(xml: &str, local: &str) -> String {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == local => {
                return e
                    .name()
                    .prefix()
                    .map(|p| format!("{}:", p.as_ref()))
                    .unwrap_or_default();
            }
            Ok(Event::Eof) | Err(_) => return String::new(),
            Ok(_) => {}
        }
    }
}

/// The three edits that add a worksheet part to a workbook: the new workbook, relationships and
/// content-types texts.
pub struct NewSheet<'a> {
    pub name: &'a str,
    /// The new part's zip path, e.g. `xl/worksheets/dossier-evidence.xml`.
    pub part: &'a str,
    pub workbook_part: &'a str,
}

pub fn add_sheet(
    new: &NewSheet<'_>,
    workbook: &str,
    rels: &str,
    content_types: &str,
) -> Result<(String, String, String), String> {
    let ids: Vec<String> = elements(rels, "Relationship")?
        .into_iter()
        .filter_map(|r| r.get("Id").cloned())
        .collect();
    let id = (1..)
        .map(|n| format!("rIdDossier{n}"))
        .find(|c| !ids.contains(c))
        .unwrap_or_default();
    let sheet_id = elements(workbook, "sheet")?
        .iter()
        .filter_map(|s| s.get("sheetId")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let target = relative_target(new.workbook_part, new.part);
    let name = xml_attr(new.name);
    let p = prefix_of(workbook, "sheets");
    // The relationships prefix the workbook declares (`r` in every writer seen); else one
    // declared on the element itself.
    let id_attr = match bound_prefix(workbook, REL_NS) {
        Some(r) => format!(r#"{r}:id="{id}""#),
        None => format!(r#"xmlns:dr="{REL_NS}" dr:id="{id}""#),
    };
    let workbook = insert_before_close(
        workbook,
        "sheets",
        &format!(r#"<{p}sheet name="{name}" sheetId="{sheet_id}" {id_attr}/>"#),
    )?;
    let rp = prefix_of(rels, "Relationships");
    let rels = insert_before_close(
        rels,
        "Relationships",
        &format!(r#"<{rp}Relationship Id="{id}" Type="{REL_WORKSHEET}" Target="{target}"/>"#),
    )?;
    let cp = prefix_of(content_types, "Types");
    let content_types = insert_before_close(
        content_types,
        "Types",
        &format!(
            r#"<{cp}Override PartName="/{}" ContentType="{CT_WORKSHEET}"/>"#,
            new.part
        ),
    )?;
    Ok((workbook, rels, content_types))
}

/// The prefix the root element binds to `namespace` (`xmlns:r="…"` → `r`).
fn bound_prefix(xml: &str, namespace: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                return attrs(&e).ok()?.into_iter().find_map(|(k, v)| {
                    (v == namespace)
                        .then(|| k.strip_prefix("xmlns:").map(str::to_string))
                        .flatten()
                });
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// `xl/worksheets/x.xml` as seen from `xl/workbook.xml`: `worksheets/x.xml`.
fn relative_target(from_part: &str, part: &str) -> String {
    match from_part.rsplit_once('/') {
        Some((dir, _)) => part
            .strip_prefix(&format!("{dir}/"))
            .map_or_else(|| format!("/{part}"), str::to_string),
        None => part.to_string(),
    }
}

pub fn xml_attr(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_the_part_that_names_them() {
        assert_eq!(
            resolve("xl/workbook.xml", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("xl/workbook.xml", "/xl/worksheets/s.xml"),
            "xl/worksheets/s.xml"
        );
        assert_eq!(resolve("xl/workbook.xml", "../x/s.xml"), "x/s.xml");
        assert_eq!(rels_of("xl/workbook.xml"), "xl/_rels/workbook.xml.rels");
        assert_eq!(
            relative_target("xl/workbook.xml", "xl/worksheets/e.xml"),
            "worksheets/e.xml"
        );
    }

    #[test]
    fn insertion_goes_before_the_close_or_opens_an_empty_element() {
        let x = r#"<a><b><c/></b><b/></a>"#;
        assert_eq!(
            insert_before_close(x, "b", "<n/>").unwrap(),
            r#"<a><b><c/><n/></b><b/></a>"#
        );
        assert_eq!(
            insert_before_close("<a><b /></a>", "b", "<n/>").unwrap(),
            "<a><b><n/></b></a>"
        );
        assert!(insert_before_close("<a/>", "b", "").is_err());
    }

    #[test]
    fn an_added_sheet_uses_the_workbooks_own_prefixes_and_fresh_ids() {
        let workbook = format!(
            r#"<?xml version="1.0"?><workbook xmlns="m" xmlns:r="{REL_NS}"><sheets><sheet name="A" sheetId="4" r:id="rId1"/></sheets></workbook>"#
        );
        let rels = r#"<Relationships xmlns="p"><Relationship Id="rIdDossier1" Target="x"/></Relationships>"#;
        let types =
            r#"<Types xmlns="t"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
        let new = NewSheet {
            name: "Evidence",
            part: "xl/worksheets/e.xml",
            workbook_part: "xl/workbook.xml",
        };
        let (w, r, t) = add_sheet(&new, &workbook, rels, types).unwrap();
        assert!(
            w.ends_with(
                r#"<sheet name="Evidence" sheetId="5" r:id="rIdDossier2"/></sheets></workbook>"#
            ),
            "{w}"
        );
        assert!(
            r.contains(r#"Id="rIdDossier2" Type="#) && r.contains(r#"Target="worksheets/e.xml"/>"#),
            "{r}"
        );
        assert!(
            t.contains(r#"<Override PartName="/xl/worksheets/e.xml""#),
            "{t}"
        );
        let bare = r#"<workbook xmlns="m"><sheets/></workbook>"#;
        let (w, _, _) = add_sheet(&new, bare, rels, types).unwrap();
        assert!(
            w.contains(&format!(r#"xmlns:dr="{REL_NS}" dr:id="rIdDossier2""#)),
            "{w}"
        );
    }
}
