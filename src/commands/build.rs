//! `dossier build`: the whole pipeline, in its named phases — assess (config → ingest → KPIs),
//! stage the bag (inputs copied and hashed), render the report (it lists every hash), seal
//! (every manifest line), sign, publish (zip and PDF linked into place together). Prints the
//! zip's and the PDF's paths on stdout.

use super::{assess_loaded, overrides};
use crate::bundle;
use crate::cli::BuildArgs;
use crate::config::Overrides;
use crate::error::{Error, Exit, Result};
use crate::report;
use crate::sign;
use crate::tsa;
use crate::ui::{Out, Ui};

pub fn run(args: BuildArgs, ui: &Ui, out: &mut Out) -> Result<Exit> {
    let started = std::time::Instant::now();
    let overrides = Overrides {
        tsa_url: args.tsa_url.clone(),
        no_tsa: args.no_tsa,
        ..overrides(&args.common, args.timestamp)
    };
    // The key first: a build that cannot be signed stops before the log pass, which on Spark is
    // a cluster run.
    let loaded = crate::config::load(&args.common.config, &overrides)?;
    let key = match sign::find_key(args.key.as_deref(), &loaded)? {
        Some(path) => Some(sign::Key::load(&path)?),
        None if args.unsigned => None,
        None => return Err(Error::NoKey),
    };
    let assessed = assess_loaded(loaded, ui)?;
    let config = &assessed.config;
    if config.tsa.is_some() && key.is_none() {
        ui.warn("signing.tsa is set, but an unsigned bundle has no signature to time-stamp");
    }
    let redact_key = match &key {
        Some(k) => k.redact_key(),
        None => sign::random_key()?,
    };
    let request = bundle::Request {
        redact_key,
        trusted_time: config.tsa.is_some() && key.is_some(),
        config,
        evidence: &assessed.evidence,
        doc: &assessed.doc,
        fingerprint: key.as_ref().map(sign::Key::fingerprint).transpose()?,
        out_dir: &args.output,
        force: args.force,
        build_time: config.build_time,
    };
    let mut staged = bundle::stage(&request)?;
    // A reproducible build (--timestamp, SOURCE_DATE_EPOCH) leaves the clock out of its bytes.
    if overrides.build_time.is_none() {
        staged.record_retrieval(started.elapsed());
    }
    for notice in &staged.notices {
        ui.warn(notice);
    }
    let spinner = crate::progress::Bar::spinner("typesetting the report");
    let rendered = report::render(
        (staged.kpis_json(), &staged.facts_json()?),
        &config.template,
        &config.base_dir,
        config.build_time,
    );
    spinner.finish();
    let rendered = rendered?;
    for w in &rendered.warnings {
        ui.warn(w);
    }
    let ready = staged.seal(Some(rendered.pdf))?;
    let mut signatures = key
        .as_ref()
        .map(|k| sign::sign_bag(k, &ready.sealed))
        .transpose()?;
    // Trusted time: the TSA stamps the tag manifest's signature; a failure writes nothing.
    if let (Some(tsa), Some(sig)) = (&config.tsa, signatures.as_mut()) {
        let stamped = tsa::stamp(tsa, &sig.tagmanifest)?;
        ui.status(&format!(
            "time-stamped by {} at {}{}",
            tsa.url,
            stamped.gen_time,
            if tsa.ca.is_some() {
                ""
            } else {
                " (signing.tsa.ca not set: the TSA's signature was not checked)"
            }
        ));
        sig.time_stamp = Some((stamped.reply, stamped.chain_pem));
    }
    let built = ready.publish(signatures.as_ref())?;
    out.path(&built.zip)?;
    if let Some(pdf) = &built.pdf {
        out.path(pdf)?;
    }
    match &built.fingerprint {
        Some(fp) => ui.status(&format!(
            "{}: {} payload files, {} bytes, signed by sha256:{fp}",
            built.name, built.payload_files, built.payload_bytes
        )),
        None => ui.warn(&format!(
            "{} is UNSIGNED: no signing key (--key, DOSSIER_SIGNING_KEY or signing.key); \
             nobody can tell it from a forgery",
            built.zip.display()
        )),
    }
    Ok(Exit::Success)
}
