//! `POST /v1/sns`: S3 events delivered by an SNS topic subscribed over HTTPS, for users
//! who point the topic at derivd instead of at a queue (TLS is terminated in front).
//!
//! The endpoint is reachable by anyone, so nothing in a request is acted on before it is
//! shown to come from SNS, for a topic the operator allowed (`sns.allowed_topic_arns`):
//!
//! 1. cheap checks, in order: the body's size, JSON, a known `Type`, a `Signature`, a
//!    `SignatureVersion` of "1" (SHA1withRSA) or "2" (SHA256withRSA), a `SigningCertURL`
//!    (and for confirmations a `SubscribeURL`) of exactly the SNS shape ([`url`]), every
//!    signed field present, an allowed `TopicArn`, a `Timestamp` no older than SNS ever
//!    retries ([`MAX_AGE`]; older is a replay of a captured message). The topic is checked
//!    before any fetch, so an unauthenticated request cannot make derivd fetch anything for
//!    a topic it does not serve;
//! 2. the signature, with the certificate at `SigningCertURL` (fetched once and cached);
//! 3. only then the action: a `SubscriptionConfirmation` is confirmed with one GET of its
//!    `SubscribeURL`; an `UnsubscribeConfirmation` is logged; a `Notification`'s `Message`
//!    is parsed as a queue message is ([`crate::job::parse_message`]) and its lost objects
//!    are repaired ([`crate::repair::Repairer`]).
//!
//! **Repairs run inline**, before the answer: 200 means the objects are back, and a
//! transient failure answers 503 so that SNS redelivers under its delivery policy (repairs
//! are idempotent: a duplicate finds the object present). That needs no repair queue,
//! which is the point of subscribing over HTTPS. The repair runs in its own task, so a
//! client that hangs up does not cancel it half-way. Other events in a `Message`
//! (`ObjectCreated`, `ObjectRemoved`) are logged and acknowledged but not acted on: over
//! HTTPS derivd only repairs; subscribe a queue for jobs.
//!
//! Refusals answer 403 (400 for a body that is not JSON or a `Message` that is not an S3
//! event, 503/502 when a fetch fails) and count `derivd_sns_rejected_total{reason}` (one
//! of [`reason::ALL`]); successes count `derivd_sns_accepted_total{type}`.
//!
//! The subscription must not use raw message delivery: raw messages carry no signature,
//! so they are refused as unsigned.
//!
//! Tests only: `sns.insecure_test_cert_base_url` makes derivd fetch the validated URLs'
//! paths from a loopback base over plain HTTP instead, so tests still exercise the URL
//! checks. It is off unless configured, and loudly logged when on.

mod cert;
mod certs;
mod envelope;
mod fetch;
mod parse;
mod reasons;
mod url;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::config::SnsConfig;
use crate::job::{parse_message, Incoming};
use crate::metrics::Metrics;
use crate::repair::Repairer;
use certs::Certs;
use envelope::{string_to_sign, Envelope, MessageType, SignatureVersion};
use fetch::Fetcher;
use parse::{cert_in_topic_region, parse_envelope, read_body};
pub use reasons::reason;
use url::SnsUrl;

/// Largest request body: an SNS message is at most 256 KiB, and JSON escaping in the
/// envelope can make it up to twice that.
pub const MAX_BODY_BYTES: usize = 2 * crate::job::MAX_MESSAGE_BYTES;

/// Most of a subscription confirmation's answer that is read (only its status matters).
const MAX_CONFIRM_BYTES: usize = 64 * 1024;

/// The oldest signed message accepted. SNS gives up retrying an HTTPS delivery after an
/// hour at most (the delivery policy's cap), so anything older is a replay; the extra
/// quarter hour allows for clock skew.
pub const MAX_AGE: Duration = Duration::from_secs(75 * 60);
/// How far in the future a `Timestamp` may be (clock skew).
const MAX_AHEAD: Duration = Duration::from_secs(15 * 60);

/// Checks a message's RFC 3339 `Timestamp` against `now`.
fn fresh(timestamp: &str, now: OffsetDateTime) -> Result<(), String> {
    let t = OffsetDateTime::parse(timestamp, &Rfc3339).map_err(|e| {
        format!(
            "Timestamp {:?}: {e}",
            timestamp.chars().take(40).collect::<String>()
        )
    })?;
    if t < now - MAX_AGE {
        return Err(format!(
            "Timestamp {timestamp} is older than {} min",
            MAX_AGE.as_secs() / 60
        ));
    }
    if t > now + MAX_AHEAD {
        return Err(format!("Timestamp {timestamp} is in the future"));
    }
    Ok(())
}

/// The `/v1/sns` route, to merge into the API router.
pub fn router(cfg: &SnsConfig, repairer: Arc<Repairer>, metrics: Metrics) -> Router {
    let sns = Arc::new(Sns::new(cfg, repairer, metrics));
    Router::new().route(
        "/v1/sns",
        post(move |body: Body| async move { sns.handle(body).await }),
    )
}

struct Sns {
    repairer: Arc<Repairer>,
    metrics: Metrics,
    allowed_topics: Vec<String>,
    certs: Certs,
    /// `sns.insecure_test_cert_base_url`.
    test_base: Option<String>,
}

/// Why a request was not accepted.
#[derive(Clone)]
struct Rejection {
    status: StatusCode,
    reason: &'static str,
    detail: String,
}

fn reject(status: StatusCode, reason: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        status,
        reason,
        detail: detail.into(),
    }
}

fn forbid(reason: &'static str, detail: impl Into<String>) -> Rejection {
    reject(StatusCode::FORBIDDEN, reason, detail)
}

impl Sns {
    fn new(cfg: &SnsConfig, repairer: Arc<Repairer>, metrics: Metrics) -> Sns {
        // Every series exists from the start, so dashboards and alerts see each one
        // before its first event.
        for r in reason::ALL {
            metrics.sns_rejected.with_label_values(&[r]);
        }
        for t in MessageType::ALL {
            metrics.sns_accepted.with_label_values(&[t.label()]);
        }
        let test_base = cfg.insecure_test_cert_base_url.clone();
        if let Some(base) = &test_base {
            warn!(
                base = %base,
                "INSECURE: sns.insecure_test_cert_base_url is set; SNS certificates and \
                 subscribe URLs are fetched from it over plain HTTP. For tests only, never \
                 in production"
            );
        }
        Sns {
            repairer,
            metrics,
            allowed_topics: cfg.allowed_topic_arns.clone(),
            certs: Certs::new(
                cfg.cert_cache_entries,
                Fetcher::new(
                    Duration::from_secs(cfg.fetch_timeout_secs),
                    test_base.is_some(),
                ),
                test_base.clone(),
            ),
            test_base,
        }
    }

    async fn handle(&self, body: Body) -> Response {
        match self.process(body).await {
            Ok(kind) => {
                let label = kind.label();
                self.metrics.sns_accepted.with_label_values(&[label]).inc();
                (StatusCode::OK, Json(json!({ "accepted": label }))).into_response()
            }
            Err(r) => {
                warn!(reason = r.reason, detail = %r.detail, "SNS request not accepted");
                self.metrics
                    .sns_rejected
                    .with_label_values(&[r.reason])
                    .inc();
                (r.status, Json(json!({ "error": r.reason }))).into_response()
            }
        }
    }

    async fn process(&self, body: Body) -> Result<MessageType, Rejection> {
        let bytes = read_body(body).await?;
        let e = parse_envelope(&bytes)?;
        let m = self.checked(&e)?;
        self.verify(m.version, &m.cert_url, &m.text, m.signature)
            .await?;
        match m.kind {
            MessageType::SubscriptionConfirmation => {
                let url = m
                    .subscribe
                    .expect("validated for confirmations")
                    .fetch_url(self.test_base.as_deref());
                self.certs
                    .fetcher()
                    .get(&url, MAX_CONFIRM_BYTES)
                    .await
                    .map_err(|err| {
                        reject(
                            StatusCode::BAD_GATEWAY,
                            reason::CONFIRM_FAILED,
                            err.to_string(),
                        )
                    })?;
                info!(topic = m.topic, "SNS subscription confirmed");
            }
            MessageType::UnsubscribeConfirmation => {
                info!(topic = m.topic, "SNS subscription ended")
            }
            MessageType::Notification => {
                self.notification(e.message.as_deref().unwrap_or_default())
                    .await?
            }
        }
        Ok(m.kind)
    }

    /// The cheap checks, in order (module docs, step 1): nothing is fetched before they pass.
    fn checked<'e>(&self, e: &'e Envelope) -> Result<Checked<'e>, Rejection> {
        let kind = e
            .kind
            .as_deref()
            .and_then(MessageType::parse)
            .ok_or_else(|| forbid(reason::UNKNOWN_TYPE, format!("Type {:?}", e.kind)))?;
        let signature = e
            .signature
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| forbid(reason::UNSIGNED, "no Signature"))?;
        let version = e
            .signature_version
            .as_deref()
            .and_then(SignatureVersion::parse)
            .ok_or_else(|| {
                let v = format!("SignatureVersion {:?}", e.signature_version);
                forbid(reason::BAD_SIGNATURE_VERSION, v)
            })?;
        let cert_url = url::signing_cert_url(e.signing_cert_url.as_deref().unwrap_or_default())
            .map_err(|err| forbid(reason::BAD_CERT_URL, err.to_string()))?;
        let subscribe = match kind {
            MessageType::SubscriptionConfirmation => Some(
                url::subscribe_url(e.subscribe_url.as_deref().unwrap_or_default())
                    .map_err(|err| forbid(reason::BAD_SUBSCRIBE_URL, err.to_string()))?,
            ),
            _ => None,
        };
        let text = string_to_sign(kind, e)
            .map_err(|field| forbid(reason::MALFORMED, format!("{field} missing")))?;
        let topic = e.topic_arn.as_deref().unwrap_or_default();
        if !self.allowed_topics.iter().any(|a| a == topic) {
            let shown = topic.chars().take(256).collect::<String>();
            return Err(forbid(reason::TOPIC_NOT_ALLOWED, shown));
        }
        fresh(
            e.timestamp.as_deref().unwrap_or_default(),
            OffsetDateTime::now_utc(),
        )
        .map_err(|why| forbid(reason::STALE, why))?;
        cert_in_topic_region(&cert_url, topic)?;
        Ok(Checked {
            kind,
            signature,
            version,
            cert_url,
            subscribe,
            text,
            topic,
        })
    }

    /// Checks `signature` (base64) over `text` with the certificate at `cert_url`.
    async fn verify(
        &self,
        version: SignatureVersion,
        cert_url: &SnsUrl,
        text: &str,
        signature: &str,
    ) -> Result<(), Rejection> {
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|err| forbid(reason::BAD_SIGNATURE, format!("not base64: {err}")))?;
        let cert = self.certs.get(cert_url).await?;
        if !cert.valid_now() {
            return Err(forbid(reason::CERT_EXPIRED, cert_url.fetch_url(None)));
        }
        if !cert.verifies(version, text.as_bytes(), &signature) {
            return Err(forbid(reason::BAD_SIGNATURE, "signature does not verify"));
        }
        Ok(())
    }

    /// Acts on a verified notification's `Message` as the repair queue's worker would.
    async fn notification(&self, message: &str) -> Result<(), Rejection> {
        let items = parse_message(message).map_err(|err| {
            reject(
                StatusCode::BAD_REQUEST,
                reason::BAD_MESSAGE,
                err.to_string(),
            )
        })?;
        let mut retry = false;
        for item in items {
            match item {
                Incoming::ObjectsLost(objects) => {
                    let repairer = self.repairer.clone();
                    // Its own task: a client hanging up must not cancel a repair half-way.
                    let done = tokio::spawn(async move { repairer.repair(&objects).await }).await;
                    retry |= !done.is_ok_and(|faults| faults.iter().all(Option::is_none));
                }
                Incoming::Ignored { reason, detail } => {
                    info!(reason, detail, "SNS notification needs no work");
                    self.metrics
                        .messages_ignored
                        .with_label_values(&[reason])
                        .inc();
                }
                Incoming::Jobs(_) | Incoming::SourcesRemoved(_) => warn!(
                    "SNS notification acknowledged but not acted on: over HTTPS derivd only \
                     repairs lost objects; subscribe a queue for other events"
                ),
            }
        }
        if retry {
            return Err(reject(
                StatusCode::SERVICE_UNAVAILABLE,
                reason::REPAIR_FAILED,
                "a repair failed transiently; SNS will redeliver",
            ));
        }
        Ok(())
    }
}

/// An envelope that passed the cheap checks.
struct Checked<'e> {
    kind: MessageType,
    signature: &'e str,
    version: SignatureVersion,
    cert_url: SnsUrl,
    subscribe: Option<SnsUrl>,
    text: String,
    topic: &'e str,
}
