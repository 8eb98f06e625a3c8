//! The job message: what people type by hand and what derivd itself enqueues.
//!
//! `{"source": "uploads/cat photo.jpg", "transforms": ["thumb-256"], "bucket": "photos",
//! "id": "req-42", "force": true}`; only `source` is required. Parsing is strict because
//! these messages are hand-written: an unknown field (`"transfroms"`), a duplicate field,
//! `null`, an empty transform list or `"*"` mixed with names is an error, never a silent
//! "all transforms". `schema/job.schema.json` documents the same rules and a test keeps the
//! two in step.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use super::json::{clip, invalid, parse_object, wrong_type, Object};
use super::{check_size, JobRequest, MessageError, TransformSelection};
use crate::engine::geometry::Focus;
use crate::keys::is_valid_selection_name;
use crate::keys::MAX_KEY_BYTES;

/// Every field a job message may have.
pub const JOB_FIELDS: [&str; 6] = ["source", "transforms", "bucket", "id", "force", "focus"];
/// Longest client correlation id, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// The transform list entry meaning "every applicable transform".
const ALL: &str = "*";

/// Parses a body that must be a job message (no S3 events). [`JobRequest::validate`] uses
/// it to check that a request built in code (by `derivd submit`, `derivd audit --repair`)
/// reads back the same once enqueued.
pub fn parse_job(body: &str) -> Result<JobRequest, MessageError> {
    from_object(&parse_object(check_size(body)?)?)
}

impl JobRequest {
    /// A job for every applicable transform of `source` in the default bucket.
    pub fn new(source: impl Into<String>) -> JobRequest {
        JobRequest {
            id: None,
            bucket: None,
            source: source.into(),
            transforms: TransformSelection::All,
            force: false,
            focus: None,
        }
    }

    /// The job-message JSON for this request, as enqueued by `derivd submit`, `POST
    /// /v1/jobs` and `audit --repair`. [`TransformSelection::All`] is written as `["*"]` so
    /// a person reading the queue sees the intent.
    pub fn to_message_json(&self) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            bucket: Option<&'a str>,
            source: &'a str,
            transforms: Vec<&'a str>,
            #[serde(skip_serializing_if = "is_false")]
            force: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            focus: Option<Focus>,
        }
        let transforms = match &self.transforms {
            TransformSelection::All => vec![ALL],
            TransformSelection::Named(names) => names.iter().map(String::as_str).collect(),
        };
        let wire = Wire {
            id: self.id.as_deref(),
            bucket: self.bucket.as_deref(),
            source: &self.source,
            transforms,
            force: self.force,
            focus: self.focus,
        };
        serde_json::to_string(&wire).expect("strings and booleans always serialise")
    }

    /// Checks the request would be accepted by [`parse_job`] once enqueued (for requests
    /// built from CLI arguments or HTTP input).
    pub fn validate(&self) -> Result<(), MessageError> {
        parse_job(&self.to_message_json()).map(drop)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Builds a request from a job message's top-level object.
pub(crate) fn from_object(object: &Object) -> Result<JobRequest, MessageError> {
    let mut slots: [Option<&Value>; JOB_FIELDS.len()] = [None; JOB_FIELDS.len()];
    for (name, value) in &object.0 {
        let Some(i) = JOB_FIELDS.iter().position(|f| f == name) else {
            return Err(unknown_field(name));
        };
        if slots[i].replace(value).is_some() {
            return Err(invalid(name.as_str(), "appears more than once"));
        }
    }
    let [source, transforms, bucket, id, force, focus] = slots;

    let source = string(
        "source",
        source.ok_or_else(|| invalid("source", "missing"))?,
    )?;
    check_key("source", &source)?;
    let transforms = match transforms {
        None => TransformSelection::All,
        Some(v) => parse_transforms(v)?,
    };
    let bucket = bucket.map(|v| string("bucket", v)).transpose()?;
    if let Some(b) = &bucket {
        if !is_valid_bucket_name(b) {
            return Err(invalid(
                "bucket",
                format!(
                    "{:?} is not an S3 bucket name (3–63 of a-z 0-9 . -, starting and \
                     ending with a letter or digit, no \"..\", not an IP address)",
                    clip(b, 70)
                ),
            ));
        }
    }
    let id = id.map(|v| string("id", v)).transpose()?;
    if let Some(id) = &id {
        let n = id.chars().count();
        if n == 0 || n > MAX_ID_CHARS || id.chars().any(char::is_control) {
            return Err(invalid(
                "id",
                format!("must be 1..={MAX_ID_CHARS} characters without control characters"),
            ));
        }
    }
    let force = match force {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(wrong_type("force", "true or false", other)),
    };
    let focus = focus.map(parse_focus).transpose()?;
    Ok(JobRequest {
        id,
        bucket,
        source,
        transforms,
        force,
        focus,
    })
}

/// `{"x": 0.31, "y": 0.42}`: fractions 0..=1 of the upright source; nothing else in it.
fn parse_focus(value: &Value) -> Result<Focus, MessageError> {
    const WHAT: &str = "an object {\"x\": 0..1, \"y\": 0..1}";
    let Value::Object(o) = value else {
        return Err(wrong_type("focus", WHAT, value));
    };
    if let Some(k) = o.keys().find(|k| *k != "x" && *k != "y") {
        return Err(invalid(
            "focus",
            format!("unknown field {:?}; only x and y", clip(k, 64)),
        ));
    }
    let frac = |name: &str| {
        o.get(name)
            .and_then(Value::as_f64)
            .ok_or_else(|| invalid(format!("focus.{name}"), "missing or not a number"))
    };
    Focus::new(frac("x")?, frac("y")?)
        .ok_or_else(|| invalid("focus", "x and y must be fractions from 0 to 1"))
}

fn string(field: &str, value: &Value) -> Result<String, MessageError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(wrong_type(field, "a string", other)),
    }
}

fn unknown_field(name: &str) -> MessageError {
    let hint = match JOB_FIELDS.iter().find(|f| close(name, f)) {
        Some(f) => format!(" (did you mean {f:?}?)"),
        None => String::new(),
    };
    invalid(
        clip(name, 64),
        format!(
            "unknown field{hint}; a job message has only {}",
            JOB_FIELDS.join(", ")
        ),
    )
}

/// True when some field of `object` is a job field, or a likely misspelling of one: such an
/// object is reported as a bad job message rather than as unrecognised.
pub(crate) fn looks_like_job(object: &Object) -> bool {
    object
        .keys()
        .any(|k| JOB_FIELDS.iter().any(|f| k == *f || close(k, f)))
}

/// True when `a`, lower-cased, is within two single-character edits of `b` (one for short
/// names like `id`): `transfroms`, `Source`, `forse`.
fn close(a: &str, b: &str) -> bool {
    let max = if b.len() <= 4 { 1 } else { 2 };
    if a.len() > 4 * (b.len() + max) {
        return false; // cheap bound before collecting: a char is at most 4 bytes
    }
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()] <= max
}

fn parse_transforms(value: &Value) -> Result<TransformSelection, MessageError> {
    let Value::Array(items) = value else {
        return Err(wrong_type(
            "transforms",
            "an array of transform names",
            value,
        ));
    };
    if items.is_empty() {
        return Err(invalid(
            "transforms",
            "is empty; list transform names, or omit it (or use [\"*\"]) for all",
        ));
    }
    let mut star = None;
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("transforms[{i}]");
        let Value::String(name) = item else {
            return Err(wrong_type(field, "a string", item));
        };
        if name == ALL {
            star.get_or_insert(i);
        } else if !is_valid_selection_name(name) {
            return Err(invalid(
                field,
                format!(
                    "{:?} is not a transform name ([a-z0-9][a-z0-9-]{{0,62}}, or \
                     name.ext for one variant)",
                    clip(name, 70)
                ),
            ));
        } else if seen.insert(name.as_str()) {
            names.push(name.clone());
        }
    }
    match star {
        None => Ok(TransformSelection::Named(names)),
        Some(_) if names.is_empty() => Ok(TransformSelection::All),
        Some(i) => Err(invalid(
            format!("transforms[{i}]"),
            "\"*\" (all transforms) cannot be combined with named transforms",
        )),
    }
}

/// An object key as S3 allows it (1..=1024 bytes), without NUL.
pub(crate) fn check_key(field: &str, key: &str) -> Result<(), MessageError> {
    if key.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid(
            field,
            format!(
                "is {} bytes; S3 keys are at most {MAX_KEY_BYTES}",
                key.len()
            ),
        ));
    }
    if key.contains('\0') {
        return Err(invalid(field, "must not contain NUL"));
    }
    Ok(())
}

/// S3's bucket naming rules: 3–63 characters of `a-z 0-9 . -`, starting and ending with a
/// letter or digit, no `..`, not formatted as an IPv4 address.
pub fn is_valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter().all(|c| edge(c) || *c == b'.' || *c == b'-')
        && !name.contains("..")
        && !looks_like_ipv4(name)
}

/// What S3 itself may name a bucket, counting the legacy us-east-1 names (created before
/// March 2018: up to 255 characters, upper case and `_` allowed). S3 event records carry
/// the name as S3 has it, so they are held to this rule, not today's.
pub fn is_valid_legacy_bucket_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

fn looks_like_ipv4(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
}
