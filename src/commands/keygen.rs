//! `dossier keygen`: a new Ed25519 key pair; the two paths on stdout, the fingerprint on stderr.

use crate::cli::KeygenArgs;
use crate::error::{Exit, Result};
use crate::sign;
use crate::ui::{Out, Ui};

pub fn run(args: KeygenArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    let (key, public, fingerprint) = sign::keygen(&args.output)?;
    out.path(&key)?;
    out.path(&public)?;
    ui.status(&format!(
        "fingerprint sha256:{fingerprint}; keep {} secret",
        key.display()
    ));
    Ok(Exit::Success)
}
