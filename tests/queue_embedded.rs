//! EmbeddedQueue: the shared queue contract, plus what only a SQLite-backed queue can get wrong
//! — durability across reopen, double delivery between handles sharing one file — and the
//! rules it enforces more strictly than SQS (stale receipts, limits, FIFO order).
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::queue_contract as contract;
use derivd::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use derivd::queue::{Queue, QueueError};

const LONG_VIS: Duration = Duration::from_secs(60);

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queues.db");
    (dir, path)
}

fn open(path: &Path, name: &str) -> EmbeddedQueue {
    EmbeddedQueue::open(path, name, EmbeddedQueueSettings::default()).unwrap()
}

macro_rules! contract_tests {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let (_dir, path) = db();
            contract::$check(&open(&path, "jobs")).await;
        }
    )*};
}

contract_tests!(
    send_receive_delete,
    invisible_while_in_flight,
    reappears_after_visibility_timeout,
    change_visibility_extends_and_releases,
    stale_receipt_after_redelivery,
    batch_receive_up_to_ten,
    long_poll_returns_when_message_arrives,
    long_poll_waits_when_empty,
    check_succeeds,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_on_one_queue() {
    let (_dir, path) = db();
    contract::run_all(&open(&path, "jobs")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_after_max_receives() {
    let (_dir, path) = db();
    let settings = EmbeddedQueueSettings {
        max_receives: 2,
        dead_letter_queue: Some("jobs-dlq".into()),
    };
    let jobs = EmbeddedQueue::open(&path, "jobs", settings).unwrap();
    let dlq = open(&path, "jobs-dlq");
    contract::dead_letters_after_max_receives(&jobs, &dlq, 2).await;
}

#[tokio::test]
async fn dead_letter_keeps_id_and_restarts_count() {
    let (_dir, path) = db();
    let settings = EmbeddedQueueSettings {
        max_receives: 1,
        dead_letter_queue: Some("dlq".into()),
    };
    let jobs = EmbeddedQueue::open(&path, "jobs", settings).unwrap();
    let id = jobs.send("poison").await.unwrap();
    let first = jobs.receive(1, Duration::ZERO, LONG_VIS).await.unwrap();
    jobs.change_visibility(&first[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert!(jobs
        .receive(10, Duration::ZERO, LONG_VIS)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(jobs.len().await.unwrap(), (0, 0));
    let dead = open(&path, "dlq")
        .receive(1, Duration::ZERO, LONG_VIS)
        .await
        .unwrap();
    assert_eq!(
        (dead[0].id.as_str(), dead[0].receive_count),
        (id.as_str(), 1)
    );
    // The old receipt belonged to the source queue's delivery.
    assert!(matches!(
        jobs.delete(&first[0].receipt).await,
        Err(QueueError::InvalidReceipt)
    ));
}

#[tokio::test]
async fn without_a_dlq_over_received_messages_are_dropped() {
    let (_dir, path) = db();
    let settings = EmbeddedQueueSettings {
        max_receives: 1,
        dead_letter_queue: None,
    };
    let jobs = EmbeddedQueue::open(&path, "jobs", settings).unwrap();
    jobs.send("poison").await.unwrap();
    jobs.send("fine").await.unwrap();
    let first = jobs.receive(1, Duration::ZERO, LONG_VIS).await.unwrap();
    assert_eq!(first[0].body, "poison");
    jobs.change_visibility(&first[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    // The poison message is dropped and the receive goes on to the next one.
    let next = jobs.receive(10, Duration::ZERO, LONG_VIS).await.unwrap();
    assert_eq!(
        next.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["fine"]
    );
    assert_eq!(jobs.len().await.unwrap(), (0, 1));
}

/// Stricter than SQS on purpose: a lapsed lease cannot delete or hide the redelivered message.
#[tokio::test]
async fn stale_receipts_are_rejected() {
    let (_dir, path) = db();
    let q = open(&path, "jobs");
    q.send("m").await.unwrap();
    let old = q
        .receive(1, Duration::ZERO, LONG_VIS)
        .await
        .unwrap()
        .remove(0);
    q.change_visibility(&old.receipt, Duration::ZERO)
        .await
        .unwrap();
    let new = q
        .receive(1, Duration::ZERO, LONG_VIS)
        .await
        .unwrap()
        .remove(0);
    assert!(matches!(
        q.delete(&old.receipt).await,
        Err(QueueError::InvalidReceipt)
    ));
    assert!(matches!(
        q.change_visibility(&old.receipt, Duration::ZERO).await,
        Err(QueueError::InvalidReceipt)
    ));
    assert_eq!(
        q.len().await.unwrap(),
        (0, 1),
        "stale receipt touched the message"
    );
    q.delete(&new.receipt).await.unwrap();
    assert!(matches!(
        q.delete(&new.receipt).await,
        Err(QueueError::InvalidReceipt)
    ));
    assert!(matches!(
        q.delete("not-a-receipt").await,
        Err(QueueError::InvalidReceipt)
    ));
}

#[tokio::test]
async fn queues_in_one_file_are_independent() {
    let (_dir, path) = db();
    let (jobs, repair) = (open(&path, "jobs"), open(&path, "repair"));
    jobs.send("job").await.unwrap();
    assert!(repair
        .receive(10, Duration::ZERO, LONG_VIS)
        .await
        .unwrap()
        .is_empty());
    let m = jobs
        .receive(10, Duration::ZERO, LONG_VIS)
        .await
        .unwrap()
        .remove(0);
    assert!(matches!(
        repair.delete(&m.receipt).await,
        Err(QueueError::InvalidReceipt)
    ));
    jobs.delete(&m.receipt).await.unwrap();
}

#[tokio::test]
async fn batches_are_full_and_oldest_first() {
    let (_dir, path) = db();
    let q = open(&path, "jobs");
    for i in 0..12 {
        q.send(&format!("m{i:02}")).await.unwrap();
    }
    assert_eq!(q.len().await.unwrap(), (12, 0));
    let batch = q.receive(10, Duration::ZERO, LONG_VIS).await.unwrap();
    let bodies: Vec<_> = batch.iter().map(|m| m.body.clone()).collect();
    assert_eq!(
        bodies,
        (0..10).map(|i| format!("m{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(q.len().await.unwrap(), (2, 10));
}

#[tokio::test]
async fn sqs_limits_are_enforced() {
    let (_dir, path) = db();
    let q = open(&path, "jobs");
    for max in [0, 11] {
        let r = q.receive(max, Duration::ZERO, LONG_VIS).await;
        assert!(
            matches!(r, Err(QueueError::Permanent(_))),
            "max {max}: {r:?}"
        );
    }
    let big = "x".repeat(256 * 1024 + 1);
    assert!(matches!(q.send(&big).await, Err(QueueError::Permanent(_))));
    q.send(&"x".repeat(256 * 1024))
        .await
        .expect("exactly the limit");
    // SQS queue-name rules, so names port to SQS.
    for ok in ["jobs-dlq", "a_b", "x.fifo", &"q".repeat(80)] {
        EmbeddedQueue::open(&path, ok, EmbeddedQueueSettings::default()).expect(ok);
    }
    for bad in ["", "a b", "a/b", "../x", "a.b", ".fifo", &"q".repeat(81)] {
        let r = EmbeddedQueue::open(&path, bad, EmbeddedQueueSettings::default());
        assert!(matches!(r, Err(QueueError::Permanent(_))), "{bad:?}");
    }
    let own_dlq = EmbeddedQueueSettings {
        max_receives: 3,
        dead_letter_queue: Some("jobs".into()),
    };
    let r = EmbeddedQueue::open(&path, "jobs", own_dlq);
    assert!(matches!(r, Err(QueueError::Permanent(_))), "own DLQ");
}

/// A restart (drop every handle, reopen the file) loses nothing, and messages that were in
/// flight come back once their visibility lapses, counting the earlier receive.
#[tokio::test]
async fn messages_survive_reopen() {
    let (_dir, path) = db();
    let q = open(&path, "jobs");
    for body in ["a", "b", "c"] {
        q.send(body).await.unwrap();
    }
    let in_flight = q
        .receive(1, Duration::ZERO, Duration::from_secs(1))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(in_flight.body, "a");
    drop(q);

    let q = open(&path, "jobs");
    assert_eq!(q.len().await.unwrap(), (2, 1));
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 3 && Instant::now() < deadline {
        got.extend(
            q.receive(10, Duration::from_secs(1), LONG_VIS)
                .await
                .unwrap(),
        );
    }
    let mut seen: Vec<_> = got
        .iter()
        .map(|m| (m.body.as_str(), m.receive_count))
        .collect();
    seen.sort();
    assert_eq!(seen, [("a", 2), ("b", 1), ("c", 1)]);
}

/// Two handles (two SQLite connections, as two processes would have) receiving concurrently
/// never get the same message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_do_not_double_deliver() {
    let (_dir, path) = db();
    let (a, b) = (open(&path, "jobs"), open(&path, "jobs"));
    const N: usize = 60;
    for i in 0..N {
        a.send(&format!("m{i}")).await.unwrap();
    }
    let consumers: Vec<_> = [a.clone(), a, b.clone(), b]
        .into_iter()
        .map(|q| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let got = q
                        .receive(3, Duration::from_millis(300), LONG_VIS)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return ids;
                    }
                    ids.extend(got.into_iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a message was delivered twice");
    assert_eq!(all.len(), N);
}

/// A send on another handle in this process wakes a long poll at once (shared notifier),
/// well before the 10 s wait would end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_on_another_handle_wakes_a_long_poll() {
    let (_dir, path) = db();
    let (consumer, producer) = (open(&path, "jobs"), open(&path, "jobs"));
    let started = Instant::now();
    let (got, _) = tokio::join!(
        consumer.receive(1, Duration::from_secs(10), LONG_VIS),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            producer.send("wake").await.unwrap()
        }
    );
    assert_eq!(got.unwrap().len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}
