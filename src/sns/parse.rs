//! Reading a request into an envelope: the body under its size limit, the JSON object, and
//! the certificate URL's region against the topic's.

use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::{BodyExt, Limited};

use super::envelope::Envelope;
use super::url::SnsUrl;
use super::{forbid, reason, reject, Rejection, MAX_BODY_BYTES};

/// The body, refused over [`MAX_BODY_BYTES`].
pub(super) async fn read_body(body: Body) -> Result<bytes::Bytes, Rejection> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(forbid(reason::TOO_LARGE, format!("over {MAX_BODY_BYTES}")))
        }
        Err(e) => Err(reject(
            StatusCode::BAD_REQUEST,
            reason::NOT_JSON,
            e.to_string(),
        )),
    }
}

pub(super) fn parse_envelope(bytes: &[u8]) -> Result<Envelope, Rejection> {
    // An object only: serde would also fill a struct from a JSON array, by position.
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        return Err(forbid(reason::MALFORMED, "a JSON array"));
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => forbid(reason::MALFORMED, e.to_string()),
        _ => reject(StatusCode::BAD_REQUEST, reason::NOT_JSON, e.to_string()),
    })
}

/// The certificate must come from the topic's own region: an allowed (public) topic ARN
/// must not let anyone make derivd fetch from every SNS region. `.amazonaws.com.cn` only
/// for the China regions.
pub(super) fn cert_in_topic_region(cert_url: &SnsUrl, topic: &str) -> Result<(), Rejection> {
    let region = topic.split(':').nth(3).unwrap_or_default();
    let host = cert_url.host();
    let expected = match region.starts_with("cn-") {
        true => format!("sns.{region}.amazonaws.com.cn"),
        false => format!("sns.{region}.amazonaws.com"),
    };
    if host != expected {
        return Err(forbid(
            reason::BAD_CERT_URL,
            format!("certificate host {host} is not in the topic's region {region}"),
        ));
    }
    Ok(())
}
