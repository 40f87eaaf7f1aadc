//! Ed25519 keys and signatures (SPEC §7). In: a PKCS#8 PEM private key or an SPKI PEM public key.
//! Out: raw 64-byte signatures over exact bytes, the SPKI PEM to ship in a bundle, and the key's
//! fingerprint (SHA-256 of the SPKI DER, hex). Guarantees: `keygen` never overwrites and writes the
//! private key with mode 0600 from the first byte; a private key readable by others is refused.
//! `sign_bag` is the signing stage of a build: it signs a sealed bag's tag manifest and report.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::bundle::{Sealed, Signatures};
use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

pub const KEY_FILE: &str = "dossier-signing.key";
pub const PUB_FILE: &str = "dossier-signing.pub";

/// A loaded signing key.
pub struct Key {
    key: SigningKey,
}

/// Never prints the secret.
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<secret>)")
    }
}

impl Key {
    pub fn load(path: &Path) -> Result<Self> {
        refuse_shared_key(path)?;
        let (file, size) = crate::fsio::open_regular(path, "signing key", None)?;
        let mut pem = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(file, size.min(1 << 16)), &mut pem)
            .map_err(|e| Error::io("cannot read signing key", path, e))?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| Error::Sign {
            path: path.to_path_buf(),
            message: format!("{} ({e})", key_problem(&pem)),
        })?;
        Ok(Key { key })
    }

    pub fn sign(&self, bytes: &[u8]) -> [u8; 64] {
        self.key.sign(bytes).to_bytes()
    }

    pub fn public_pem(&self) -> Result<String> {
        public_pem(&self.key.verifying_key())
    }

    /// The key of `bundle.redact`'s keyed hashes: derived from the secret (so one signer's
    /// bundles hash a value alike, and nobody without the key can test a guess), never the secret.
    pub fn redact_key(&self) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"dossier bundle.redact v1\0");
        h.update(self.key.to_bytes());
        h.finalize().into()
    }

    pub fn fingerprint(&self) -> Result<String> {
        fingerprint(&self.key.verifying_key())
    }
}

/// What a file given as the signing key is, if not the key, and how to make one: the parser's
/// words ("PEM preamble contains invalid data") say nothing to someone who passed the wrong file.
fn key_problem(text: &str) -> String {
    const MAKE: &str = "make one with `dossier keygen -o keys/`, or \
                        `openssl genpkey -algorithm ed25519 -out dossier-signing.key`";
    let what = if text.contains("PUBLIC KEY-----") {
        "is a public key; signing needs the private key (dossier-signing.key, beside the .pub)"
    } else if text.contains("-----BEGIN RSA PRIVATE KEY")
        || text.contains("-----BEGIN EC PRIVATE KEY")
    {
        "is an RSA or EC key; dossier signs with Ed25519 only"
    } else if text.contains("-----BEGIN PRIVATE KEY-----") {
        "is a PKCS#8 private key but not an Ed25519 one; dossier signs with Ed25519 only"
    } else if text.contains("-----BEGIN") {
        "is a PEM file of another kind, not a private key"
    } else {
        "is not a PEM file; the signing key is an Ed25519 private key in PKCS#8 PEM \
         (-----BEGIN PRIVATE KEY-----)"
    };
    format!("{what}; {MAKE}")
}

pub fn public_pem(key: &VerifyingKey) -> Result<String> {
    key.to_public_key_pem(Default::default())
        .map_err(|e| Error::Sign {
            path: PathBuf::new(),
            message: format!("cannot encode public key: {e}"),
        })
}

/// SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex: what `openssl pkey -pubin -outform DER |
/// sha256sum` prints for the same key.
pub fn fingerprint(key: &VerifyingKey) -> Result<String> {
    let der = key.to_public_key_der().map_err(|e| Error::Sign {
        path: PathBuf::new(),
        message: format!("cannot encode public key: {e}"),
    })?;
    Ok(sha256_hex(der.as_bytes()))
}

pub fn parse_public_pem(text: &str) -> std::result::Result<VerifyingKey, String> {
    VerifyingKey::from_public_key_pem(text)
        .map_err(|e| format!("not an Ed25519 SPKI PEM public key: {e}"))
}

/// Does `signature` (raw 64 bytes) sign `bytes` under `key`?
pub fn verify(key: &VerifyingKey, bytes: &[u8], signature: &[u8]) -> bool {
    let Ok(raw) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    key.verify(bytes, &Signature::from_bytes(&raw)).is_ok()
}

/// A fresh random key: `bundle.redact`'s key for an unsigned build (its hashes then match no
/// other build's).
pub fn random_key() -> Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).map_err(|e| Error::Sign {
        path: PathBuf::from("(bundle.redact key)"),
        message: format!("no randomness from the operating system: {e}"),
    })?;
    Ok(key)
}

/// `dossier keygen`: a new key pair in `dir`; refuses if either file exists.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf, String)> {
    let key_path = dir.join(KEY_FILE);
    let pub_path = dir.join(PUB_FILE);
    for p in [&key_path, &pub_path] {
        if p.exists() {
            return Err(Error::Exists { path: p.clone() });
        }
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| Error::Sign {
        path: key_path.clone(),
        message: format!("no randomness from the operating system: {e}"),
    })?;
    let key = SigningKey::from_bytes(&seed);
    let private = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| Error::Sign {
            path: key_path.clone(),
            message: format!("cannot encode private key: {e}"),
        })?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    write_new(&key_path, private.as_bytes(), 0o600)?;
    write_new(
        &pub_path,
        public_pem(&key.verifying_key())?.as_bytes(),
        0o644,
    )?;
    Ok((key_path, pub_path, fingerprint(&key.verifying_key())?))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io("cannot create", path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io("cannot write", path, e))
}

/// A private key that others can read is no longer private: refuse it rather than sign with it.
fn refuse_shared_key(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|e| Error::io("cannot read signing key", path, e))?;
    if meta.permissions().mode() & 0o004 != 0 {
        return Err(Error::Sign {
            path: path.to_path_buf(),
            message: "the signing key is readable by every user; refusing to use it".into(),
        });
    }
    Ok(())
}

/// The key a build signs with, in the documented order: `--key` (or `DOSSIER_SIGNING_KEY`), the
/// config's `signing.key`, then `dossier-signing.key` beside the config, where `keygen` writes it
/// when run in the config's folder. `None` when there is none.
pub fn find_key(flag: Option<&Path>, config: &crate::config::Config) -> Result<Option<PathBuf>> {
    if let Some(p) = flag
        .map(Path::to_path_buf)
        .or_else(|| config.signing_key.clone())
    {
        return Ok(Some(p));
    }
    let beside = config.base_dir.join(KEY_FILE);
    Ok(beside.is_file().then_some(beside))
}

/// The signing stage of a build: the tag manifest (which covers every payload hash through the
/// manifest) and the report, each signed on its exact bytes, and the public key to ship.
pub fn sign_bag(key: &Key, sealed: &Sealed) -> Result<Signatures> {
    Ok(Signatures {
        public_pem: key.public_pem()?,
        tagmanifest: key.sign(sealed.tagmanifest()).to_vec(),
        report: sealed.report().map(|pdf| key.sign(pdf).to_vec()),
        time_stamp: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_sign_verify_and_never_overwrite() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (key_path, pub_path, fp) = keygen(tmp.path()).unwrap();
        assert_eq!(
            std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fp.len(), 64);
        let key = Key::load(&key_path).unwrap();
        let sig = key.sign(b"tag manifest");
        let public = parse_public_pem(&std::fs::read_to_string(&pub_path).unwrap()).unwrap();
        assert!(verify(&public, b"tag manifest", &sig));
        assert!(!verify(&public, b"tag manifesT", &sig));
        assert!(!verify(&public, b"tag manifest", &sig[..63]));
        assert!(matches!(keygen(tmp.path()), Err(Error::Exists { .. })));
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            Key::load(&key_path)
                .unwrap_err()
                .to_string()
                .contains("readable by every user")
        );
    }
}
