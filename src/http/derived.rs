//! `GET /v1/derived/{transform}/{source_key...}`: ensure-on-read, then a 302 to a
//! presigned URL (S3) or the bytes (embedded).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{authorised, error, HttpState};
use crate::derive::DeriveError;
use crate::engine::{EngineError, Fault};
use crate::ensure::{EnsureError, Present};

#[derive(serde::Deserialize)]
pub(super) struct DerivedQuery {
    bucket: Option<String>,
}

pub(super) async fn get(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Path((transform, source)): Path<(String, String)>,
    Query(q): Query<DerivedQuery>,
) -> Response {
    if !authorised(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    match s
        .ensurer
        .ensure(q.bucket.as_deref(), &transform, &source)
        .await
    {
        Ok(present) => serve(&s, present).await,
        Err(e) => refusal(&e),
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

async fn serve(s: &HttpState, p: Present) -> Response {
    let expires = std::time::Duration::from_secs(300);
    match s.store.presign_get(&p.bucket, &p.key, expires).await {
        Ok(Some(url)) => return (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
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
            let headers = [
                (header::CONTENT_TYPE, Some(ct)),
                (header::CACHE_CONTROL, obj.meta.cache_control),
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
