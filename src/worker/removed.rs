//! `ObjectRemoved` events: when a source is deleted, its derived objects and manifest go too
//! — but only if the source is still absent when the event is handled (it may have been
//! uploaded again since).

use tracing::{info, warn};

use crate::app::App;
use crate::engine::Fault;
use crate::job::ObjectRef;
use crate::keys::KeyLayout;

pub async fn handle(app: &App, objects: &[ObjectRef]) -> Option<Fault> {
    if !app.cfg.worker.delete_derived_on_source_removed {
        app.metrics
            .messages_ignored
            .with_label_values(&["source_removed_cleanup_disabled"])
            .inc();
        return None;
    }
    let mut retry = None;
    for o in objects {
        match cleanup(app, o).await {
            Ok(n) => info!(source = %o.key, deleted = n, "source removed; derived objects deleted"),
            Err(e) => {
                warn!(source = %o.key, error = %e, "clean-up failed; will retry");
                retry = Some(Fault::Transient);
            }
        }
    }
    retry
}

async fn cleanup(app: &App, o: &ObjectRef) -> Result<usize, crate::storage::StoreError> {
    let Some(mapping) = app.cfg.bucket(&o.bucket) else {
        app.metrics
            .messages_ignored
            .with_label_values(&["bucket_not_allowed"])
            .inc();
        return Ok(0);
    };
    let layout = KeyLayout::new(mapping.prefix.clone());
    if layout.check_source(&o.key).is_err() {
        return Ok(0);
    }
    if app.store.head(&o.bucket, &o.key).await?.is_some() {
        app.metrics
            .messages_ignored
            .with_label_values(&["source_exists_again"])
            .inc();
        return Ok(0);
    }
    let folder = layout.source_folder(&o.key);
    let mut deleted = 0;
    let mut next = None;
    loop {
        let page = app.store.list(mapping.derived(), &folder, next).await?;
        for obj in &page.objects {
            // Only this source's own objects: `a.jpg/` must not match `a.jpg/b.jpg/...`.
            let own = layout.parse(&obj.key).is_ok_and(|p| p.source_key == o.key)
                || layout.parse_manifest(&obj.key).as_deref() == Some(o.key.as_str());
            if own {
                app.store.delete(mapping.derived(), &obj.key).await?;
                deleted += 1;
            }
        }
        match page.next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    // The source may have been uploaded again while we were deleting, its new job racing
    // with us: if it is back, queue a job so nothing it owes stays deleted.
    if deleted > 0 && app.store.head(&o.bucket, &o.key).await?.is_some() {
        let mut job = crate::job::JobRequest::new(o.key.clone());
        job.bucket = Some(o.bucket.clone());
        job.force = true;
        if let Err(e) = app.jobs.send(&job.to_message_json()).await {
            warn!(source = %o.key, error = %e, "could not re-queue a re-uploaded source");
            return Err(crate::storage::StoreError::Transient(e.to_string()));
        }
        info!(source = %o.key, "source re-uploaded during clean-up; job queued");
    }
    Ok(deleted)
}
