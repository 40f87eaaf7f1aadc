//! `dossier init DIR`: the scaffold's files on stdout, the next step on stderr; with
//! `--reference`, the reference of every config key (docs/config.md) on stdout, nothing written.

use crate::cli::InitArgs;
use crate::error::{Exit, Result};
use crate::init;
use crate::ui::{Out, Ui};

pub fn run(args: InitArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    if args.reference {
        out.write(crate::config::REFERENCE)?;
        return Ok(Exit::Success);
    }
    for path in init::scaffold(&args.dir, args.force)? {
        out.path(&path)?;
    }
    let config = args.dir.join("dossier.yaml");
    ui.status(&format!(
        "next: edit {} and run `dossier kpis -c {}`",
        config.display(),
        config.display()
    ));
    Ok(Exit::Success)
}
