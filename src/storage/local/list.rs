//! Listing a bucket of a [`super::LocalStore`]: every record header is read and the smallest
//! keys after the continuation kept (see the store's module docs for the cost).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::record::open_record;
use super::{IoContext, PAGE_SIZE};
use crate::storage::{ListPage, ObjectMeta, StoreError};

/// Files in the shard folders under `objects` (`objects/xx/yy/<name>`) whose name `keep`
/// accepts. A missing folder is an empty bucket or shard, not an error.
pub(super) fn shard_files(
    objects: &Path,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, StoreError> {
    let mut level = vec![objects.to_path_buf()];
    for depth in 0..3 {
        let mut next = Vec::new();
        for dir in level {
            let entries = match fs::read_dir(&dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                other => other.ctx("read", &dir)?,
            };
            for entry in entries {
                let path = entry.ctx("read", &dir)?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if depth < 2 || keep(name) {
                    next.push(path);
                }
            }
        }
        level = next;
    }
    Ok(level)
}

/// Records are `<64 hex>.obj`; `.tmp-*` leftovers are skipped.
fn is_record(name: &str) -> bool {
    name.len() == 68 && name.ends_with(".obj")
}

pub(super) fn list_blocking(
    objects: &Path,
    prefix: &str,
    after: Option<&str>,
) -> Result<ListPage, StoreError> {
    // Smallest PAGE_SIZE + 1 matching keys: the extra one tells whether another page exists.
    let mut best: BTreeMap<String, ObjectMeta> = BTreeMap::new();
    for path in shard_files(objects, is_record)? {
        // A record deleted since it was found is simply not listed.
        let Some((meta, _)) = open_record(&path)? else {
            continue;
        };
        let wanted = meta.key.starts_with(prefix)
            && after.is_none_or(|a| meta.key.as_str() > a)
            && (best.len() <= PAGE_SIZE
                || best.last_key_value().is_some_and(|(k, _)| *k > meta.key));
        if wanted {
            best.insert(meta.key.clone(), meta);
            if best.len() > PAGE_SIZE + 1 {
                best.pop_last();
            }
        }
    }
    let more = best.len() > PAGE_SIZE;
    let objects: Vec<ObjectMeta> = best.into_values().take(PAGE_SIZE).collect();
    let next = objects.last().filter(|_| more).map(|m| m.key.clone());
    Ok(ListPage { objects, next })
}
