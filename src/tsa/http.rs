//! Asking a time-stamp authority over HTTP (RFC 3161 §3.4). In: the TSA's `http://` URL and the
//! DER request. Out: the reply's bytes, or an error naming the URL and what went wrong (no answer,
//! an HTTP error, a body that is not a time-stamp reply). Guarantees: one POST, a 15-second limit
//! on the whole exchange, a reply body of at most 1 MiB; nothing is retried. `https://` is refused
//! with a hint: the token is signed, so plain HTTP cannot forge it, and dossier builds no TLS.

use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REPLY: u64 = 1 << 20;

/// POST `request` to `url`; the reply body.
pub fn post(url: &str, request: &[u8]) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err(
            "only http:// time-stamp authorities are supported (the token is signed by the TSA, \
             so HTTP cannot alter it unnoticed)"
                .into(),
        );
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut reply = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .send(request)
        .map_err(|e| format!("no reply: {e}"))?;
    let status = reply.status();
    if !status.is_success() {
        return Err(format!("answered HTTP {status}"));
    }
    reply
        .body_mut()
        .with_config()
        .limit(MAX_REPLY)
        .read_to_vec()
        .map_err(|e| format!("cannot read the reply: {e}"))
}
