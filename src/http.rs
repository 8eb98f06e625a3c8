//! The HTTP API (axum): catalogue, job submission, health, readiness, metrics.
//!
//! `POST /v1/jobs` needs `Authorization: Bearer <http.auth_token>` when a token is
//! configured (it must be when listening beyond loopback). Bodies are size-limited.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::app::App;
use crate::job::{parse_message, Incoming, TransformSelection};

pub fn router(app: Arc<App>) -> Router {
    let limit = app.cfg.http.max_body_bytes;
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/catalogue", get(catalogue))
        .route("/v1/catalogue/{kind}/{subtype}", get(catalogue_for_type))
        .route("/v1/jobs", post(submit_job))
        .route("/v1/derived/{transform}/{*source}", get(derived))
        .merge(crate::sns::router(app.clone()))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    // HEAD of the catalogue derivd wrote at start-up: proves the derived bucket answers
    // with permissions derivd already has (HeadBucket would need an unconditioned
    // s3:ListBucket, which the least-privilege policy does not grant).
    for m in app.cfg.bucket_mappings() {
        let key = crate::keys::KeyLayout::new(m.prefix.clone()).catalogue_key();
        if let Err(e) = app.store.head(m.derived(), &key).await {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("object store: {e}"),
            );
        }
    }
    if let Err(e) = app.jobs.check().await {
        return error(StatusCode::SERVICE_UNAVAILABLE, format!("job queue: {e}"));
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

async fn catalogue(State(app): State<Arc<App>>) -> Response {
    Json(app.catalogue_view()).into_response()
}

async fn catalogue_for_type(
    State(app): State<Arc<App>>,
    Path((kind, subtype)): Path<(String, String)>,
) -> Response {
    match app
        .catalogue_view()
        .for_media_type(&format!("{kind}/{subtype}"))
    {
        Some(v) => Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("{kind}/{subtype} is not an accepted media type"),
        ),
    }
}

fn authorised(app: &App, headers: &HeaderMap) -> bool {
    let Some(token) = &app.cfg.http.auth_token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant-time comparison: the token is a secret.
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Validates a job message as the worker would, then enqueues it unchanged.
async fn submit_job(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    if !authorised(&app, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let jobs = match parse_message(&body).as_deref() {
        Ok([Incoming::Jobs(jobs)]) => jobs.clone(),
        Ok(_) => return error(StatusCode::BAD_REQUEST, "not a job message"),
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    for job in &jobs {
        let bucket = job
            .bucket
            .as_deref()
            .unwrap_or(&app.cfg.storage.default_bucket);
        if app.cfg.bucket(bucket).is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("bucket {bucket:?} is not allowed"),
            );
        }
        if app.skip_reason(job).is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                "source lies under the derived prefix",
            );
        }
        if let TransformSelection::Named(names) = &job.transforms {
            if let Some(n) = names.iter().find(|n| app.catalogue.get(n).is_none()) {
                return error(StatusCode::BAD_REQUEST, format!("unknown transform {n:?}"));
            }
        }
    }
    match app.jobs.send(&body).await {
        Ok(id) => (StatusCode::ACCEPTED, Json(json!({ "message_id": id }))).into_response(),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("enqueue failed: {e}"),
        ),
    }
}

#[derive(serde::Deserialize)]
struct DerivedQuery {
    bucket: Option<String>,
}

/// Ensure-on-read: 302 to a presigned URL (S3) or the bytes (embedded).
async fn derived(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((transform, source)): Path<(String, String)>,
    Query(q): Query<DerivedQuery>,
) -> Response {
    use crate::ensure::Ensured;
    if !authorised(&app, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let bucket = q
        .bucket
        .unwrap_or_else(|| app.cfg.storage.default_bucket.clone());
    let Some(mapping) = app.cfg.bucket(&bucket) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("bucket {bucket:?} is not allowed"),
        );
    };
    let (bucket, key) = match app.ensure.ensure(&app, &mapping, &transform, &source).await {
        Ensured::Present { bucket, key } => (bucket, key),
        Ensured::UnknownTransform => {
            return error(
                StatusCode::NOT_FOUND,
                format!("unknown transform {transform:?}"),
            )
        }
        Ensured::SourceMissing => return error(StatusCode::NOT_FOUND, "source not found"),
        Ensured::NotAccepted(m) | Ensured::BadRequest(m) => {
            return error(StatusCode::BAD_REQUEST, m)
        }
        Ensured::Failed(m) => return error(StatusCode::SERVICE_UNAVAILABLE, m),
    };
    match app
        .store
        .presign_get(&bucket, &key, std::time::Duration::from_secs(300))
        .await
    {
        Ok(Some(url)) => return (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Ok(None) => {}
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
    match app.store.get(&bucket, &key).await {
        Ok(Some(obj)) => {
            let ct = obj
                .meta
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into());
            let mut h = vec![(header::CONTENT_TYPE, ct)];
            if let Some(cc) = obj.meta.cache_control {
                h.push((header::CACHE_CONTROL, cc));
            }
            let mut resp = obj.bytes.into_response();
            for (k, v) in h {
                if let Ok(v) = v.parse() {
                    resp.headers_mut().insert(k, v);
                }
            }
            resp
        }
        Ok(None) => error(StatusCode::SERVICE_UNAVAILABLE, "object vanished; retry"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
