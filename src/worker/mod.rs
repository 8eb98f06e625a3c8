//! The worker pool: receive messages while a slot is free, run each as a job, acknowledge
//! (delete) a message only once everything it asked for is durably written.
//!
//! Fates, by fault (see [`crate::engine::Fault`]):
//! - **client** (malformed message, unknown transform, missing/corrupt/unsupported source,
//!   limits): logged with the reason, counted, reported in a failure notice, and the
//!   message is deleted: retrying cannot succeed, and keeping it would only fill the DLQ.
//! - **transient** (5xx, throttling, time limit): the message stays; its visibility is set
//!   to an exponential backoff so it comes back later; the queue's redrive policy moves it
//!   to the dead-letter queue after the maximum number of receives.
//! - **bug** (panic, encoder failure, permanent storage errors such as access denied): like
//!   transient, so it ends in the dead-letter queue for a human to look at.

mod budget;
mod error;
mod removed;
pub mod run;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

pub use budget::MemoryBudget;
pub use error::JobError;

use crate::app::App;
use crate::engine::Fault;
use crate::job::{parse_message, Incoming, JobRequest};
use crate::notice::Notice;
use crate::queue::{Queue, QueueError, ReceivedMessage};

/// Runs the pool on `queue` until `shutdown` is cancelled, then gives in-flight jobs the
/// configured grace period and releases whatever is still unfinished back to the queue.
pub async fn run_pool(app: Arc<App>, queue: Arc<dyn Queue>, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(app.cfg.concurrency()));
    let mut tasks = JoinSet::new();
    let visibility = Duration::from_secs(app.cfg.queue.visibility_timeout_secs);
    let wait = Duration::from_secs(app.cfg.queue.wait_secs);
    let mut receipts = std::collections::HashMap::new();
    loop {
        // Receive only when a slot is free.
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = slots.clone().acquire_owned() => p.expect("semaphore open"),
        };
        let free = 1 + slots.available_permits().min(9);
        let received = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = queue.receive(free, wait, visibility) => r,
        };
        let messages = match received {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "receive failed; backing off");
                drop(first);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let mut first = Some(first);
        for msg in messages {
            let permit = match first.take() {
                Some(p) => p,
                None => slots.clone().acquire_owned().await.expect("semaphore open"),
            };
            let (app, queue) = (app.clone(), queue.clone());
            let receipt = msg.receipt.clone();
            let handle = tasks.spawn(async move {
                handle_message(&app, queue.as_ref(), msg).await;
                drop(permit);
            });
            receipts.insert(handle.id(), receipt);
        }
        while let Some(done) = tasks.try_join_next_with_id() {
            reap(&app, done, &mut receipts);
        }
    }
    drain(app, queue, tasks, receipts).await;
}

fn reap(
    app: &App,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
    receipts: &mut std::collections::HashMap<tokio::task::Id, String>,
) {
    match done {
        Ok((id, ())) => {
            receipts.remove(&id);
        }
        Err(e) => {
            receipts.remove(&e.id());
            if e.is_panic() {
                // The message was not deleted, so it will come back and dead-letter.
                warn!("a job panicked; its message will be retried");
                app.metrics.jobs.with_label_values(&["dead_letter"]).inc();
            }
        }
    }
}

async fn drain(
    app: Arc<App>,
    queue: Arc<dyn Queue>,
    mut tasks: JoinSet<()>,
    mut receipts: std::collections::HashMap<tokio::task::Id, String>,
) {
    let grace = Duration::from_secs(app.cfg.worker.shutdown_grace_secs);
    info!(
        in_flight = tasks.len(),
        grace_secs = grace.as_secs(),
        "draining"
    );
    let deadline = tokio::time::Instant::now() + grace;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
            Ok(Some(done)) => reap(&app, done, &mut receipts),
            Ok(None) => break,
            Err(_) => break,
        }
    }
    tasks.abort_all();
    // Unfinished messages reappear now rather than after their visibility timeout.
    for receipt in receipts.values() {
        let _ = queue.change_visibility(receipt, Duration::ZERO).await;
    }
    info!(released = receipts.len(), "worker pool stopped");
}

/// Parses and handles one message; deletes it unless a job must be retried.
pub async fn handle_message(app: &App, queue: &dyn Queue, msg: ReceivedMessage) {
    let span = info_span!("message", id = %msg.id, receives = msg.receive_count);
    async {
        let retry = match parse_message(&msg.body) {
            Err(e) => {
                warn!(reason = e.kind(), error = %e, "dropping malformed message");
                app.metrics
                    .job_failures
                    .with_label_values(&[e.kind()])
                    .inc();
                app.metrics.jobs.with_label_values(&["dropped"]).inc();
                None
            }
            Ok(incomings) => {
                let mut retry = None;
                for incoming in incomings {
                    if let Some(f) = handle_incoming(app, queue, &msg, incoming).await {
                        retry = Some(f);
                    }
                }
                retry
            }
        };
        match retry {
            None => {
                if let Err(e) = queue.delete(&msg.receipt).await {
                    warn!(error = %e, "could not delete a finished message; it may run again");
                }
            }
            Some(fault) => {
                let backoff = backoff(app.cfg.worker.retry_backoff_secs, msg.receive_count);
                info!(
                    ?fault,
                    backoff_secs = backoff.as_secs(),
                    "leaving message for retry"
                );
                let _ = queue.change_visibility(&msg.receipt, backoff).await;
            }
        }
    }
    .instrument(span)
    .await
}

/// Returns `Some(fault)` when the message must stay in the queue.
async fn handle_incoming(
    app: &App,
    queue: &dyn Queue,
    msg: &ReceivedMessage,
    incoming: Incoming,
) -> Option<Fault> {
    match incoming {
        Incoming::Ignored { reason, detail } => {
            info!(reason, detail, "message needs no work");
            app.metrics
                .messages_ignored
                .with_label_values(&[reason])
                .inc();
            None
        }
        Incoming::SourcesRemoved(objects) => removed::handle(app, &objects).await,
        Incoming::ObjectsLost(objects) => crate::repair::handle_lost(app, &objects).await,
        Incoming::Jobs(jobs) => {
            let mut retry = None;
            for job in jobs {
                let visibility = Duration::from_secs(app.cfg.queue.visibility_timeout_secs);
                match with_heartbeat(queue, msg, visibility, run_one(app, &job)).await {
                    Some(None) => {}
                    Some(Some(f)) => retry = Some(f),
                    None => {
                        // The message is someone else's now (it was received again or
                        // deleted): stop, and leave it to them rather than race them.
                        warn!("lost the message's lease; abandoning its jobs");
                        app.metrics.jobs.with_label_values(&["abandoned"]).inc();
                        return Some(Fault::Transient);
                    }
                }
            }
            retry
        }
    }
}

/// Keeps the message invisible while `work` runs, so no other worker starts it twice.
/// `None` when the queue says the receipt is no longer valid (the lease ran out and the
/// message was received again, or it was deleted): `work` is then dropped unfinished —
/// whatever it already wrote is idempotent, and the new holder does the job.
pub(crate) async fn with_heartbeat<T>(
    queue: &dyn Queue,
    msg: &ReceivedMessage,
    visibility: Duration,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    let beat = async {
        let mut tick = tokio::time::interval(visibility / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            match queue.change_visibility(&msg.receipt, visibility).await {
                Ok(()) => {}
                Err(QueueError::InvalidReceipt) => return,
                Err(e) => warn!(error = %e, "heartbeat failed"),
            }
        }
    };
    tokio::select! {
        r = work => Some(r),
        () = beat => None,
    }
}

/// Runs one job under the time limit, publishes its notice; `Some(fault)` = retry.
async fn run_one(app: &App, job: &JobRequest) -> Option<Fault> {
    let span = info_span!("job", source = %job.source, id = job.id.as_deref().unwrap_or(""));
    async {
        if let Some(reason) = app.skip_reason(job) {
            info!(reason, "not a source; ignored");
            app.metrics
                .messages_ignored
                .with_label_values(&[reason])
                .inc();
            return None;
        }
        let started = Instant::now();
        let limit = Duration::from_secs(app.cfg.worker.job_timeout_secs);
        let deadline = started + limit;
        app.metrics.jobs_in_flight.inc();
        let result = match tokio::time::timeout(limit, run::run_job(app, job, deadline)).await {
            Ok(r) => r,
            Err(_) => Err(JobError::transient(
                "timeout",
                format!("over the {limit:?} job limit"),
            )),
        };
        app.metrics.jobs_in_flight.dec();
        let secs = started.elapsed().as_secs_f64();
        let bucket = job
            .bucket
            .clone()
            .unwrap_or_else(|| app.cfg.storage.default_bucket.clone());
        let (outcome, notice, retry) = match result {
            Ok(report) => {
                let outcome = if report.derived.is_empty() {
                    "up_to_date"
                } else {
                    "ok"
                };
                info!(
                    written = report.derived.len(),
                    up_to_date = report.up_to_date,
                    secs,
                    "job done"
                );
                let notice = Notice {
                    id: job.id.clone(),
                    bucket,
                    source: job.source.clone(),
                    status: "ok".into(),
                    derived: report.derived,
                    error: None,
                };
                (outcome, Some(notice), None)
            }
            Err(e) => {
                warn!(reason = e.reason, fault = ?e.fault, error = %e.message, "job failed");
                app.metrics
                    .job_failures
                    .with_label_values(&[e.reason])
                    .inc();
                let (outcome, retry) = match e.fault {
                    Fault::Client => ("dropped", None),
                    Fault::Transient => ("retry", Some(Fault::Transient)),
                    Fault::Bug => ("dead_letter", Some(Fault::Bug)),
                };
                // Retried jobs get a notice only when they finally succeed or are dropped.
                let notice = retry.is_none().then(|| Notice {
                    id: job.id.clone(),
                    bucket,
                    source: job.source.clone(),
                    status: "failed".into(),
                    derived: Vec::new(),
                    error: Some(format!("{}: {}", e.reason, e.message)),
                });
                (outcome, notice, retry)
            }
        };
        app.metrics.jobs.with_label_values(&[outcome]).inc();
        app.metrics
            .job_duration
            .with_label_values(&[outcome])
            .observe(secs);
        if let Some(n) = notice {
            if let Err(e) = app.notifier.publish(&n).await {
                warn!(error = %e, "could not publish notice");
                app.metrics
                    .job_failures
                    .with_label_values(&["notice"])
                    .inc();
            }
        }
        retry
    }
    .instrument(span)
    .await
}

/// `base`, 2×`base`, 4×`base`, … capped at 15 minutes.
pub(crate) fn backoff(base: u64, receive_count: u32) -> Duration {
    let exp = receive_count.saturating_sub(1).min(10);
    Duration::from_secs(base.saturating_mul(1 << exp).min(900))
}
