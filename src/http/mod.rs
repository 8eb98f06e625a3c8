//! The HTTP API (axum): catalogue, job submission, ensure-on-read, source facts, health,
//! readiness, metrics, and (merged in) `POST /v1/sns`.
//!
//! Write and compute routes need `Authorization: Bearer <http.auth_token>` when a token is
//! configured (it must be when listening beyond loopback); without one, [`guard`] keeps
//! browsers out. Bodies are size-limited; [`serve`] bounds connections and read times. The
//! router sees only [`HttpState`]: what the routes need, nothing more.

pub mod accept;
mod derived;
pub mod guard;
mod jobs;
pub mod serve;
pub mod signing;
mod sources;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::json;

use crate::catalogue::view::CatalogueView;
use crate::derive::Admission;
use crate::ensure::Ensurer;
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::storage::ObjectStore;

/// What the routes use.
#[derive(Clone)]
pub struct HttpState {
    pub admission: Admission,
    pub catalogue: Arc<CatalogueView>,
    pub jobs: Arc<dyn Queue>,
    pub store: Arc<dyn ObjectStore>,
    pub ensurer: Arc<Ensurer>,
    pub metrics: Metrics,
    pub auth_token: Option<String>,
    pub max_body_bytes: usize,
    /// `http.allowed_hosts`, checked when there is no token ([`guard`]).
    pub allowed_hosts: Vec<String>,
    /// `http.url_signing_key`: signed URLs for `GET /v1/derived/…` ([`signing`]).
    pub signer: Option<Arc<signing::UrlSigner>>,
}

/// What a listener serves: always the operational routes (`/healthz`, `/readyz`,
/// `/metrics`, so probes and scrapers reach every process, job workers included); with
/// `api` (the `http` role) also the API and `sns`, the `/v1/sns` route, merged in.
pub fn router(state: HttpState, api: Option<Router>) -> Router {
    let limit = state.max_body_bytes;
    let hosts = guard::HostGuard::new(state.auth_token.as_deref(), &state.allowed_hosts);
    let submit = post(jobs::submit).route_layer(middleware::from_fn(guard::require_json));
    let ops = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    let Some(sns) = api else {
        let guarded = ops.layer(middleware::from_fn_with_state(hosts, guard::check_host));
        return guarded.with_state(state);
    };
    ops.route("/v1/catalogue", get(catalogue))
        .route("/v1/catalogue/{kind}/{subtype}", get(catalogue_for_type))
        .route("/v1/jobs", submit)
        .route("/v1/derived/{transform}/{*source}", get(derived::get))
        .route("/v1/sources/{*source}", get(sources::get))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(hosts, guard::check_host))
        .with_state(state)
        .merge(sns)
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn readyz(State(s): State<HttpState>) -> Response {
    // HEAD of the catalogue derivd wrote at start-up: proves the derived bucket answers
    // with permissions derivd already has (HeadBucket would need an unconditioned
    // s3:ListBucket, which the least-privilege policy does not grant).
    for m in s.admission.buckets.all() {
        if let Err(e) = s.store.head(&m.derived, &m.layout.catalogue_key()).await {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("object store: {e}"),
            );
        }
    }
    if let Err(e) = s.jobs.check().await {
        return error(StatusCode::SERVICE_UNAVAILABLE, format!("job queue: {e}"));
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metrics(State(s): State<HttpState>) -> Response {
    let ct = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    (ct, s.metrics.render()).into_response()
}

async fn catalogue(State(s): State<HttpState>) -> Response {
    Json(s.catalogue.as_ref()).into_response()
}

async fn catalogue_for_type(
    State(s): State<HttpState>,
    Path((kind, subtype)): Path<(String, String)>,
) -> Response {
    match s.catalogue.for_media_type(&format!("{kind}/{subtype}")) {
        Some(v) => Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("{kind}/{subtype} is not an accepted media type"),
        ),
    }
}

/// Whether the request carries the configured bearer token (any when none is set). The
/// scheme is case-insensitive (RFC 7235); the comparison takes the same time whatever
/// the given token, so it leaks neither content nor length.
pub(crate) fn authorised(s: &HttpState, headers: &HeaderMap) -> bool {
    check_token(s.auth_token.as_deref(), headers)
}

fn check_token(token: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(token) = token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, t)| t.trim());
    use sha2::Digest;
    let (a, b) = (sha2::Sha256::digest(given), sha2::Sha256::digest(token));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    fn allows(token: Option<&str>, auth: Option<&str>) -> bool {
        let token = token.map(str::to_string);
        let h = auth.map(headers).unwrap_or_default();
        check_token(token.as_deref(), &h)
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_the_token_must_match_exactly() {
        let t = Some("0123456789abcdef");
        assert!(allows(None, None));
        assert!(allows(t, Some("Bearer 0123456789abcdef")));
        assert!(allows(t, Some("bearer 0123456789abcdef")));
        assert!(allows(t, Some("BEARER 0123456789abcdef")));
        assert!(!allows(t, None));
        assert!(!allows(t, Some("Basic 0123456789abcdef")));
        assert!(!allows(t, Some("Bearer 0123456789abcde")));
        assert!(!allows(t, Some("Bearer 0123456789abcdef0")));
        assert!(!allows(t, Some("Bearer ")));
    }
}
