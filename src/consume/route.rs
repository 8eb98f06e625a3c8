//! Routing: what each message asks for, and who does it. Every queue routes the same way;
//! a batch received together is handled under one lease, and the lost objects of all its
//! messages are repaired together, so losses of one source share one decode.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, info_span, warn, Instrument};

use super::fate::{settle, Fate};
use super::jobs::JobRunner;
use super::lease;
use crate::cleanup::Cleaner;
use crate::job::{parse_message, Incoming, MessageError, ObjectRef};
use crate::metrics::Metrics;
use crate::notice::Notice;
use crate::queue::{Queue, ReceivedMessage};
use crate::repair::Repairer;

pub struct Router {
    pub jobs: JobRunner,
    pub cleaner: Cleaner,
    pub repairer: Arc<Repairer>,
    /// Where messages that are not job messages are kept (`queue.rejects`), if anywhere.
    pub rejects: Option<Arc<dyn Queue>>,
    pub metrics: Metrics,
    /// Visibility a lease keeps extending.
    pub visibility: Duration,
    /// First retry delay, seconds (doubles per receive).
    pub backoff_base: u64,
}

impl Router {
    /// Handles `batch` under one lease, then settles each message by its fate.
    pub async fn handle(&self, queue: &dyn Queue, batch: Vec<ReceivedMessage>) {
        let receipts: Vec<&str> = batch.iter().map(|m| m.receipt.as_str()).collect();
        let fates = match lease::hold(queue, &receipts, self.visibility, self.route(&batch)).await {
            Some(fates) => fates,
            None => {
                // The messages are someone else's now (received again or deleted): stop,
                // and leave them to the new holder rather than race it.
                warn!(
                    messages = batch.len(),
                    "lost the lease; abandoning the work"
                );
                self.metrics.leases_lost.inc();
                vec![Fate::Abandoned; batch.len()]
            }
        };
        for (msg, fate) in batch.iter().zip(fates) {
            settle(queue, msg, fate, self.backoff_base).await;
        }
    }

    async fn route(&self, batch: &[ReceivedMessage]) -> Vec<Fate> {
        let mut fates = vec![Fate::Done; batch.len()];
        let mut lost: Vec<(usize, ObjectRef)> = Vec::new();
        for (i, msg) in batch.iter().enumerate() {
            let span = info_span!("message", id = %msg.id, receives = msg.receive_count);
            let items = match parse_message(&msg.body) {
                Ok(items) => items,
                Err(e) => {
                    fates[i] = self.malformed(msg, &e).instrument(span).await;
                    continue;
                }
            };
            for item in items {
                match item {
                    Incoming::ObjectsLost(objects) => {
                        lost.extend(objects.into_iter().map(|o| (i, o)))
                    }
                    other => {
                        let fate = self.one(other).instrument(span.clone()).await;
                        fates[i] = fates[i].combine(fate);
                    }
                }
            }
        }
        if !lost.is_empty() {
            let objects: Vec<ObjectRef> = lost.iter().map(|(_, o)| o.clone()).collect();
            let outcome = self.repairer.repair(&objects).await;
            for ((i, _), fault) in lost.iter().zip(outcome) {
                if let Some(f) = fault {
                    fates[*i] = fates[*i].combine(Fate::Retry(f));
                }
            }
        }
        fates
    }

    async fn one(&self, item: Incoming) -> Fate {
        match item {
            Incoming::Ignored { reason, detail } => {
                info!(reason, detail, "message needs no work");
                self.metrics
                    .messages_ignored
                    .with_label_values(&[reason])
                    .inc();
                Fate::Done
            }
            Incoming::SourcesRemoved(objects) => match self.cleaner.handle(&objects).await {
                None => Fate::Done,
                Some(f) => Fate::Retry(f),
            },
            Incoming::Jobs(jobs) => {
                let mut fate = Fate::Done;
                for job in &jobs {
                    fate = fate.combine(self.jobs.run(job).await);
                }
                fate
            }
            Incoming::ObjectsLost(objects) => {
                let outcome = self.repairer.repair(&objects).await;
                match outcome.into_iter().flatten().next() {
                    None => Fate::Done,
                    Some(f) => Fate::Retry(f),
                }
            }
        }
    }

    /// A message that is not a valid job message: its sender learns why from a failure
    /// notice, an operator finds a copy with the reason in the rejects queue, and it leaves
    /// the job queue (retrying cannot fix it). If the copy cannot be kept, the message stays
    /// for a retry (and so ends in the dead-letter queue rather than nowhere).
    async fn malformed(&self, msg: &ReceivedMessage, e: &MessageError) -> Fate {
        let error = e.to_string();
        warn!(reason = e.kind(), error = %error.escape_debug(), "malformed message: to the rejects queue");
        let copy = serde_json::json!({
            "reason": e.kind(),
            "error": error,
            "message_id": msg.id,
            "body": msg.body,
        });
        match &self.rejects {
            Some(rejects) => {
                if let Err(err) = rejects.send(&copy.to_string()).await {
                    warn!(error = %err, "could not keep the malformed message in the rejects queue");
                    return Fate::Retry(crate::engine::Fault::Transient);
                }
            }
            None => warn!("no rejects queue (queue.rejects): only the failure notice keeps it"),
        }
        let notice = Notice::malformed(&msg.id, &msg.body, format!("{}: {error}", e.kind()));
        self.jobs
            .notifier
            .publish_counted(&notice, &self.metrics)
            .await;
        self.metrics
            .job_failures
            .with_label_values(&[e.kind()])
            .inc();
        self.metrics.jobs.with_label_values(&["dropped"]).inc();
        Fate::Done
    }
}
