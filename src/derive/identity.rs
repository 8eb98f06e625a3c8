//! What a derived object is made of, and the one answer to "is it current?".
//!
//! A derived object is current when it was made from the source version that exists now
//! (its ETag) by the transform definition that exists now (its digest), and the source's
//! manifest records it so. Each object carries its identity in user metadata, so a HEAD
//! answers for the object and the manifest entry answers for the record; jobs, repairs,
//! ensure-on-read and audit all judge with [`judge`].
//!
//! Growing the identity (a focal point, a format variant, a video frame or PDF page rule)
//! means adding a field here, to [`Identity::metadata`] and to [`judge`]; every path then
//! agrees on it without changes of its own.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::catalogue::spec::ResizeMode;
use crate::catalogue::Transform;
use crate::engine::geometry::Focus;
use crate::manifest::ManifestEntry;
use crate::storage::ObjectMeta;

/// User-metadata names on every derived object (S3 lower-cases them).
pub const META_SOURCE_KEY: &str = "derivd-source-key";
pub const META_SOURCE_ETAG: &str = "derivd-source-etag";
pub const META_TRANSFORM: &str = "derivd-transform";
pub const META_DIGEST: &str = "derivd-digest";

/// What a derived object must have been made from to be current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub source_etag: String,
    pub digest: String,
}

impl Identity {
    pub fn new(source_etag: &str, transform: &Transform) -> Identity {
        Identity::with_focus(source_etag, transform, None)
    }

    /// The identity of `transform`'s object when the source's focal point is `focus`.
    pub fn with_focus(source_etag: &str, transform: &Transform, focus: Option<Focus>) -> Identity {
        Identity {
            source_etag: source_etag.to_string(),
            digest: digest_for(transform, focus),
        }
    }

    /// The user metadata written on the object. S3 metadata must be printable ASCII, so
    /// the source key is percent-encoded: `%`, control characters and non-ASCII bytes
    /// only, so ordinary keys stay readable.
    pub fn metadata(&self, source_key: &str, transform: &str) -> BTreeMap<String, String> {
        const META: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');
        let encoded = percent_encoding::utf8_percent_encode(source_key, META).to_string();
        BTreeMap::from([
            (META_SOURCE_KEY.to_string(), encoded),
            (META_SOURCE_ETAG.to_string(), self.source_etag.clone()),
            (META_TRANSFORM.to_string(), transform.to_string()),
            (META_DIGEST.to_string(), self.digest.clone()),
        ])
    }
}

/// The digest a derived object of `t` carries: the transform's own, or — for a `fill`,
/// whose crop a focal point moves — the transform's and the point's together, so a new
/// focus makes the fill objects stale and nothing else. (Folded into the digest rather
/// than added beside it: every reader of digests, old ones included, then agrees.)
pub fn digest_for(t: &Transform, focus: Option<Focus>) -> String {
    match focus {
        Some(f) if t.resize.mode == ResizeMode::Fill => {
            let text = format!("{}\nfocus={}", t.digest, f.canonical());
            hex::encode(&Sha256::digest(text.as_bytes())[..8])
        }
        _ => t.digest.clone(),
    }
}

/// How a derived object compares with what it should be; the first that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Current,
    /// No object at the key.
    Missing,
    /// Made from another version of the source.
    SourceChanged,
    /// Made with another definition of the transform.
    TransformChanged,
    /// The object is right but the manifest does not record it as such.
    Unrecorded,
}

/// Judges a derived object (its HEAD, if it exists) and its manifest entry (if the
/// manifest lists it) against `wanted`. An object without derivd's metadata (written by
/// an older derivd, or copied in by hand) is judged by its manifest entry alone.
pub fn judge(
    wanted: &Identity,
    object: Option<&ObjectMeta>,
    entry: Option<&ManifestEntry>,
) -> Verdict {
    let Some(object) = object else {
        return Verdict::Missing;
    };
    let made_from = object.metadata.get(META_SOURCE_ETAG).map(String::as_str);
    let made_with = object.metadata.get(META_DIGEST).map(String::as_str);
    let made_from = made_from.or(entry.map(|e| e.source_etag.as_str()));
    let made_with = made_with.or(entry.map(|e| e.digest.as_str()));
    if made_from.is_some_and(|etag| etag != wanted.source_etag) {
        return Verdict::SourceChanged;
    }
    if made_with.is_some_and(|digest| digest != wanted.digest) {
        return Verdict::TransformChanged;
    }
    match entry {
        Some(e) if e.source_etag == wanted.source_etag && e.digest == wanted.digest => {
            Verdict::Current
        }
        _ => Verdict::Unrecorded,
    }
}

/// [`judge`] says [`Verdict::Current`].
pub fn is_current(
    wanted: &Identity,
    object: Option<&ObjectMeta>,
    entry: Option<&ManifestEntry>,
) -> bool {
    judge(wanted, object, entry) == Verdict::Current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Identity {
        Identity {
            source_etag: "e1".into(),
            digest: "d1".into(),
        }
    }

    fn object(etag: &str, digest: &str) -> ObjectMeta {
        let id = Identity {
            source_etag: etag.into(),
            digest: digest.into(),
        };
        ObjectMeta {
            metadata: id.metadata("a b%.jpg", "thumb-256"),
            ..Default::default()
        }
    }

    fn entry(etag: &str, digest: &str) -> ManifestEntry {
        ManifestEntry {
            key: "derived/a.jpg/thumb-256.jpg".into(),
            digest: digest.into(),
            source_etag: etag.into(),
            content_type: "image/jpeg".into(),
            bytes: 1,
            width: 1,
            height: 1,
            extra: Default::default(),
        }
    }

    #[test]
    fn every_way_of_being_out_of_date_is_told_apart() {
        let w = wanted();
        let ok = entry("e1", "d1");
        assert_eq!(
            judge(&w, Some(&object("e1", "d1")), Some(&ok)),
            Verdict::Current
        );
        assert_eq!(judge(&w, None, Some(&ok)), Verdict::Missing);
        let old_source = object("e0", "d1");
        assert_eq!(
            judge(&w, Some(&old_source), Some(&ok)),
            Verdict::SourceChanged
        );
        let old_transform = object("e1", "d0");
        assert_eq!(
            judge(&w, Some(&old_transform), Some(&ok)),
            Verdict::TransformChanged
        );
        let fine = object("e1", "d1");
        assert_eq!(judge(&w, Some(&fine), None), Verdict::Unrecorded);
        assert_eq!(
            judge(&w, Some(&fine), Some(&entry("e0", "d1"))),
            Verdict::Unrecorded
        );
        // No metadata: the manifest entry speaks for the object.
        let bare = ObjectMeta::default();
        assert_eq!(judge(&w, Some(&bare), Some(&ok)), Verdict::Current);
        assert_eq!(
            judge(&w, Some(&bare), Some(&entry("e0", "d1"))),
            Verdict::SourceChanged
        );
        assert!(is_current(&w, Some(&fine), Some(&ok)));
    }

    #[test]
    fn metadata_is_ascii_and_readable() {
        let m = object("e1", "d1").metadata;
        assert_eq!(m[META_SOURCE_KEY], "a b%25.jpg");
        let id = Identity {
            source_etag: "x".into(),
            digest: "y".into(),
        };
        let m = id.metadata("猫.jpg", "t");
        assert!(m[META_SOURCE_KEY].is_ascii());
        assert_eq!(m[META_TRANSFORM], "t");
    }
}
