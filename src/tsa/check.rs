//! Checking a time-stamp token's signature (RFC 3161 §2.4.2, CMS RFC 5652 §5.4–5.6) and the
//! TSA's certificate chain up to a root the verifier trusts. In: the token, certificates that may
//! complete the chain (the token's own and `signature/tsa-chain.pem`), the trusted roots
//! (`--tsa-ca`), and the token's genTime. Out: `Ok`, or the first check that failed, in words.
//! Guarantees: the signed attributes must carry the SHA-2 digest of the TSTInfo; the signature is
//! checked with the signer certificate's own key (ECDSA P-256/P-384 or RSA PKCS #1 v1.5, SHA-256/
//! 384/512); every certificate up to the root must be valid at genTime and signed by the next;
//! the signer must be a time-stamping certificate (extended key usage `timeStamping`). Nothing is
//! fetched (no AIA, no CRL/OCSP): revocation is out of scope and said so in the docs.

use cms::cert::x509::Certificate;
use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData, SignerIdentifier};
use der::asn1::{GeneralizedTime, ObjectIdentifier as Oid};
use der::{Decode, Encode};
use sha2::Digest;

const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
const TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
const SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
/// How many certificates a chain may have, root included.
const MAX_CHAIN: usize = 8;

/// The certificates a token carries.
pub fn certificates(token: &ContentInfo) -> Vec<Certificate> {
    signed_data(token)
        .ok()
        .and_then(|sd| sd.certificates)
        .map(|set| certs_of(&set))
        .unwrap_or_default()
}

fn certs_of(set: &CertificateSet) -> Vec<Certificate> {
    set.0
        .iter()
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn signed_data(token: &ContentInfo) -> Result<SignedData, String> {
    let bytes = token.content.to_der().map_err(|e| e.to_string())?;
    SignedData::from_der(&bytes).map_err(|e| format!("not CMS SignedData: {e}"))
}

/// Check the token's signature and its signer's chain to one of `roots`.
pub fn signature_and_chain(
    token: &ContentInfo,
    untrusted: &[Certificate],
    roots: &[Certificate],
    at: GeneralizedTime,
) -> Result<(), String> {
    let sd = signed_data(token)?;
    let mut pool: Vec<Certificate> = sd.certificates.as_ref().map(certs_of).unwrap_or_default();
    pool.extend_from_slice(untrusted);
    let signer = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or("the token has no signer")?;
    let cert = pool
        .iter()
        .chain(roots)
        .find(|c| identifies(&signer.sid, c))
        .ok_or("the TSA's certificate is neither in the token nor in tsa-chain.pem")?;
    // The signed attributes carry the TSTInfo's digest; the signature covers them (as a SET OF).
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the token has no signed attributes (RFC 3161 requires them)")?;
    let content = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token holds no TSTInfo")?;
    let digest = hash(&signer.digest_alg.oid, content.value())?;
    let carried = attrs
        .iter()
        .find(|a| a.oid == MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
        .ok_or("the token's signed attributes have no message digest")?;
    if carried.as_bytes() != digest.as_slice() {
        return Err("the token's message digest is not that of its TSTInfo (altered)".into());
    }
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    verify(
        cert,
        (&signer.signature_algorithm.oid, &signer.digest_alg.oid),
        &signed,
        signer.signature.as_bytes(),
    )
    .map_err(|e| format!("the token's signature does not verify with the TSA's key: {e}"))?;
    if !is_time_stamping(cert) {
        return Err(
            "the signer's certificate is not for time-stamping (no timeStamping EKU)".into(),
        );
    }
    chain_to_root(cert, &pool, roots, at)
}

/// Walk issuers from `cert` to a trusted root, checking each signature and validity period.
fn chain_to_root(
    cert: &Certificate,
    pool: &[Certificate],
    roots: &[Certificate],
    at: GeneralizedTime,
) -> Result<(), String> {
    let mut current = cert.clone();
    for _ in 0..MAX_CHAIN {
        valid_at(&current, at)?;
        if roots.contains(&current) {
            return Ok(());
        }
        let issuer_name = &current.tbs_certificate.issuer;
        let issuer = roots
            .iter()
            .chain(pool)
            .find(|c| &c.tbs_certificate.subject == issuer_name && signs(c, &current))
            .ok_or_else(|| {
                format!(
                    "no trusted root (--tsa-ca) or given certificate issued `{}`",
                    current.tbs_certificate.subject
                )
            })?;
        current = issuer.clone();
    }
    Err(format!(
        "the TSA's chain is longer than {MAX_CHAIN} certificates"
    ))
}

fn signs(issuer: &Certificate, cert: &Certificate) -> bool {
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    let Some(signature) = cert.signature.as_bytes() else {
        return false;
    };
    let alg = &cert.signature_algorithm.oid;
    verify(issuer, (alg, alg), &tbs, signature).is_ok()
}

fn valid_at(cert: &Certificate, at: GeneralizedTime) -> Result<(), String> {
    let validity = &cert.tbs_certificate.validity;
    let t = at.to_unix_duration();
    if t < validity.not_before.to_unix_duration() || t > validity.not_after.to_unix_duration() {
        return Err(format!(
            "certificate `{}` was not valid at the token's genTime",
            cert.tbs_certificate.subject
        ));
    }
    Ok(())
}

fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            cert.tbs_certificate.issuer == isn.issuer
                && cert.tbs_certificate.serial_number == isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => extension(cert, &SUBJECT_KEY_ID)
            .and_then(|v| der::asn1::OctetString::from_der(v).ok())
            .is_some_and(|id| id.as_bytes() == ski.0.as_bytes()),
    }
}

fn extension<'c>(cert: &'c Certificate, oid: &Oid) -> Option<&'c [u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| &e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn is_time_stamping(cert: &Certificate) -> bool {
    extension(cert, &EXT_KEY_USAGE)
        .and_then(|v| Vec::<Oid>::from_der(v).ok())
        .is_some_and(|usages| usages.contains(&TIME_STAMPING))
}

fn hash(alg: &Oid, bytes: &[u8]) -> Result<Vec<u8>, String> {
    match *alg {
        SHA256 => Ok(sha2::Sha256::digest(bytes).to_vec()),
        SHA384 => Ok(sha2::Sha384::digest(bytes).to_vec()),
        SHA512 => Ok(sha2::Sha512::digest(bytes).to_vec()),
        other => Err(format!("unsupported digest algorithm {other}")),
    }
}

/// Does `signature` sign `message` under `cert`'s key? `algs`: the signature algorithm and, for
/// a bare `rsaEncryption`, the digest algorithm.
fn verify(
    cert: &Certificate,
    algs: (&Oid, &Oid),
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let key_der = spki.to_der().map_err(|e| e.to_string())?;
    let digest = match *algs.0 {
        ECDSA_SHA256 | RSA_SHA256 => SHA256,
        ECDSA_SHA384 | RSA_SHA384 => SHA384,
        ECDSA_SHA512 | RSA_SHA512 => SHA512,
        RSA => *algs.1,
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    let prehash = hash(&digest, message)?;
    if spki.algorithm.oid == EC_PUBLIC_KEY {
        return ecdsa(&key_der, &prehash, signature);
    }
    if spki.algorithm.oid != RSA {
        return Err(format!("unsupported key type {}", spki.algorithm.oid));
    }
    use rsa::pkcs8::DecodePublicKey;
    let key = rsa::RsaPublicKey::from_public_key_der(&key_der).map_err(|e| e.to_string())?;
    let scheme = match digest {
        SHA256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        SHA384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        _ => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
    };
    key.verify(scheme, &prehash, signature)
        .map_err(|e| e.to_string())
}

fn ecdsa(key_der: &[u8], prehash: &[u8], signature: &[u8]) -> Result<(), String> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::pkcs8::DecodePublicKey;
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(key_der) {
        let sig = p256::ecdsa::Signature::from_der(signature).map_err(|e| e.to_string())?;
        return key.verify_prehash(prehash, &sig).map_err(|e| e.to_string());
    }
    let key = p384::ecdsa::VerifyingKey::from_public_key_der(key_der)
        .map_err(|_| "unsupported elliptic curve (P-256 and P-384 are)".to_string())?;
    let sig = p384::ecdsa::Signature::from_der(signature).map_err(|e| e.to_string())?;
    key.verify_prehash(prehash, &sig).map_err(|e| e.to_string())
}
