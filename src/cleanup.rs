//! `ObjectRemoved` events: when a source is deleted, its derived objects and manifest go too
//! — but only if the source is still absent when the event is handled (it may have been
//! uploaded again since), and only with `worker.delete_derived_on_source_removed`.
//! Absence must be confirmed ([`ObjectStore::confirm_absent`]): a misrouted 404 never deletes.

use std::sync::Arc;

use tracing::{info, warn};

use crate::derive::BucketMap;
use crate::engine::Fault;
use crate::job::{JobRequest, ObjectRef};
use crate::metrics::Metrics;
use crate::queue::{Queue, QueueError};
use crate::storage::{ObjectStore, StoreError};

pub struct Cleaner {
    pub store: Arc<dyn ObjectStore>,
    pub buckets: BucketMap,
    /// Where a job goes for a source re-uploaded during clean-up.
    pub jobs: Arc<dyn Queue>,
    pub metrics: Metrics,
    pub enabled: bool,
}

#[derive(Debug, thiserror::Error)]
enum CleanupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not queue a job for the re-uploaded source: {0}")]
    Queue(#[from] QueueError),
}

impl Cleaner {
    /// Cleans up after every removed source; `Some(fault)` when any must be retried.
    pub async fn handle(&self, objects: &[ObjectRef]) -> Option<Fault> {
        if !self.enabled {
            self.ignored("source_removed_cleanup_disabled");
            return None;
        }
        let mut retry = None;
        for o in objects {
            match self.cleanup(o).await {
                Ok(n) => {
                    info!(source = ?o.key, deleted = n, "source removed; derived objects deleted")
                }
                Err(e) => {
                    warn!(source = ?o.key, error = %e.to_string().escape_debug(), "clean-up failed; will retry");
                    retry = Some(Fault::Transient);
                }
            }
        }
        retry
    }

    fn ignored(&self, reason: &str) {
        self.metrics
            .messages_ignored
            .with_label_values(&[reason])
            .inc();
    }

    async fn cleanup(&self, o: &ObjectRef) -> Result<usize, CleanupError> {
        let Ok(mapping) = self.buckets.get(Some(&o.bucket)) else {
            self.ignored("bucket_not_allowed");
            return Ok(0);
        };
        if mapping.layout.check_source(&o.key).is_err() {
            return Ok(0);
        }
        // Deleting needs proof, not a HEAD's bodiless 404 (a proxy or a wrong endpoint says
        // the same): an unconfirmed absence is an error, retried and in the end dead-lettered.
        if !self.store.confirm_absent(&o.bucket, &o.key).await? {
            self.ignored("source_exists_again");
            return Ok(0);
        }
        let deleted = self
            .delete_derived(&mapping.derived, &mapping.layout, &o.key)
            .await?;
        // The source may have been uploaded again while we were deleting, its new job racing
        // with us: if it is back, queue a job so nothing it owes stays deleted.
        if deleted > 0 && self.store.head(&o.bucket, &o.key).await?.is_some() {
            let mut job = JobRequest::new(o.key.clone());
            job.bucket = Some(o.bucket.clone());
            job.force = true;
            self.jobs.send(&job.to_message_json()).await?;
            info!(source = ?o.key, "source re-uploaded during clean-up; job queued");
        }
        Ok(deleted)
    }

    /// Deletes the source's own derived objects and manifest; how many.
    async fn delete_derived(
        &self,
        bucket: &str,
        layout: &crate::keys::KeyLayout,
        source_key: &str,
    ) -> Result<usize, StoreError> {
        let folder = layout.source_folder(source_key);
        let mut deleted = 0;
        let mut next = None;
        loop {
            let page = self.store.list(bucket, &folder, next).await?;
            for obj in &page.objects {
                // Only this source's own objects: `a.jpg/` must not match `a.jpg/b.jpg/...`.
                let own = layout
                    .parse(&obj.key)
                    .is_ok_and(|p| p.source_key == source_key)
                    || layout.parse_manifest(&obj.key).as_deref() == Some(source_key);
                if own {
                    self.store.delete(bucket, &obj.key).await?;
                    deleted += 1;
                }
            }
            match page.next {
                Some(n) => next = Some(n),
                None => return Ok(deleted),
            }
        }
    }
}
