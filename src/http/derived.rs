//! `GET /v1/derived/{transform}/{source_key...}`: ensure-on-read, then a 302 to a
//! presigned URL (S3) or the bytes (embedded).
//!
//! A transform with variants answers with the one the client's `Accept` prefers
//! ([`super::accept`]), `Vary: Accept` on every answer, 406 when it accepts none; only
//! that variant is ensured (and regenerated if need be).
//!
//! Who may read: the bearer token's holder, or (with `http.url_signing_key`) anyone with
//! a valid signed URL ([`super::signing`]). The 302's `Cache-Control` never outlives the
//! presigned URL it points at, nor the signed URL that asked for it: a CDN must not serve a
//! redirect to a dead URL, nor keep serving a read whose signature has expired.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::signing::{self, SignatureError};
use super::{authorised, error, HttpState};
use crate::derive::DeriveError;
use crate::engine::{EngineError, Fault};
use crate::ensure::{EnsureError, Present};

#[derive(serde::Deserialize)]
pub(super) struct DerivedQuery {
    bucket: Option<String>,
}

/// How long a presigned URL lives, and how much of it a cached redirect may not use (for
/// clocks and transit): a redirect is cacheable for at most the difference.
const PRESIGNED_FOR: Duration = Duration::from_secs(300);
const PRESIGN_MARGIN_SECS: u64 = 60;

pub(super) async fn get(
    State(s): State<HttpState>,
    headers: HeaderMap,
    uri: Uri,
    Path((transform, source)): Path<(String, String)>,
    Query(q): Query<DerivedQuery>,
) -> Response {
    let signed_until = match access(&s, &headers, &uri) {
        Ok(until) => until,
        Err((status, why)) => return error(status, why),
    };
    let chosen = variant(&s, &headers, &transform);
    // A 406 varies by Accept too: only a transform without variants does not.
    let varies = !matches!(chosen, Ok((_, false)));
    let mut resp = match chosen {
        Ok((name, _)) => match s.ensurer.ensure(q.bucket.as_deref(), &name, &source).await {
            Ok(present) => serve(&s, present, signed_until).await,
            Err(e) => refusal(&e),
        },
        Err(why) => error(StatusCode::NOT_ACCEPTABLE, why),
    };
    if varies {
        let vary = header::HeaderValue::from_static("accept");
        resp.headers_mut().insert(header::VARY, vary);
    }
    resp
}

/// What to ensure for `transform`: itself, or (for one with variants) the variant `Accept`
/// prefers, `name.ext`; with whether the answer varies by `Accept`. Why not, when no
/// variant is acceptable (a 406).
fn variant(s: &HttpState, headers: &HeaderMap, transform: &str) -> Result<(String, bool), String> {
    let t = match s.admission.catalogue.get(transform) {
        Some(t) if !t.variants.is_empty() && !t.is_variant => t,
        _ => return Ok((transform.to_string(), false)),
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let offered = t.formats();
    match super::accept::negotiate(accept, &offered) {
        Some(f) => Ok((format!("{transform}.{}", f.extension()), true)),
        None => {
            let types: Vec<_> = offered.iter().map(|f| f.mime()).collect();
            Err(format!(
                "{transform} is made as {}; Accept allows none",
                types.join(", ")
            ))
        }
    }
}

/// Whether the request may read: `Ok(Some(expiry))` for a valid signed URL, `Ok(None)` for
/// the bearer token (or an open API), else the refusal. A URL that carries a signature is
/// judged by it alone, so a bad one is a 403 even beside a token.
fn access(
    s: &HttpState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Option<u64>, (StatusCode, String)> {
    let Some(signer) = &s.signer else {
        return match authorised(s, headers) {
            true => Ok(None),
            false => Err((
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token".into(),
            )),
        };
    };
    let now = signing::now();
    match signer.verify(Method::GET.as_str(), uri.path(), uri.query(), now) {
        Ok(expires) => Ok(Some(expires)),
        Err(SignatureError::Missing) if s.auth_token.is_some() && authorised(s, headers) => {
            Ok(None)
        }
        Err(SignatureError::Missing) => Err((
            StatusCode::UNAUTHORIZED,
            "a signed URL (expires, sig) or the bearer token is required".into(),
        )),
        Err(e) => Err((StatusCode::FORBIDDEN, e.to_string())),
    }
}

/// The status a refusal answers with: the client's mistakes 4xx, ours or a backend's 5xx.
fn refusal(e: &EnsureError) -> Response {
    let status = match e {
        EnsureError::UnknownTransform(_) | EnsureError::SourceMissing(_) => StatusCode::NOT_FOUND,
        EnsureError::BadRequest(_) => StatusCode::BAD_REQUEST,
        EnsureError::Derive(d) => match d.as_ref() {
            DeriveError::NotAccepted(_) | DeriveError::UnknownTransform(_) => {
                StatusCode::BAD_REQUEST
            }
            DeriveError::SourceMissing(_) => StatusCode::NOT_FOUND,
            DeriveError::Engine(EngineError::UnsupportedFormat(_)) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            // Corrupt, over a limit: the source cannot be rendered, whoever asks.
            other if other.fault() == Fault::Client => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        },
    };
    error(status, e.to_string())
}

/// `Cache-Control` of a redirect to a URL presigned now for [`PRESIGNED_FOR`], asked for
/// by a URL signed until `signed_until` (if signed).
fn redirect_cache_control(signed_until: Option<u64>, now: u64) -> String {
    let presigned = PRESIGNED_FOR.as_secs() - PRESIGN_MARGIN_SECS;
    let signed = signed_until.map_or(u64::MAX, |e| e.saturating_sub(now));
    format!("public, max-age={}", presigned.min(signed))
}

async fn serve(s: &HttpState, p: Present, signed_until: Option<u64>) -> Response {
    match s.store.presign_get(&p.bucket, &p.key, PRESIGNED_FOR).await {
        Ok(Some(url)) => {
            let cc = redirect_cache_control(signed_until, signing::now());
            let headers = [(header::LOCATION, url), (header::CACHE_CONTROL, cc)];
            return (StatusCode::FOUND, headers).into_response();
        }
        Ok(None) => {}
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
    match s.store.get(&p.bucket, &p.key).await {
        Ok(Some(obj)) => {
            let ct = obj
                .meta
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into());
            let mut resp = obj.bytes.into_response();
            // A signed read is cacheable only while its signature is valid.
            let now = signing::now();
            let cc = match signed_until {
                Some(e) => Some(format!("public, max-age={}", e.saturating_sub(now))),
                None => obj.meta.cache_control,
            };
            let headers = [
                (header::CONTENT_TYPE, Some(ct)),
                (header::CACHE_CONTROL, cc),
            ];
            for (k, v) in headers {
                if let Some(v) = v.and_then(|v| v.parse().ok()) {
                    resp.headers_mut().insert(k, v);
                }
            }
            resp
        }
        Ok(None) => error(StatusCode::SERVICE_UNAVAILABLE, "object vanished; retry"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_redirect_outlives_neither_the_presigned_nor_the_signed_url() {
        assert_eq!(redirect_cache_control(None, 1_000), "public, max-age=240");
        assert_eq!(
            redirect_cache_control(Some(5_000), 1_000),
            "public, max-age=240"
        );
        assert_eq!(
            redirect_cache_control(Some(1_100), 1_000),
            "public, max-age=100"
        );
        // Accepted within the skew after expiry: cacheable for no time at all.
        assert_eq!(
            redirect_cache_control(Some(990), 1_000),
            "public, max-age=0"
        );
    }
}
