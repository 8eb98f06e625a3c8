//! The lease on received messages: while work runs, a heartbeat keeps its messages
//! invisible so no other worker starts them. Jobs and repair batches hold the same lease.

use std::future::Future;
use std::time::Duration;

use tracing::warn;

use crate::queue::{Queue, QueueError};

/// Runs `work` while extending the visibility of every receipt every third of
/// `visibility`. `None` when the queue says a receipt is no longer valid (the lease ran
/// out and the message was received again, or it was deleted): `work` is then dropped
/// unfinished — whatever it already wrote is idempotent, and the new holder does the work.
/// Other heartbeat failures are logged and retried at the next beat.
pub async fn hold<T>(
    queue: &dyn Queue,
    receipts: &[&str],
    visibility: Duration,
    work: impl Future<Output = T>,
) -> Option<T> {
    let beat = async {
        let mut tick = tokio::time::interval(visibility / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            for receipt in receipts {
                match queue.change_visibility(receipt, visibility).await {
                    Ok(()) => {}
                    Err(QueueError::InvalidReceipt) => return,
                    Err(e) => warn!(error = %e, "heartbeat failed"),
                }
            }
        }
    };
    tokio::select! {
        r = work => Some(r),
        () = beat => None,
    }
}
