//! Writing derived objects and recording them: the one place a derived object's put
//! request and manifest entry are built, so every path writes the same thing.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::try_join_all;

use super::buckets::Mapping;
use super::identity::Identity;
use super::source::Source;
use crate::catalogue::Transform;
use crate::engine::geometry::Focus;
use crate::engine::Rendition;
use crate::manifest::{self, ManifestEntry, SourceUpdate};
use crate::storage::{ObjectStore, PutCondition, PutRequest, StorageClass, StoreError};

/// One derived object written, with the manifest entry that describes it.
#[derive(Debug, Clone)]
pub struct Written {
    /// The transform's manifest entry name (`name.ext` for a variant).
    pub transform: String,
    pub entry: ManifestEntry,
}

/// The put request and manifest entry of `rendition` of `source_key` at version `etag`.
pub fn derived_object(
    mapping: &Mapping,
    source_key: &str,
    etag: &str,
    rendition: &Rendition,
    storage_class: StorageClass,
    focus: Option<Focus>,
) -> Result<(PutRequest, Written), crate::keys::KeyError> {
    let t: &Arc<Transform> = &rendition.transform;
    let key = mapping
        .layout
        .derived_key(source_key, &t.name, t.output.format.extension())?;
    let identity = Identity::with_focus(etag, t, focus);
    let content_type = t.output.format.mime().to_string();
    let entry = ManifestEntry {
        key: key.clone(),
        digest: identity.digest.clone(),
        source_etag: identity.source_etag.clone(),
        content_type: content_type.clone(),
        bytes: rendition.bytes.len() as u64,
        width: rendition.width,
        height: rendition.height,
        extra: BTreeMap::new(),
    };
    let put = PutRequest {
        key,
        bytes: Bytes::from(rendition.bytes.clone()),
        content_type,
        storage_class,
        cache_control: t.cache_control.clone(),
        metadata: identity.metadata(source_key, &t.name),
        condition: PutCondition::None,
    };
    let written = Written {
        transform: t.entry_name(),
        entry,
    };
    Ok((put, written))
}

/// Writes every request concurrently into `bucket`.
pub async fn put_all(
    store: &dyn ObjectStore,
    bucket: &str,
    puts: Vec<PutRequest>,
) -> Result<(), StoreError> {
    try_join_all(puts.into_iter().map(|p| store.put(bucket, p))).await?;
    Ok(())
}

/// Records `written` and the source's `facts` in its manifest (merged with concurrent
/// writers).
pub async fn record(
    store: &dyn ObjectStore,
    mapping: &Mapping,
    source: &Source,
    written: &[Written],
    update: SourceUpdate<'_>,
) -> Result<(), StoreError> {
    let entries: BTreeMap<String, ManifestEntry> = written
        .iter()
        .map(|w| (w.transform.clone(), w.entry.clone()))
        .collect();
    let (bucket, layout) = (&mapping.derived, &mapping.layout);
    let (key, etag) = (&source.key, &source.etag);
    manifest::merge_with(store, bucket, layout, key, etag, &entries, update).await?;
    Ok(())
}
