//! The Evidence sheet an answer from a bundle adds to the customer's workbook: which signed
//! bundle the answers were drawn from (file, id, SHA-256, signer's fingerprint, time-stamp) and
//! how to check it. In: the workbook and the verified bundle. Out: the new worksheet part and the
//! three parts that name it. Guarantees: a workbook answered from a bundle before has its sheet
//! replaced, not doubled; a customer sheet already called `Evidence` is never touched.

use std::collections::BTreeMap;

use super::{Book, Zip, part_text, parts, refs};
use crate::answer::Cited;

/// The part the Evidence sheet is written to; a workbook that has it was answered before.
const EVIDENCE_PART: &str = "xl/worksheets/dossier-evidence.xml";

pub(super) fn add_sheet(
    book: &Book,
    zip: &mut Zip<'_>,
    cited: &Cited,
    replaced: &mut BTreeMap<String, Vec<u8>>,
) -> std::result::Result<(), String> {
    replaced.insert(EVIDENCE_PART.into(), evidence_xml(cited).into_bytes());
    if zip.index_for_name(EVIDENCE_PART).is_some() {
        // Answered from a bundle before: the sheet is there, its content is replaced.
        return Ok(());
    }
    let name = ["Evidence", "dossier evidence", "dossier evidence 2"]
        .into_iter()
        .find(|n| !book.sheet_names.iter().any(|s| s.eq_ignore_ascii_case(n)))
        .ok_or("the sheet names Evidence and dossier evidence are taken")?;
    let wb_rels = parts::rels_of(&book.workbook_part);
    let (workbook, rels, types) = parts::add_sheet(
        &parts::NewSheet {
            name,
            part: EVIDENCE_PART,
            workbook_part: &book.workbook_part,
        },
        &part_text(zip, &book.workbook_part)?,
        &part_text(zip, &wb_rels)?,
        &part_text(zip, "[Content_Types].xml")?,
    )?;
    replaced.insert(book.workbook_part.clone(), workbook.into_bytes());
    replaced.insert(wb_rels, rels.into_bytes());
    replaced.insert("[Content_Types].xml".into(), types.into_bytes());
    Ok(())
}

/// The Evidence sheet: which signed bundle the answers were drawn from, and how to check it.
fn evidence_xml(cited: &Cited) -> String {
    let file = cited
        .bundle
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        (
            "Answers drawn from",
            format!("the signed evidence bundle {file}, verified before answering"),
        ),
        ("Bundle id", cited.id.clone()),
        ("Bundle SHA-256", cited.sha256.clone()),
        (
            "Signer key fingerprint",
            cited
                .fingerprint
                .as_ref()
                .map_or("(none)".into(), |f| format!("sha256:{f}")),
        ),
        (
            "Key checked against",
            if cited.key_pinned {
                "the key given with --pubkey"
            } else {
                "the key the bundle carries"
            }
            .into(),
        ),
        (
            "Time-stamp",
            cited.time_stamp.clone().unwrap_or_else(|| "(none)".into()),
        ),
        ("Files in the bundle", cited.manifest.len().to_string()),
        (
            "How to check",
            format!(
                "dossier verify {file} --pubkey <signer key>; each evidence cell gives a bag path and its SHA-256 from manifest-sha256.txt"
            ),
        ),
    ];
    let mut body = String::new();
    for (i, (k, v)) in rows.iter().enumerate() {
        let r = i as u32;
        body.push_str(&format!(
            r#"<row r="{}"><c r="A{0}" t="inlineStr"><is><t>{}</t></is></c><c r="B{0}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c></row>"#,
            r + 1,
            refs::cell_text(k),
            refs::cell_text(v)
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cols><col min="1" max="1" width="26" customWidth="1"/><col min="2" max="2" width="100" customWidth="1"/></cols><sheetData>{body}</sheetData></worksheet>"#
    )
}
