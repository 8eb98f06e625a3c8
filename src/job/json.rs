//! JSON plumbing for the message parser.
//!
//! The top-level object is read as an ordered list of entries with duplicates kept, because
//! `serde_json::Value` silently keeps the last of duplicate keys: `{"transforms": ["thumb-256"],
//! "transforms": ["*"]}` must be an error, not "all transforms". The typed accessors turn a
//! missing or mistyped value into [`MessageError::Invalid`] naming the field's path, which
//! is what a person fixing a hand-written message needs.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::MessageError;

/// A JSON object's entries in document order, duplicates included.
pub(crate) struct Object(pub(crate) Vec<(String, Value)>);

impl Object {
    /// The first value under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// A short description for [`MessageError::Unrecognised`]: the first few field names.
    pub(crate) fn describe(&self) -> String {
        if self.0.is_empty() {
            return "an empty object".into();
        }
        let mut names: Vec<String> = self.keys().take(5).map(|k| clip(k, 32)).collect();
        if self.0.len() > 5 {
            names.push("…".into());
        }
        format!("an object with fields {}", names.join(", "))
    }
}

/// Parses `body`, which must be one JSON object.
pub(crate) fn parse_object(body: &str) -> Result<Object, MessageError> {
    match serde_json::from_str::<Top>(body) {
        Ok(Top::Object(object)) => Ok(object),
        Ok(Top::Other(what)) => Err(MessageError::Unrecognised(format!("a JSON {what}"))),
        Err(e) => Err(MessageError::NotJson(e.to_string())),
    }
}

/// Any JSON document, keeping only what the classifier needs.
enum Top {
    Object(Object),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other("string"))
    }
    fn visit_unit<E>(self) -> Result<Top, E> {
        Ok(Top::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(Top::Object(Object(entries)))
    }
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> MessageError {
    MessageError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// `field` holds a value of the wrong JSON type.
pub(crate) fn wrong_type(field: impl Into<String>, expected: &str, got: &Value) -> MessageError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    invalid(field, format!("must be {expected}, not {got}"))
}

/// Field path of a JSON pointer below `prefix`: (`Records[0]`, `/s3/object/key`) →
/// `Records[0].s3.object.key`.
fn path(prefix: &str, pointer: &str) -> String {
    format!("{prefix}{}", pointer.replace('/', "."))
}

/// The string at `pointer` below `value`; `None` when absent.
pub(crate) fn optional_str<'a>(
    value: &'a Value,
    prefix: &str,
    pointer: &str,
) -> Result<Option<&'a str>, MessageError> {
    match value.pointer(pointer) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(path(prefix, pointer), "a string", other)),
    }
}

/// The string at `pointer` below `value`, which must be present.
pub(crate) fn required_str<'a>(
    value: &'a Value,
    prefix: &str,
    pointer: &str,
) -> Result<&'a str, MessageError> {
    optional_str(value, prefix, pointer)?.ok_or_else(|| invalid(path(prefix, pointer), "missing"))
}

/// At most `max` characters of `s`, with `…` when cut: client text echoed in errors stays
/// short.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}
