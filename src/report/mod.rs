//! The PDF report (SPEC §5). In: the KPI document and the bundle's facts as JSON bytes, a template
//! (the embedded default or a user's `.typ`), and the build time. Out: PDF/A-3b bytes with the KPI
//! document attached as `kpis.json`. Typst runs in a closed world of our own: fonts embedded in
//! the binary, no system fonts, no packages, no network; the template reads data only through
//! `json("/kpis.json")` and `json("/bundle.json")`, so no input can inject markup. The build time
//! drives `datetime.today()` and the PDF metadata, so identical inputs give identical bytes.

mod printable;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Timelike, Utc};
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_kit::fonts::FontStore;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use crate::config::Template;
use crate::error::{Error, Result};

const DEFAULT_TEMPLATE: &str = include_str!("../../templates/report/default.typ");

/// The document the engine compiles: metadata and the attachment, then the template. Keeping the
/// attachment here means a user's template cannot forget it.
const WRAPPER: &str = r#"#pdf.attach("kpis.json", read("/attached/kpis.json", encoding: none), relationship: "data", mime-type: "application/json", description: "dossier KPI document (SPEC 4)")
#include "/template.typ"
"#;

/// The typeset report, and the warnings of typesetting it (characters no font can show).
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub warnings: Vec<String>,
}

/// `base`: the config's folder; paths under it are shown relative to it.
pub fn render(
    (kpis_json, bundle_json): (&[u8], &[u8]),
    template: &Template,
    base: &Path,
    build_time: DateTime<Utc>,
) -> Result<Rendered> {
    let (template_text, template_path, template_dir) = match template {
        Template::Default => (
            DEFAULT_TEMPLATE.to_string(),
            PathBuf::from("templates/report/default.typ"),
            None,
        ),
        Template::Path(p) => (
            crate::fsio::read_small_text(p, "template")?,
            p.clone(),
            p.parent().map(Path::to_path_buf),
        ),
    };
    // The template reads printable copies; the attachment keeps the exact document.
    let prefix = format!("{}{}", base.display(), std::path::MAIN_SEPARATOR);
    let (kpis_shown, mut missing) = printable::printable(kpis_json, &covered, &prefix);
    let (bundle_shown, more) = printable::printable(bundle_json, &covered, &prefix);
    missing.extend(more);
    let warnings = if missing.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "the report shows {} character(s) that no embedded font has as a placeholder: {} \
             (the bundle's data keeps them as written)",
            missing.len(),
            missing.iter().take(20).collect::<String>()
        )]
    };
    let world = ReportWorld::new(
        &template_text,
        (&kpis_shown, kpis_json),
        &bundle_shown,
        template_dir,
        build_time,
    )?;
    let _watch = crate::watchdog::watch(
        &template_path,
        "typesetting the report",
        crate::watchdog::Limits::for_templates(),
    );
    let warned = crate::error::contain(&template_path, "typesetting the report", || {
        Ok(typst::compile::<PagedDocument>(&world))
    })?;
    let document = warned
        .output
        .map_err(|errors| diagnostics_error(&world, &errors, &template_path))?;
    let options = PdfOptions {
        ident: Smart::Custom("dossier-report".into()),
        creator: Smart::Custom(Some(format!("dossier {}", env!("CARGO_PKG_VERSION")))),
        timestamp: Some(Timestamp::new_utc(world.today)),
        page_ranges: None,
        standards: PdfStandards::new(&[PdfStandard::A_3b]).map_err(|e| Error::Report {
            path: template_path.clone(),
            message: format!("PDF/A-3b is not available: {e:?}"),
        })?,
        tagged: true,
        pretty: false,
    };
    let pdf = typst_pdf::pdf(&document, &options)
        .map_err(|errors| diagnostics_error(&world, &errors, &template_path))?;
    Ok(Rendered { pdf, warnings })
}

/// Whether some embedded font has a glyph for `c`.
fn covered(c: char) -> bool {
    static COVERAGE: OnceLock<Vec<Font>> = OnceLock::new();
    let fonts = COVERAGE.get_or_init(|| (0..).map_while(|i| fonts().font(i)).collect());
    fonts.iter().any(|f| f.info().coverage.contains(c as u32))
}

/// The first error, located as `file:line:column` in the template where Typst can say.
fn diagnostics_error(world: &ReportWorld, errors: &[SourceDiagnostic], template: &Path) -> Error {
    let first = errors
        .iter()
        .find(|d| d.severity == Severity::Error)
        .or(errors.first());
    let Some(d) = first else {
        return Error::Report {
            path: template.to_path_buf(),
            message: "Typst failed without a diagnostic".into(),
        };
    };
    let located = d
        .span
        .id()
        .zip(world.range(d.span))
        .and_then(|(id, range)| {
            let source = world.source(id).ok()?;
            let (line, column) = source.lines().byte_to_line_column(range.start)?;
            let name = if id == world.template {
                template.display().to_string()
            } else {
                id.get().vpath().get_with_slash().to_string()
            };
            Some(format!("{name}:{}:{}", line + 1, column + 1))
        });
    let hints: String = d.hints.iter().map(|h| format!("; hint: {}", h.v)).collect();
    Error::Report {
        path: PathBuf::from(located.unwrap_or_else(|| template.display().to_string())),
        message: format!("{}{hints}", d.message),
    }
}

/// Fallback fonts for the scripts the base fonts lack (CJK, emoji): fonts/README.md.
const FALLBACK_FONTS: [&[u8]; 2] = [
    include_bytes!("../../fonts/wqy-microhei.ttc"),
    include_bytes!("../../fonts/Symbola.ttf"),
];

fn fonts() -> &'static FontStore {
    static FONTS: OnceLock<FontStore> = OnceLock::new();
    FONTS.get_or_init(|| {
        let mut store = FontStore::new();
        store.extend(typst_kit::fonts::embedded());
        store.extend(FALLBACK_FONTS.into_iter().flat_map(|data| {
            Font::iter(Bytes::new(data)).map(|font| {
                let info = font.info().clone();
                (font, info)
            })
        }));
        store
    })
}

struct ReportWorld {
    library: LazyHash<Library>,
    main: FileId,
    template: FileId,
    sources: HashMap<FileId, Source>,
    files: HashMap<FileId, Bytes>,
    /// Files a user template may read: only below its own folder.
    template_dir: Option<PathBuf>,
    today: Datetime,
}

fn file_id(path: &str) -> Result<FileId> {
    let vpath = VirtualPath::new(path).map_err(|e| Error::Report {
        path: PathBuf::from(path),
        message: format!("bad virtual path: {e:?}"),
    })?;
    Ok(FileId::new(RootedPath::new(VirtualRoot::Project, vpath)))
}

impl ReportWorld {
    fn new(
        template: &str,
        (kpis, attached): (&[u8], &[u8]),
        bundle: &[u8],
        template_dir: Option<PathBuf>,
        time: DateTime<Utc>,
    ) -> Result<Self> {
        let main = file_id("/main.typ")?;
        let template_id = file_id("/template.typ")?;
        let mut sources = HashMap::new();
        sources.insert(main, Source::new(main, WRAPPER.to_string()));
        sources.insert(template_id, Source::new(template_id, template.to_string()));
        let mut files = HashMap::new();
        files.insert(file_id("/kpis.json")?, Bytes::new(kpis.to_vec()));
        files.insert(
            file_id("/attached/kpis.json")?,
            Bytes::new(attached.to_vec()),
        );
        files.insert(file_id("/bundle.json")?, Bytes::new(bundle.to_vec()));
        let today = Datetime::from_ymd_hms(
            time.year(),
            time.month() as u8,
            time.day() as u8,
            time.hour() as u8,
            time.minute() as u8,
            time.second() as u8,
        )
        .ok_or_else(|| {
            Error::Usage(format!(
                "build time {time} cannot be expressed in the report"
            ))
        })?;
        Ok(ReportWorld {
            library: LazyHash::new(Library::default()),
            main,
            template: template_id,
            sources,
            files,
            template_dir,
            today,
        })
    }

    /// A file next to a user's template (an image, an included file), never outside its folder.
    fn template_file(&self, id: FileId) -> FileResult<Vec<u8>> {
        let vpath = id.get().vpath();
        let not_found = || FileError::NotFound(PathBuf::from(vpath.get_with_slash()));
        let dir = self.template_dir.as_ref().ok_or_else(not_found)?;
        let rel = vpath.get_without_slash();
        if rel.split('/').any(|c| c == "..") {
            return Err(not_found());
        }
        let path = dir.join(rel);
        // Regular files inside the template's folder only, never a private key (fsio's rules).
        crate::fsio::read_small_within(&path, "template file", Some(dir)).map_err(|e| match e {
            Error::Io { .. } => not_found(),
            other => FileError::Other(Some(other.to_string().into())),
        })
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        fonts().book()
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if let Some(s) = self.sources.get(&id) {
            return Ok(s.clone());
        }
        let bytes = self.template_file(id)?;
        let text = String::from_utf8(bytes).map_err(|_| FileError::InvalidUtf8)?;
        Ok(Source::new(id, text))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let Some(b) = self.files.get(&id) {
            return Ok(b.clone());
        }
        if let Some(s) = self.sources.get(&id) {
            return Ok(Bytes::from_string(s.clone()));
        }
        self.template_file(id).map(Bytes::new)
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().font(index)
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // The build time, in UTC, whatever offset is asked for: the report must not depend on
        // the machine's clock or zone.
        Datetime::from_ymd(self.today.year()?, self.today.month()?, self.today.day()?)
    }
}
