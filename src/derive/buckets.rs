//! Which buckets derivd serves and where each one's derived objects go: resolved once from
//! the configuration, so no path re-derives the default bucket or a key layout.

use std::sync::Arc;

use crate::config::{BucketMapping, Config};
use crate::keys::{DerivedKeyParts, KeyLayout};

use super::DeriveError;

/// One allowed source bucket with its derived bucket and key layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub source: String,
    pub derived: String,
    pub layout: KeyLayout,
}

/// Every allowed source bucket, and which one a job without a bucket means.
#[derive(Debug, Clone)]
pub struct BucketMap {
    mappings: Arc<[Mapping]>,
    default_bucket: String,
}

impl BucketMap {
    pub fn from_config(cfg: &Config) -> BucketMap {
        let mappings: Vec<Mapping> = cfg.bucket_mappings().iter().map(Mapping::from).collect();
        BucketMap {
            mappings: mappings.into(),
            default_bucket: cfg.storage.default_bucket.clone(),
        }
    }

    pub fn default_bucket(&self) -> &str {
        &self.default_bucket
    }

    /// The mapping of `bucket` (the default bucket when `None`), if jobs may name it.
    pub fn get(&self, bucket: Option<&str>) -> Result<&Mapping, DeriveError> {
        let name = bucket.unwrap_or(&self.default_bucket);
        self.mappings
            .iter()
            .find(|m| m.source == name)
            .ok_or_else(|| DeriveError::BucketNotAllowed(name.to_string()))
    }

    pub fn all(&self) -> &[Mapping] {
        &self.mappings
    }

    /// Whether `key` in source bucket `bucket` is one of derivd's own outputs (under a
    /// derived prefix of a mapping that writes into that bucket): never a source.
    pub fn is_derived(&self, bucket: Option<&str>, key: &str) -> bool {
        let bucket = bucket.unwrap_or(&self.default_bucket);
        self.mappings.iter().any(|m| {
            m.derived == bucket
                && !m.layout.prefix().is_empty()
                && key.starts_with(m.layout.prefix())
        })
    }

    /// Which mapping a derived object belongs to, and what it was derived from.
    pub fn locate(&self, derived_bucket: &str, key: &str) -> Option<(&Mapping, DerivedKeyParts)> {
        self.mappings
            .iter()
            .filter(|m| m.derived == derived_bucket)
            .find_map(|m| Some((m, m.layout.parse(key).ok()?)))
    }
}

impl From<&BucketMapping> for Mapping {
    fn from(m: &BucketMapping) -> Mapping {
        Mapping {
            source: m.source.clone(),
            derived: m.derived().to_string(),
            layout: KeyLayout::new(m.prefix.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_default_and_named_buckets_once() {
        let mut cfg = Config::default();
        cfg.storage.default_bucket = "photos".into();
        cfg.storage.buckets = vec![
            BucketMapping {
                source: "photos".into(),
                derived_bucket: None,
                prefix: "derived/".into(),
            },
            BucketMapping {
                source: "docs".into(),
                derived_bucket: Some("docs-out".into()),
                prefix: "d/".into(),
            },
        ];
        let map = BucketMap::from_config(&cfg);
        assert_eq!(map.get(None).unwrap().source, "photos");
        assert_eq!(map.get(Some("docs")).unwrap().derived, "docs-out");
        assert!(matches!(map.get(Some("x")), Err(DeriveError::BucketNotAllowed(b)) if b == "x"));
        assert!(map.is_derived(None, "derived/a.jpg/thumb-256.jpg"));
        assert!(
            !map.is_derived(Some("docs"), "d/a.jpg"),
            "docs writes elsewhere"
        );
        assert!(map.is_derived(Some("docs-out"), "d/a.jpg"));
        let (m, parts) = map.locate("docs-out", "d/a b.pdf/thumb-256.jpg").unwrap();
        assert_eq!(
            (m.source.as_str(), parts.source_key.as_str()),
            ("docs", "a b.pdf")
        );
        assert!(map.locate("photos", "d/a.pdf/thumb-256.jpg").is_none());
    }
}
