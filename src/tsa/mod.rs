//! RFC 3161 time-stamps (issue 16, first part: the messages). In: the exact bytes to stamp (the
//! tag manifest's signature), or a time-stamp authority's reply. Out: a DER `TimeStampReq`
//! (SHA-256 imprint, a nonce, certReq), and from a reply its token (DER `ContentInfo`) and the
//! TSA's genTime. The bundle stores the whole reply (`signature/tagmanifest-sha256.txt.sig.tsr`,
//! DER `TimeStampResp`, as `openssl ts -reply` writes it), so stock `openssl ts -verify -in` reads it.
//! Guarantees: a reply is accepted only if its status is granted, its token is CMS SignedData
//! holding a TSTInfo whose imprint is SHA-256 of exactly those bytes and whose nonce is ours; any
//! other reply is an error saying which check failed. The TSA's signature is checked by
//! `openssl ts -verify` (and, later, `dossier verify`); not here.

mod check;
mod http;

pub use check::{certificates, signature_and_chain};
pub use http::post;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{Int, OctetString};
use der::oid::db::rfc5912::ID_SHA_256;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// id-ct-TSTInfo (RFC 3161 §2.4.2).
const ID_CT_TST_INFO: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// A time-stamp token accepted for `data`.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token as the bundle stores it (DER `ContentInfo`).
    pub der: Vec<u8>,
    /// The TSA's genTime, RFC 3339 UTC.
    pub gen_time: String,
}

/// Why a request could not be made or a reply is not a token for our data.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TsaError {
    #[error("cannot encode the time-stamp request: {0}")]
    Encode(String),
    #[error("the reply is not an RFC 3161 TimeStampResp: {0}")]
    Malformed(String),
    #[error("the TSA refused the request (status {0})")]
    Refused(String),
    #[error("the token's message imprint is not SHA-256 of the stamped signature")]
    WrongImprint,
    #[error("the token's nonce is not the request's")]
    WrongNonce,
}

/// What a build keeps of a time-stamp: the TSA's reply (DER) and its certificates (PEM).
#[derive(Debug, Clone)]
pub struct Stamped {
    pub reply: Vec<u8>,
    pub chain_pem: String,
    pub gen_time: String,
}

/// Ask `tsa` to stamp `data` (the tag manifest's signature) and check its reply: our imprint and
/// nonce, and — when `tsa.ca` is set — the TSA's signature and chain to that root.
pub fn stamp(tsa: &crate::config::Tsa, data: &[u8]) -> crate::error::Result<Stamped> {
    let fail = |message: String| crate::error::Error::Tsa {
        url: tsa.url.clone(),
        message,
    };
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| fail(format!("no randomness for a nonce: {e}")))?;
    let nonce = u64::from_be_bytes(nonce);
    let query = request(data, nonce).map_err(|e| fail(e.to_string()))?;
    let reply = post(&tsa.url, &query).map_err(fail)?;
    let token = accept(&reply, data, nonce).map_err(|e| fail(e.to_string()))?;
    let info = ContentInfo::from_der(&token.der).map_err(|e| fail(e.to_string()))?;
    let certs = certificates(&info);
    if let Some(ca) = &tsa.ca {
        let roots = load_pem_certificates(ca)?;
        let at = token_info(&info).map_err(|e| fail(e.to_string()))?.gen_time;
        signature_and_chain(&info, &[], &roots, at)
            .map_err(|m| fail(format!("{m} (checked against {})", ca.display())))?;
    }
    let mut chain_pem = String::new();
    for cert in &certs {
        use der::EncodePem;
        let pem = cert
            .to_pem(der::pem::LineEnding::LF)
            .map_err(|e| fail(e.to_string()))?;
        chain_pem.push_str(&pem);
    }
    Ok(Stamped {
        reply,
        chain_pem,
        gen_time: token.gen_time,
    })
}

/// Every certificate of a PEM file (a root, or a chain).
pub fn load_pem_certificates(
    path: &std::path::Path,
) -> crate::error::Result<Vec<cms::cert::x509::Certificate>> {
    let bytes = crate::fsio::read_small(path, "certificate file")?;
    let certs = cms::cert::x509::Certificate::load_pem_chain(&bytes).map_err(|e| {
        crate::error::Error::Sign {
            path: path.to_path_buf(),
            message: format!("not PEM certificates: {e}"),
        }
    })?;
    if certs.is_empty() {
        return Err(crate::error::Error::Sign {
            path: path.to_path_buf(),
            message: "holds no certificate".into(),
        });
    }
    Ok(certs)
}

/// A DER TimeStampReq for SHA-256 of `data`, asking for the TSA's certificate.
pub fn request(data: &[u8], nonce: u64) -> Result<Vec<u8>, TsaError> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint(data)?,
        req_policy: None,
        nonce: Some(nonce_int(nonce)?),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(|e| TsaError::Encode(e.to_string()))
}

fn imprint(data: &[u8]) -> Result<MessageImprint, TsaError> {
    Ok(MessageImprint {
        hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifier {
            oid: ID_SHA_256,
            parameters: Some(der::Any::null()),
        },
        hashed_message: OctetString::new(Sha256::digest(data).to_vec())
            .map_err(|e| TsaError::Encode(e.to_string()))?,
    })
}

/// The nonce as a DER INTEGER: minimal bytes, and a leading zero only where the top bit is set
/// (a positive number; OpenSSL refuses any other padding).
fn nonce_int(nonce: u64) -> Result<Int, TsaError> {
    let be = nonce.to_be_bytes();
    let first = be.iter().position(|b| *b != 0).unwrap_or(be.len() - 1);
    let mut bytes = Vec::with_capacity(9);
    if be.get(first).is_some_and(|b| b & 0x80 != 0) {
        bytes.push(0);
    }
    bytes.extend_from_slice(be.get(first..).unwrap_or_default());
    Int::new(&bytes).map_err(|e| TsaError::Encode(e.to_string()))
}

/// The token of a TSA's `reply` to `request(data, nonce)`, checked against both.
pub fn accept(reply: &[u8], data: &[u8], nonce: u64) -> Result<Token, TsaError> {
    let malformed = |e: der::Error| TsaError::Malformed(e.to_string());
    let resp = TimeStampResp::from_der(reply).map_err(malformed)?;
    // granted (0) or grantedWithMods (1)
    let status = resp.status.status as u8;
    if status > 1 {
        return Err(TsaError::Refused(format!("{:?}", resp.status.status)));
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| TsaError::Malformed("a granted reply without a token".into()))?;
    let info = token_info(&token)?;
    if info.message_imprint != imprint(data)? {
        return Err(TsaError::WrongImprint);
    }
    if info.nonce.as_ref().map(strip) != Some(strip(&nonce_int(nonce)?)) {
        return Err(TsaError::WrongNonce);
    }
    Ok(Token {
        der: token.to_der().map_err(malformed)?,
        gen_time: gen_time(&info),
    })
}

/// The token of a stored reply (a `.tsr`), without checking what it stamps.
pub fn reply_token(reply: &[u8]) -> Result<(ContentInfo, TstInfo), TsaError> {
    let resp = TimeStampResp::from_der(reply).map_err(|e| TsaError::Malformed(e.to_string()))?;
    let token = resp
        .time_stamp_token
        .ok_or_else(|| TsaError::Malformed("a reply without a token".into()))?;
    let info = token_info(&token)?;
    Ok((token, info))
}

/// Whether a token's TSTInfo stamps exactly `data` (SHA-256 imprint).
pub fn stamps(info: &TstInfo, data: &[u8]) -> bool {
    imprint(data).is_ok_and(|i| i == info.message_imprint)
}

/// An INTEGER's bytes without leading zeros (DER may or may not keep ours).
fn strip(i: &Int) -> Vec<u8> {
    let b = i.as_bytes();
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default().to_vec()
}

/// The TSTInfo inside a token (CMS SignedData, eContentType id-ct-TSTInfo).
pub fn token_info(token: &ContentInfo) -> Result<TstInfo, TsaError> {
    let malformed = |e: der::Error| TsaError::Malformed(e.to_string());
    let signed =
        SignedData::from_der(&token.content.to_der().map_err(malformed)?).map_err(malformed)?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TsaError::Malformed(
            "the token does not hold a TSTInfo".into(),
        ));
    }
    let content = signed
        .encap_content_info
        .econtent
        .ok_or_else(|| TsaError::Malformed("the token's TSTInfo is empty".into()))?;
    TstInfo::from_der(content.value()).map_err(malformed)
}

pub fn gen_time(info: &TstInfo) -> String {
    let t = info.gen_time.to_date_time();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minutes(),
        t.seconds()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl is needed (.ci/run installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A throwaway root and TSA (fixtures/tsa/make-tsa.sh) in `dir`; its `openssl ts` config.
    fn throwaway_tsa(dir: &Path) -> std::path::PathBuf {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tsa/make-tsa.sh");
        let out = Command::new("sh")
            .arg(script)
            .arg(dir)
            .arg("ec")
            .output()
            .expect("sh and openssl are needed (.ci/run installs openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("tsa.cnf")
    }

    fn reply(dir: &Path, config: &Path, request: &[u8]) -> Vec<u8> {
        std::fs::write(dir.join("req.der"), request).unwrap();
        let config = config.to_str().unwrap();
        openssl(
            dir,
            &[
                "ts",
                "-reply",
                "-config",
                config,
                "-queryfile",
                "req.der",
                "-out",
                "resp.der",
            ],
        );
        std::fs::read(dir.join("resp.der")).unwrap()
    }

    #[test]
    fn a_real_tsa_reply_is_accepted_and_stock_openssl_verifies_the_stored_token() {
        let dir = tempfile::tempdir().unwrap();
        let config = throwaway_tsa(dir.path());
        let signature = b"the 64 bytes of an Ed25519 signature, or any bytes at all";
        let nonce = 0x8000_0000_0000_0001;
        let answer = reply(dir.path(), &config, &request(signature, nonce).unwrap());
        let token = accept(&answer, signature, nonce).unwrap();
        // genTime is now, to the second, in UTC.
        let now = chrono::Utc::now();
        let stamped = chrono::DateTime::parse_from_rfc3339(&token.gen_time).unwrap();
        assert!(
            (now - stamped.with_timezone(&chrono::Utc))
                .num_seconds()
                .abs()
                < 60,
            "{token:?}"
        );

        // What an auditor runs on the bundle's .tsr (the token, not the whole reply).
        std::fs::write(dir.path().join("data.bin"), signature).unwrap();
        std::fs::write(dir.path().join("token.tsr"), &token.der).unwrap();
        openssl(
            dir.path(),
            &[
                "ts",
                "-verify",
                "-data",
                "data.bin",
                "-in",
                "token.tsr",
                "-token_in",
                "-CAfile",
                "ca.pem",
                "-untrusted",
                "tsa.pem",
            ],
        );

        // Another signature's token, another nonce: each caught.
        assert_eq!(
            accept(&answer, b"other bytes", nonce).unwrap_err(),
            TsaError::WrongImprint
        );
        assert_eq!(
            accept(&answer, signature, nonce + 1).unwrap_err(),
            TsaError::WrongNonce
        );
        assert!(matches!(
            accept(b"\x30\x03\x02\x01", signature, nonce),
            Err(TsaError::Malformed(_))
        ));
        // Nonces with and without the top bit, short and zero: OpenSSL takes every one.
        for nonce in [
            0,
            1,
            0x7f,
            0x80,
            0x00ff_ffff,
            0x7fff_ffff_ffff_ffff,
            u64::MAX,
        ] {
            let answer = reply(dir.path(), &config, &request(signature, nonce).unwrap());
            accept(&answer, signature, nonce).unwrap_or_else(|e| panic!("{nonce:#x}: {e}"));
        }
    }
}
