//! The lease against the real embedded queue (SQLite in a temp dir).

use std::time::{Duration, Instant};

use super::lease::hold;
use crate::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use crate::queue::Queue;

#[tokio::test]
async fn heartbeat_keeps_the_lease_and_gives_up_when_the_message_is_someone_elses() {
    let dir = tempfile::tempdir().unwrap();
    let settings = EmbeddedQueueSettings {
        max_receives: 0,
        dead_letter_queue: None,
    };
    let q = EmbeddedQueue::open(&dir.path().join("q.db"), "jobs", settings).unwrap();
    q.send("job").await.unwrap();
    let lease = Duration::from_millis(600);
    let first = q.receive(1, Duration::ZERO, lease).await.unwrap().remove(0);

    // Work that outlasts the lease twice over: the heartbeat keeps the message hidden.
    let work = tokio::time::sleep(Duration::from_millis(1500));
    assert_eq!(
        hold(&q, &[first.receipt.as_str()], lease, work).await,
        Some(())
    );
    let none = q.receive(1, Duration::ZERO, lease).await.unwrap();
    assert!(
        none.is_empty(),
        "another worker got a message still being worked on"
    );

    // Without a heartbeat the lease runs out and another worker takes the message; the
    // first worker's next heartbeat finds its receipt stale and drops its work.
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let second = q
        .receive(1, Duration::ZERO, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "the message is visible again");
    let started = Instant::now();
    let abandoned = hold(
        &q,
        &[first.receipt.as_str()],
        lease,
        std::future::pending::<()>(),
    )
    .await;
    assert_eq!(abandoned, None);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The new holder still owns it.
    q.delete(&second[0].receipt).await.unwrap();
}

/// A repair batch holds one lease for all its messages: when any of them is received by
/// someone else, the whole batch is abandoned rather than retried forever.
#[tokio::test]
async fn a_batch_lease_is_abandoned_when_one_receipt_goes_stale() {
    let dir = tempfile::tempdir().unwrap();
    let settings = EmbeddedQueueSettings {
        max_receives: 0,
        dead_letter_queue: None,
    };
    let q = EmbeddedQueue::open(&dir.path().join("q.db"), "repair", settings).unwrap();
    q.send("a").await.unwrap();
    q.send("b").await.unwrap();
    let lease = Duration::from_millis(600);
    let batch = q.receive(10, Duration::ZERO, lease).await.unwrap();
    assert_eq!(batch.len(), 2);
    // Another worker takes message b after its lease is made to run out.
    q.change_visibility(&batch[1].receipt, Duration::ZERO)
        .await
        .unwrap();
    let taken = q
        .receive(1, Duration::ZERO, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let receipts: Vec<&str> = batch.iter().map(|m| m.receipt.as_str()).collect();
    let started = Instant::now();
    let out = hold(&q, &receipts, lease, std::future::pending::<()>()).await;
    assert_eq!(
        out, None,
        "the batch must be abandoned, not heartbeated forever"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}
