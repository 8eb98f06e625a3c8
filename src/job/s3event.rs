//! S3 event notifications (`{"Records": [...]}`) and the `s3:TestEvent`.
//!
//! Only the fields derivd uses are read (`eventName`, `eventSource`, `eventTime`,
//! `s3.bucket.name`, `s3.object.key`, `s3.object.eTag`); the rest of AWS's record
//! (`userIdentity`, `requestParameters`, `responseElements`, `sequencer`…) is ignored, so
//! additions by AWS or omissions by emulators (moto sends no `userIdentity`) do not matter.
//!
//! Keys arrive form-urlencoded: `+` is a space, then `%XX` bytes (AWS leaves `/` as is,
//! moto writes `%2F`; a literal `+` arrives as `%2B`, `%` as `%25`). Decoding must be
//! exact, or derivd would read and write the wrong objects, so invalid UTF-8 after
//! decoding is an error rather than a lossy replacement.

use serde_json::Value;

use super::json::{clip, invalid, optional_str, required_str, wrong_type, Object};
use super::request::{check_key, is_valid_legacy_bucket_name};
use super::{reason, Incoming, JobRequest, MessageError, ObjectRef, TransformSelection};

/// Decodes an S3 event record's `s3.object.key`: `+` → space, then percent-decoding.
/// `None` if the bytes are not UTF-8. Malformed escapes (`%zz`) are kept verbatim, as
/// `form_urlencoded` does; S3 never produces them.
pub fn decode_s3_event_key(raw: &str) -> Option<String> {
    let spaced: Vec<u8> = raw
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes).ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Created,
    Removed,
    Lost,
    Other,
}

/// Event names arrive with the `s3:` prefix or without (S3 itself omits it in records).
fn kind(event_name: &str) -> Kind {
    let name = event_name.strip_prefix("s3:").unwrap_or(event_name);
    if name.starts_with("ObjectCreated:") {
        Kind::Created
    } else if name.starts_with("ObjectRemoved:") || name.starts_with("LifecycleExpiration:") {
        Kind::Removed
    } else if name == "ReducedRedundancyLostObject" {
        Kind::Lost
    } else {
        Kind::Other
    }
}

/// The `Records` array of an S3 event, grouped by kind (see the module docs of `job`).
pub(crate) fn records(value: &Value) -> Result<Vec<Incoming>, MessageError> {
    let Value::Array(records) = value else {
        return Err(wrong_type("Records", "an array of S3 event records", value));
    };
    if records.is_empty() {
        return Err(invalid("Records", "is empty"));
    }
    let (mut jobs, mut removed, mut lost, mut ignored) = (vec![], vec![], vec![], vec![]);
    for (i, record) in records.iter().enumerate() {
        let at = format!("Records[{i}]");
        if !record.is_object() {
            return Err(wrong_type(at, "an S3 event record object", record));
        }
        if let Some(source) = optional_str(record, &at, "/eventSource")? {
            if source != "aws:s3" {
                return Err(invalid(
                    format!("{at}.eventSource"),
                    format!("is {source:?}; only aws:s3 records are understood"),
                ));
            }
        }
        let name = required_str(record, &at, "/eventName")?;
        match kind(name) {
            Kind::Other if !ignored.contains(&name) => ignored.push(name),
            Kind::Other => {}
            Kind::Created => {
                let object = object_ref(record, &at)?;
                jobs.push(JobRequest {
                    id: None,
                    bucket: Some(object.bucket),
                    source: object.key,
                    transforms: TransformSelection::All,
                    force: false,
                    focus: None,
                });
            }
            Kind::Removed => removed.push(object_ref(record, &at)?),
            Kind::Lost => lost.push(object_ref(record, &at)?),
        }
    }
    let mut out = Vec::new();
    if !jobs.is_empty() {
        out.push(Incoming::Jobs(jobs));
    }
    if !removed.is_empty() {
        out.push(Incoming::SourcesRemoved(removed));
    }
    if !lost.is_empty() {
        out.push(Incoming::ObjectsLost(lost));
    }
    out.extend(ignored.into_iter().map(|name| Incoming::Ignored {
        reason: reason::OTHER_S3_EVENT,
        detail: clip(name, 100),
    }));
    Ok(out)
}

/// The object a record is about, key decoded. The bucket name is taken as S3 gives it
/// (legacy us-east-1 buckets may break today's naming rules), but must be a name S3 could
/// have given (fuzzing found `ph=tos-prod` accepted here, then refused when the job was
/// written out again as a job message).
fn object_ref(record: &Value, at: &str) -> Result<ObjectRef, MessageError> {
    let bucket = required_str(record, at, "/s3/bucket/name")?;
    if !is_valid_legacy_bucket_name(bucket) {
        return Err(invalid(
            format!("{at}.s3.bucket.name"),
            "is not an S3 bucket name (3–255 of A-Z a-z 0-9 . - _)",
        ));
    }
    let field = format!("{at}.s3.object.key");
    let raw = required_str(record, at, "/s3/object/key")?;
    let key = decode_s3_event_key(raw)
        .ok_or_else(|| invalid(field.as_str(), "percent-decodes to invalid UTF-8"))?;
    check_key(&field, &key)?;
    let etag = optional_str(record, at, "/s3/object/eTag")?.filter(|e| !e.is_empty());
    let event_time = optional_str(record, at, "/eventTime")?;
    Ok(ObjectRef {
        bucket: bucket.to_string(),
        key,
        etag: etag.map(str::to_string),
        event_time: event_time.map(str::to_string),
    })
}

/// `{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": ...}`, sent when a bucket
/// notification is configured.
pub(crate) fn service_event(object: &Object) -> Result<Vec<Incoming>, MessageError> {
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    let (Some("Amazon S3"), Some(event)) = (text("Service"), text("Event")) else {
        return Err(MessageError::Unrecognised(format!(
            "{} (Service/Event but not from Amazon S3)",
            object.describe()
        )));
    };
    let ignored = if event == "s3:TestEvent" {
        Incoming::Ignored {
            reason: reason::S3_TEST_EVENT,
            detail: clip(text("Bucket").unwrap_or_default(), 100),
        }
    } else {
        Incoming::Ignored {
            reason: reason::OTHER_S3_EVENT,
            detail: clip(event, 100),
        }
    };
    Ok(vec![ignored])
}
