//! `POST /v1/jobs`: validates a job message with the same rules the job consumer applies,
//! then enqueues it unchanged.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{authorised, error, HttpState};
use crate::job::{parse_message, Incoming};

pub(super) async fn submit(
    State(s): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    // Bytes, not a `String` extractor: its rejection is a text/plain 400, where every
    // refusal of this route is the documented JSON `{"error"}` (schemathesis found it).
    let Ok(body) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let jobs = match parse_message(body).as_deref() {
        Ok([Incoming::Jobs(jobs)]) => jobs.clone(),
        Ok(_) => return error(StatusCode::BAD_REQUEST, "not a job message"),
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    for job in &jobs {
        if let Err(refusal) = s.admission.admit(job) {
            return error(StatusCode::BAD_REQUEST, refusal.to_string());
        }
    }
    match s.jobs.send(body).await {
        Ok(id) => (StatusCode::ACCEPTED, Json(json!({ "message_id": id }))).into_response(),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("enqueue failed: {e}"),
        ),
    }
}
