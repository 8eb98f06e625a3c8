//! Deterministic derived-object keys.
//!
//! Any client can compute where a derived object lives from the source key and the
//! transform name alone: `{prefix}{source_key}/{transform}.{ext}`, e.g.
//! `uploads/cat photo.jpg` + `thumb-256` → `derived/uploads/cat photo.jpg/thumb-256.jpg`.
//! The inverse ([`KeyLayout::parse`]) is exact for every valid S3 key because transform
//! names can contain neither `/` nor `.`: the last `/` always separates the source key from
//! `{transform}.{ext}`. Beside the derived objects of a source lives its manifest,
//! `{prefix}{source_key}/_manifest.json` (`_` cannot start a transform name).

/// S3's limit on a key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;
/// File name of the per-source manifest under the source's derived folder.
pub const MANIFEST_NAME: &str = "_manifest.json";
/// Name of the published catalogue, directly under the prefix.
pub const CATALOGUE_NAME: &str = "_catalogue.json";

/// Whether `name` may name a transform. The rule belongs to the keys: a derived key
/// embeds the name, and parses back only because names are this narrow.
///
/// `[a-z0-9][a-z0-9-]{0,62}`: safe in keys, URLs and file names; no `.` or `/` so derived
/// keys parse back unambiguously.
pub fn is_valid_transform_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Whether `name` may name what a job asks for: a transform, or one variant of a
/// transform with several formats, `name.ext` (`thumb-256.webp`; the extension is that of
/// its derived key).
pub fn is_valid_selection_name(name: &str) -> bool {
    match name.split_once('.') {
        None => is_valid_transform_name(name),
        Some((name, ext)) => {
            is_valid_transform_name(name)
                && (1..=5).contains(&ext.len())
                && ext
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is empty")]
    Empty,
    #[error("key is {0} bytes; S3 allows at most 1024")]
    TooLong(usize),
    #[error("source key {0:?} lies under the derived prefix; derived objects are never sources")]
    SourceUnderDerivedPrefix(String),
    #[error("{0:?} is not a derived key of this layout")]
    NotDerived(String),
}

/// Where derived objects live relative to their source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    prefix: String,
}

/// A derived key taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedKeyParts {
    pub source_key: String,
    pub transform: String,
    pub extension: String,
}

impl Default for KeyLayout {
    fn default() -> Self {
        KeyLayout {
            prefix: "derived/".to_string(),
        }
    }
}

impl KeyLayout {
    /// `prefix` is used verbatim (usually ends in `/`; may be empty when derived objects
    /// go to a bucket of their own).
    pub fn new(prefix: impl Into<String>) -> Self {
        KeyLayout {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Template shown in the catalogue, e.g. `derived/{source_key}/thumb-256.jpg`.
    pub fn template(&self, transform: &str, extension: &str) -> String {
        format!("{}{{source_key}}/{transform}.{extension}", self.prefix)
    }

    /// True when `key` can be a source: not empty, within S3's limit, and not under the
    /// derived prefix (which would let derived objects spawn jobs of their own).
    pub fn check_source(&self, key: &str) -> Result<(), KeyError> {
        check_len(key)?;
        if !self.prefix.is_empty() && key.starts_with(&self.prefix) {
            return Err(KeyError::SourceUnderDerivedPrefix(key.to_string()));
        }
        Ok(())
    }

    pub fn derived_key(
        &self,
        source_key: &str,
        transform: &str,
        extension: &str,
    ) -> Result<String, KeyError> {
        if source_key.is_empty() {
            return Err(KeyError::Empty);
        }
        let key = format!("{}{source_key}/{transform}.{extension}", self.prefix);
        check_len(&key)?;
        Ok(key)
    }

    /// Folder holding every derived object of one source (ends with `/`).
    pub fn source_folder(&self, source_key: &str) -> String {
        format!("{}{source_key}/", self.prefix)
    }

    pub fn manifest_key(&self, source_key: &str) -> Result<String, KeyError> {
        if source_key.is_empty() {
            return Err(KeyError::Empty);
        }
        let key = format!("{}{source_key}/{MANIFEST_NAME}", self.prefix);
        check_len(&key)?;
        Ok(key)
    }

    pub fn catalogue_key(&self) -> String {
        format!("{}{CATALOGUE_NAME}", self.prefix)
    }

    /// Source key of a manifest key, if `key` is one.
    pub fn parse_manifest(&self, key: &str) -> Option<String> {
        let rest = key.strip_prefix(&self.prefix)?;
        let source = rest.strip_suffix(MANIFEST_NAME)?.strip_suffix('/')?;
        (!source.is_empty()).then(|| source.to_string())
    }

    /// The exact inverse of [`KeyLayout::derived_key`].
    pub fn parse(&self, derived_key: &str) -> Result<DerivedKeyParts, KeyError> {
        let not_derived = || KeyError::NotDerived(derived_key.to_string());
        check_len(derived_key)?;
        let rest = derived_key
            .strip_prefix(&self.prefix)
            .ok_or_else(not_derived)?;
        let (source_key, file) = rest.rsplit_once('/').ok_or_else(not_derived)?;
        let (transform, extension) = file.split_once('.').ok_or_else(not_derived)?;
        let ext_ok = !extension.is_empty()
            && extension
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if source_key.is_empty() || !is_valid_transform_name(transform) || !ext_ok {
            return Err(not_derived());
        }
        Ok(DerivedKeyParts {
            source_key: source_key.to_string(),
            transform: transform.to_string(),
            extension: extension.to_string(),
        })
    }
}

fn check_len(key: &str) -> Result<(), KeyError> {
    match key.len() {
        0 => Err(KeyError::Empty),
        n if n > MAX_KEY_BYTES => Err(KeyError::TooLong(n)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documented_example() {
        let l = KeyLayout::default();
        let k = l
            .derived_key("uploads/cat photo.jpg", "thumb-256", "jpg")
            .unwrap();
        assert_eq!(k, "derived/uploads/cat photo.jpg/thumb-256.jpg");
        let p = l.parse(&k).unwrap();
        assert_eq!(p.source_key, "uploads/cat photo.jpg");
        assert_eq!(p.transform, "thumb-256");
        assert_eq!(p.extension, "jpg");
    }

    #[test]
    fn too_long_is_typed_error() {
        let l = KeyLayout::default();
        let src = "a".repeat(1010);
        assert!(matches!(
            l.derived_key(&src, "thumb-256", "jpg"),
            Err(KeyError::TooLong(_))
        ));
    }

    #[test]
    fn manifests_and_catalogue_are_not_derived_objects() {
        let l = KeyLayout::default();
        let m = l.manifest_key("a/b.jpg").unwrap();
        assert!(l.parse(&m).is_err());
        assert_eq!(l.parse_manifest(&m).as_deref(), Some("a/b.jpg"));
        assert!(l.parse(&l.catalogue_key()).is_err());
        assert!(l.parse("elsewhere/a.jpg/thumb-256.jpg").is_err());
    }

    #[test]
    fn sources_under_the_prefix_are_refused() {
        let l = KeyLayout::default();
        assert!(l.check_source("derived/x.jpg/thumb-256.jpg").is_err());
        assert!(l.check_source("uploads/x.jpg").is_ok());
    }

    fn transform_name() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9-]{0,62}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn round_trip(source in "\\PC{1,200}", t in transform_name(),
                      ext in prop::sample::select(vec!["jpg", "png", "webp"]),
                      prefix in prop::sample::select(vec!["derived/", "", "d/x/"])) {
            let l = KeyLayout::new(prefix);
            if let Ok(k) = l.derived_key(&source, &t, ext) {
                let p = l.parse(&k).unwrap();
                prop_assert_eq!(p.source_key, source);
                prop_assert_eq!(p.transform, t);
                prop_assert_eq!(p.extension, ext);
            }
        }

        #[test]
        fn round_trip_awkward(segs in prop::collection::vec(
                prop::sample::select(vec!["a", "a b", "+", "%2F", "%", "ü", "日本", "..", ".", "", "x.jpg", "_manifest.json", "thumb-256.jpg"]), 1..8),
                t in transform_name()) {
            let source = segs.join("/");
            prop_assume!(!source.is_empty());
            let l = KeyLayout::default();
            let k = l.derived_key(&source, &t, "jpg").unwrap();
            let p = l.parse(&k).unwrap();
            prop_assert_eq!(p.source_key, source);
            prop_assert_eq!(p.transform, t);
        }
    }
}
