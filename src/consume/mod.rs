//! Consuming a queue: one receive/drain loop for every queue, one lease, one ack policy.
//!
//! [`Consumer::run`] receives only when a slot is free, hands each received batch to the
//! [`Router`] in a task of its own holding one slot, and on shutdown stops receiving,
//! gives in-flight work `grace` to finish, and makes what is still unfinished visible
//! again. The job queue is consumed one message per slot (`batch` 1, so jobs run side by
//! side); the repair queue ten per batch (so losses reported in separate messages share
//! a decode).

pub mod fate;
mod jobs;
pub mod lease;
mod route;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use fate::Fate;
pub use jobs::JobRunner;
pub use route::Router;

use crate::metrics::Metrics;
use crate::queue::Queue;

pub struct Consumer {
    pub name: &'static str,
    pub queue: Arc<dyn Queue>,
    pub router: Arc<Router>,
    pub metrics: Metrics,
    /// Batches handled at once.
    pub slots: usize,
    /// Messages per batch (1..=10).
    pub batch: usize,
    pub wait: Duration,
    pub visibility: Duration,
    pub grace: Duration,
}

type Receipts = HashMap<tokio::task::Id, Vec<String>>;

impl Consumer {
    /// Runs until `shutdown`, then drains (see the module docs).
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.slots.max(1)));
        let mut tasks = JoinSet::new();
        let mut receipts: Receipts = HashMap::new();
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => p.expect("semaphore open"),
            };
            let free = 1 + slots.available_permits();
            let max = (free * self.batch).clamp(1, 10);
            let received = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = self.queue.receive(max, self.wait, self.visibility) => r,
            };
            let messages = match received {
                Ok(m) => m,
                Err(e) => {
                    warn!(queue = self.name, error = %e, "receive failed; backing off");
                    drop(first);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            let mut first = Some(first);
            for batch in chunks(messages, self.batch) {
                let permit = match first.take() {
                    Some(p) => p,
                    None => slots.clone().acquire_owned().await.expect("semaphore open"),
                };
                let ids = batch.iter().map(|m| m.receipt.clone()).collect();
                let (router, queue) = (self.router.clone(), self.queue.clone());
                let handle = tasks.spawn(async move {
                    router.handle(queue.as_ref(), batch).await;
                    drop(permit);
                });
                receipts.insert(handle.id(), ids);
            }
            while let Some(done) = tasks.try_join_next_with_id() {
                self.reap(done, &mut receipts);
            }
        }
        self.drain(tasks, receipts).await;
    }

    fn reap(&self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>, r: &mut Receipts) {
        match done {
            Ok((id, ())) => {
                r.remove(&id);
            }
            Err(e) => {
                r.remove(&e.id());
                if e.is_panic() {
                    // The messages were not deleted, so they come back and dead-letter.
                    warn!(
                        queue = self.name,
                        "a handler panicked; its messages will be retried"
                    );
                    self.metrics.jobs.with_label_values(&["dead_letter"]).inc();
                }
            }
        }
    }

    async fn drain(&self, mut tasks: JoinSet<()>, mut receipts: Receipts) {
        info!(
            queue = self.name,
            in_flight = tasks.len(),
            grace_secs = self.grace.as_secs(),
            "draining"
        );
        let deadline = tokio::time::Instant::now() + self.grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(done)) => self.reap(done, &mut receipts),
                Ok(None) | Err(_) => break,
            }
        }
        tasks.abort_all();
        // Unfinished messages reappear now rather than after their visibility timeout.
        let unfinished: Vec<String> = receipts.into_values().flatten().collect();
        for receipt in &unfinished {
            let _ = self.queue.change_visibility(receipt, Duration::ZERO).await;
        }
        info!(
            queue = self.name,
            released = unfinished.len(),
            "consumer stopped"
        );
    }
}

/// `messages` in batches of at most `size`.
fn chunks<T>(messages: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    for m in messages {
        match out.last_mut() {
            Some(last) if last.len() < size.max(1) => last.push(m),
            _ => out.push(vec![m]),
        }
    }
    out
}
