//! The embedded backend's state as the service tests read it: sources put straight into
//! the store, queue lengths from the SQLite file, notices from the JSONL file.

use derivd::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use derivd::storage::ObjectStore;

/// Puts `bytes` at `key` in the bucket `bucket`, as a client's upload would.
pub async fn upload(store: &dyn ObjectStore, bucket: &str, key: &str, bytes: Vec<u8>) {
    store
        .put(bucket, super::source_put(key, bytes))
        .await
        .unwrap();
}

/// (visible, in flight) messages of the queue `name` in `dir`'s queue file.
pub async fn queue_len(dir: &std::path::Path, name: &str) -> (usize, usize) {
    let db = dir.join("queue.sqlite3");
    let q = EmbeddedQueue::open(&db, name, EmbeddedQueueSettings::default()).unwrap();
    q.len().await.unwrap()
}

/// Every notice written to `dir`'s notices file so far.
pub fn notices(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("notices.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
