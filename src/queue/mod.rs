//! Message-queue seam: where jobs and loss events arrive.
//!
//! Two real implementations share one behaviour contract (see `tests/common/queue_contract.rs`, run by `tests/queue_embedded.rs` and `tests/queue_sqs.rs`):
//! [`sqs::SqsQueue`] (aws-sdk-sqs) and [`embedded::EmbeddedQueue`] (SQLite, durable across
//! restarts, with SQS's visibility-timeout / receive-count / dead-letter semantics).

pub mod embedded;
pub mod sqs;

use std::time::Duration;

use async_trait::async_trait;

/// A message handed to a consumer. It stays invisible to others until its visibility
/// timeout runs out; deleting it with `receipt` acknowledges it.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub id: String,
    pub body: String,
    /// Opaque handle for delete / change_visibility; valid for this receive only.
    pub receipt: String,
    /// How many times the message has been received, this time included (starts at 1).
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The receipt is stale (message re-delivered to someone else, or already deleted).
    #[error("receipt handle is no longer valid")]
    InvalidReceipt,
    /// Worth retrying: network, 5xx, throttling, busy database.
    #[error("transient queue error: {0}")]
    Transient(String),
    /// Retrying will not help: no such queue, access denied, message too large.
    #[error("queue error: {0}")]
    Permanent(String),
}

/// Checks `max` against the rule of [`Queue::receive`].
pub fn check_receive_max(max: usize) -> Result<(), QueueError> {
    if (1..=10).contains(&max) {
        Ok(())
    } else {
        Err(QueueError::Permanent(format!(
            "max messages must be 1..=10, got {max}"
        )))
    }
}

impl QueueError {
    pub fn is_transient(&self) -> bool {
        matches!(self, QueueError::Transient(_))
    }
}

#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Up to `max` (1..=10) messages, waiting up to `wait` (long polling) for the first.
    /// Received messages become invisible for `visibility`. A `max` outside 1..=10 is the
    /// caller's bug and a [`QueueError::Permanent`] on every implementation (as SQS itself
    /// answers), never silently clamped.
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;
    /// Extend (heartbeat) or end (zero: reappear now) a received message's invisibility.
    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError>;
    /// Returns the new message's id.
    async fn send(&self, body: &str) -> Result<String, QueueError>;
    /// Readiness probe.
    async fn check(&self) -> Result<(), QueueError>;
}
