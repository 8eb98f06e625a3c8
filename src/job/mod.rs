//! Everything that can arrive on derivd's queues, parsed into one shape.
//!
//! The job queue receives hand-written job messages (`aws sqs send-message`, `derivd
//! submit`, `POST /v1/jobs`, `audit --repair`) *and* S3 event notifications, delivered
//! straight to SQS or through an SNS topic; the repair queue receives
//! `ReducedRedundancyLostObject` events. The worker should not care which of these it got,
//! so [`parse_message`] turns any body into a list of [`Incoming`] items, or a
//! [`MessageError`] that is always the sender's fault: retrying cannot help, so the worker
//! drops (or dead-letters) the message and logs [`MessageError::kind`] and the reason.
//!
//! Pure and total: no I/O, and it never panics on any input (property-tested). It checks
//! syntax only; whether a bucket is allowed and a transform exists is decided later by the
//! worker against config and catalogue.
//!
//! **Multi-record events.** S3 delivers one record per notification in practice, but the
//! format allows several, possibly of different kinds. Rather than pick a precedence (which
//! would silently drop records), [`parse_message`] returns `Vec<Incoming>`: the worker
//! handles every item, then deletes the message once. The vector is never empty, holds at
//! most one each of `Jobs`, `SourcesRemoved` and `ObjectsLost` (in that order, records in
//! event order), then one `Ignored` per distinct ignored event name.

mod json;
#[cfg(test)]
mod proptests;
mod request;
mod s3event;
#[cfg(test)]
mod schema_tests;
mod sns;
#[cfg(test)]
mod tests;

pub use request::{
    is_valid_bucket_name, is_valid_legacy_bucket_name, parse_job, JOB_FIELDS, MAX_ID_CHARS,
};
pub use s3event::decode_s3_event_key;

use crate::engine::geometry::Focus;

/// SQS's limit on a message body; larger bodies are refused before parsing.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The constant `reason`s of [`Incoming::Ignored`], usable as metric labels.
pub mod reason {
    /// `s3:TestEvent`, sent once when a bucket notification is configured.
    pub const S3_TEST_EVENT: &str = "s3_test_event";
    /// An SNS `SubscriptionConfirmation` (detail: the topic ARN).
    pub const SUBSCRIPTION_CONFIRMATION: &str = "subscription_confirmation";
    /// An SNS `UnsubscribeConfirmation` (detail: the topic ARN).
    pub const UNSUBSCRIBE_CONFIRMATION: &str = "unsubscribe_confirmation";
    /// An S3 event derivd has no use for (detail: the event name, e.g. `ObjectTagging:Put`).
    pub const OTHER_S3_EVENT: &str = "other_s3_event";
    /// Every reason, to pre-register metric label values.
    pub const ALL: [&str; 4] = [
        S3_TEST_EVENT,
        SUBSCRIPTION_CONFIRMATION,
        UNSUBSCRIBE_CONFIRMATION,
        OTHER_S3_EVENT,
    ];
}

/// One thing a message asks of derivd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Make derived objects. A job message gives one; an S3 event one per created object.
    Jobs(Vec<JobRequest>),
    /// `ObjectRemoved:*` / `LifecycleExpiration:*` records: a source (or one version of it)
    /// was deleted. In a versioned bucket the object may still exist, so the worker should
    /// confirm it is gone before removing derived objects.
    SourcesRemoved(Vec<ObjectRef>),
    /// `ReducedRedundancyLostObject` records (repair queue): a derived object was lost.
    ObjectsLost(Vec<ObjectRef>),
    /// Nothing to do. `reason` is one of [`reason::ALL`]; `detail` is free text for logs.
    Ignored {
        reason: &'static str,
        detail: String,
    },
}

/// An object named by an S3 event record; `key` is already decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    /// The record's `eventTime`, verbatim (AWS: `2024-05-14T09:21:37.512Z`).
    pub event_time: Option<String>,
}

/// A request to make derived objects of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    /// Client correlation id (1..=128 characters), echoed in notices.
    pub id: Option<String>,
    /// Source bucket; `None` means the configured default bucket.
    pub bucket: Option<String>,
    /// Source object key (decoded, 1..=1024 bytes, no NUL).
    pub source: String,
    pub transforms: TransformSelection,
    /// Remake derived objects even when they look current.
    pub force: bool,
    /// The source's focal point for `fill` crops (stored in its manifest).
    pub focus: Option<Focus>,
}

/// Which transforms a job asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformSelection {
    /// Every catalogue transform that accepts the source's media type.
    All,
    /// These names (non-empty, syntactically valid, no duplicates, in request order).
    Named(Vec<String>),
}

/// Why a message cannot be used. Every variant is the sender's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message is {bytes} bytes; at most {max} are accepted")]
    TooLarge { bytes: usize, max: usize },
    /// `field` is a path into the message, e.g. `transforms[2]` or
    /// `Message.Records[0].s3.object.key` (inside an SNS envelope).
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// JSON, but neither a job message nor an S3 event; the detail says what it looked like.
    #[error("message is neither a job message nor an S3 event notification: {0}")]
    Unrecognised(String),
}

impl MessageError {
    /// Constant label for metrics: `not_json`, `too_large`, `invalid` or `unrecognised`.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageError::NotJson(_) => "not_json",
            MessageError::TooLarge { .. } => "too_large",
            MessageError::Invalid { .. } => "invalid",
            MessageError::Unrecognised(_) => "unrecognised",
        }
    }
}

/// Parses any queue message body: a job message, an S3 event notification (raw or in an
/// SNS envelope), an S3 test event or an SNS confirmation. See the module docs for the
/// shape of the result.
pub fn parse_message(body: &str) -> Result<Vec<Incoming>, MessageError> {
    let object = json::parse_object(check_size(body)?)?;
    classify(&object, Nesting::Top)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Nesting {
    Top,
    /// Inside an SNS envelope: another envelope is not accepted.
    InSns,
}

/// Refuses oversized bodies and drops a UTF-8 byte-order mark (Windows editors add one to
/// files passed as `--message-body file://job.json`).
fn check_size(body: &str) -> Result<&str, MessageError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::TooLarge {
            bytes: body.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    Ok(body.strip_prefix('\u{feff}').unwrap_or(body))
}

/// Tells the message kinds apart by their distinctive top-level fields. A job message
/// cannot contain any of `Records`, `Service`, `Event`, `Type`, `detail-type` (unknown
/// fields are errors), so the checks cannot shadow one another. EventBridge events are
/// checked before job messages because they too have `source` and `id` fields.
fn classify(object: &json::Object, nesting: Nesting) -> Result<Vec<Incoming>, MessageError> {
    if let Some(records) = object.get("Records") {
        return s3event::records(records);
    }
    if object.has("Service") && object.has("Event") {
        return s3event::service_event(object);
    }
    if nesting == Nesting::Top && object.has("Type") && object.has("TopicArn") {
        return sns::envelope(object);
    }
    if object.has("detail-type") && object.has("detail") {
        return Err(MessageError::Unrecognised(
            "an EventBridge event; send S3 notifications to SQS or SNS directly".into(),
        ));
    }
    if request::looks_like_job(object) {
        return Ok(vec![Incoming::Jobs(vec![request::from_object(object)?])]);
    }
    Err(MessageError::Unrecognised(object.describe()))
}
