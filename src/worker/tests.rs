//! The heartbeat against the real embedded queue (SQLite in a temp dir).

use std::time::{Duration, Instant};

use super::with_heartbeat;
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
    assert_eq!(with_heartbeat(&q, &first, lease, work).await, Some(()));
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
    let abandoned = with_heartbeat(&q, &first, lease, std::future::pending::<()>()).await;
    assert_eq!(abandoned, None);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The new holder still owns it.
    q.delete(&second[0].receipt).await.unwrap();
}
