//! The repair listener: consumes the repair queue in batches so that losses of one source
//! reported in separate messages (S3 sends one event per lost object) still share one
//! decode, then acknowledges each message according to how its objects fared.
//!
//! A batch may hold several sources, each bounded by `worker.job_timeout_secs`, so while it
//! runs a heartbeat keeps extending every message of the batch.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::app::App;
use crate::engine::Fault;
use crate::job::{parse_message, Incoming, ObjectRef};
use crate::queue::{Queue, ReceivedMessage};

/// Runs until `shutdown`; in-flight batches finish first (they are bounded by the job
/// time limit).
pub async fn run(app: Arc<App>, queue: Arc<dyn Queue>, shutdown: CancellationToken) {
    let visibility = Duration::from_secs(app.cfg.queue.visibility_timeout_secs);
    let wait = Duration::from_secs(app.cfg.queue.wait_secs);
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = queue.receive(10, wait, visibility) => r,
        };
        match received {
            Ok(batch) if batch.is_empty() => {}
            Ok(batch) => handle_batch(&app, queue.as_ref(), batch).await,
            Err(e) => {
                warn!(error = %e, "repair receive failed; backing off");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    info!("repair listener stopped");
}

/// Repairs every lost object in `batch` with one decode per source, then deletes each
/// message whose objects are all done and leaves the others for retry.
pub async fn handle_batch(app: &App, queue: &dyn Queue, batch: Vec<ReceivedMessage>) {
    let mut lost: Vec<(usize, ObjectRef)> = Vec::new();
    let mut loss_messages = Vec::new();
    for (i, msg) in batch.iter().enumerate() {
        let items = match parse_message(&msg.body) {
            Ok(items)
                if items
                    .iter()
                    .all(|x| matches!(x, Incoming::ObjectsLost(_) | Incoming::Ignored { .. })) =>
            {
                items
            }
            // Malformed bodies and anything else take the ordinary path (drop with a
            // reason, or run as a job).
            _ => {
                crate::worker::handle_message(app, queue, msg.clone()).await;
                continue;
            }
        };
        for item in items {
            match item {
                Incoming::ObjectsLost(objects) => lost.extend(objects.into_iter().map(|o| (i, o))),
                Incoming::Ignored { reason, detail } => {
                    info!(reason, detail, "repair message needs no work");
                    app.metrics
                        .messages_ignored
                        .with_label_values(&[reason])
                        .inc();
                }
                _ => unreachable!("filtered above"),
            }
        }
        loss_messages.push(i);
    }
    let objects: Vec<ObjectRef> = lost.iter().map(|(_, o)| o.clone()).collect();
    let receipts: Vec<&str> = loss_messages
        .iter()
        .map(|&i| batch[i].receipt.as_str())
        .collect();
    let visibility = Duration::from_secs(app.cfg.queue.visibility_timeout_secs);
    let outcome = tokio::select! {
        o = crate::repair::repair_batch(app, &objects) => o,
        _ = heartbeat(queue, &receipts, visibility) => unreachable!("heartbeat never ends"),
    };
    for i in loss_messages {
        let retry: Option<Fault> = lost
            .iter()
            .zip(&outcome)
            .filter(|((m, _), _)| *m == i)
            .find_map(|(_, f)| *f);
        let msg = &batch[i];
        match retry {
            None => {
                if let Err(e) = queue.delete(&msg.receipt).await {
                    warn!(error = %e, "could not delete a repair message; it may run again");
                }
            }
            Some(_) => {
                let backoff =
                    crate::worker::backoff(app.cfg.worker.retry_backoff_secs, msg.receive_count);
                let _ = queue.change_visibility(&msg.receipt, backoff).await;
            }
        }
    }
}

/// Extends the visibility of every message in `receipts` every third of `visibility`.
async fn heartbeat(queue: &dyn Queue, receipts: &[&str], visibility: Duration) {
    let mut tick = tokio::time::interval(visibility / 3);
    tick.tick().await;
    loop {
        tick.tick().await;
        for r in receipts {
            if let Err(e) = queue.change_visibility(r, visibility).await {
                warn!(error = %e, "repair heartbeat failed");
            }
        }
    }
}
