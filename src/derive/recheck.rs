//! Re-reading the source after writing, so an older job's output never wins over a newer
//! source's.
//!
//! Derived PUTs are unconditional and the manifest follows whichever job merges last. A
//! job that fetched version 1 can therefore finish after a re-upload's job made version 2,
//! overwriting its renditions and manifest entries. Each job HEADs its source after its
//! PUTs (before merging: a changed source skips the merge) and again after the merge (a
//! re-upload between the first HEAD and the merge). On a change the deriver starts over
//! from the new version, so every stale write is followed, before its message is
//! acknowledged, by the same job rewriting the objects from a version at least as new.

use super::buckets::Mapping;
use super::source::Source;
use crate::storage::{ObjectStore, StoreError};

/// Whether `source` is still the version at its key (a deleted source is not).
pub async fn still_current(
    store: &dyn ObjectStore,
    mapping: &Mapping,
    source: &Source,
) -> Result<bool, StoreError> {
    let now = store.head(&mapping.source, &source.key).await?;
    Ok(now.is_some_and(|meta| meta.etag == source.etag))
}
