//! `GET /v1/sources/{source_key...}`: a source's public facts as its manifest records
//! them — media type, upright size, placeholders and the derived objects with their keys —
//! so a page can lay out and paint an image before fetching any of its renditions.
//!
//! It reads only the manifest (one GET), never the source: a source that was never
//! rendered, or whose manifest predates the facts, answers 404 / without `facts`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::{authorised, error, HttpState};
use crate::manifest::{self, Manifest, SourceFacts};

#[derive(serde::Deserialize)]
pub(super) struct SourceQuery {
    bucket: Option<String>,
}

/// The answer: the manifest's public part (no digests, no fields of newer versions).
#[derive(Serialize)]
struct SourceView<'a> {
    source_key: &'a str,
    source_etag: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    facts: Option<&'a SourceFacts>,
    derived: BTreeMap<&'a str, DerivedView<'a>>,
}

#[derive(Serialize)]
struct DerivedView<'a> {
    key: &'a str,
    content_type: &'a str,
    bytes: u64,
    width: u32,
    height: u32,
    /// Whether it was made from the version of the source the manifest describes.
    current_source: bool,
}

pub(super) async fn get(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Path(source): Path<String>,
    Query(q): Query<SourceQuery>,
) -> Response {
    if !authorised(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let mapping = match s.admission.buckets.get(q.bucket.as_deref()) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if let Err(e) = mapping.layout.check_source(&source) {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    let store = s.store.as_ref();
    match manifest::read(store, &mapping.derived, &mapping.layout, &source).await {
        Ok(Some((m, _etag))) => Json(view(&m)).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no manifest for source {source:?}: nothing derived from it yet"),
        ),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

fn view(m: &Manifest) -> SourceView<'_> {
    let derived = m.derived.iter().map(|(t, e)| {
        let d = DerivedView {
            key: &e.key,
            content_type: &e.content_type,
            bytes: e.bytes,
            width: e.width,
            height: e.height,
            current_source: e.source_etag == m.source_etag,
        };
        (t.as_str(), d)
    });
    SourceView {
        source_key: &m.source_key,
        source_etag: &m.source_etag,
        facts: m.facts_of(&m.source_etag),
        derived: derived.collect(),
    }
}
