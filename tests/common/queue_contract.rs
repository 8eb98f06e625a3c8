//! The behaviour every [`Queue`] must share, run against EmbeddedQueue directly and SqsQueue
//! against moto, so workers developed on the embedded queue behave the same on SQS.
//!
//! Each check expects a **fresh, empty queue with no other consumer** and leaves it empty
//! again, so `run_all` can run them back to back on one queue. Only SQS-observable behaviour is
//! asserted: visibility timeouts are whole seconds (1–2 s here), a receive may return fewer
//! messages than asked for, and a stale receipt may either fail with `InvalidReceipt` or be
//! quietly accepted (SQS documents the latter). Stricter embedded-only rules are tested in
//! `tests/queue_embedded.rs`.
//!
//! Dead-lettering is configured outside the trait (an SQS redrive policy, or
//! `EmbeddedQueueSettings`), so it is a separate check taking both queues.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use derivd::queue::{Queue, QueueError, ReceivedMessage};

const SEC: Duration = Duration::from_secs(1);
/// Long enough that nothing reappears during a check.
const LONG_VIS: Duration = Duration::from_secs(60);

/// Every check except dead-lettering, one after another on the same (empty) queue.
pub async fn run_all(q: &dyn Queue) {
    send_receive_delete(q).await;
    invisible_while_in_flight(q).await;
    reappears_after_visibility_timeout(q).await;
    change_visibility_extends_and_releases(q).await;
    stale_receipt_after_redelivery(q).await;
    batch_receive_up_to_ten(q).await;
    long_poll_returns_when_message_arrives(q).await;
    long_poll_waits_when_empty(q).await;
    check_succeeds(q).await;
    receive_max_outside_one_to_ten_is_an_error(q).await;
}

/// `receive(max)` takes 1..=10; anything else is refused, on every queue alike.
pub async fn receive_max_outside_one_to_ten_is_an_error(q: &dyn Queue) {
    for max in [0, 11, 100] {
        let r = q.receive(max, Duration::ZERO, LONG_VIS).await;
        assert!(
            matches!(r, Err(derivd::queue::QueueError::Permanent(_))),
            "receive({max}) gave {r:?}"
        );
    }
    q.send(&unique_body("max")).await.unwrap();
    let got = receive_some(q, 10, LONG_VIS, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    q.delete(&got[0].receipt).await.unwrap();
}

/// A body no other run shares, with characters SQS allows but that need care (JSON, XML,
/// non-ASCII).
pub fn unique_body(tag: &str) -> String {
    format!(
        r#"{{"check":"{tag}","run":"{}","note":"caf\u00e9 <&> ✓"}}"#,
        uuid::Uuid::new_v4().simple()
    )
}

/// Receives until at least one message arrives or `within` passes; panics on timeout.
pub async fn receive_some(
    q: &dyn Queue,
    max: usize,
    visibility: Duration,
    within: Duration,
) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + within;
    loop {
        let got = q.receive(max, SEC, visibility).await.expect("receive");
        if !got.is_empty() {
            assert!(got.len() <= max, "asked for {max}, got {}", got.len());
            return got;
        }
        assert!(Instant::now() < deadline, "no message within {within:?}");
    }
}

/// Exactly one message, within 10 s.
pub async fn receive_one(q: &dyn Queue, visibility: Duration) -> ReceivedMessage {
    let mut got = receive_some(q, 1, visibility, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    got.pop().unwrap()
}

/// Nothing is delivered during `wait` (one long poll).
pub async fn assert_nothing(q: &dyn Queue, wait: Duration, why: &str) {
    let got = q.receive(10, wait, LONG_VIS).await.expect("receive");
    assert!(got.is_empty(), "{why}: unexpectedly received {got:?}");
}

pub async fn send_receive_delete(q: &dyn Queue) {
    let body = unique_body("send-receive-delete");
    let id = q.send(&body).await.expect("send");
    assert!(!id.is_empty());
    let m = receive_one(q, SEC).await;
    assert_eq!(
        (m.id.as_str(), m.body.as_str(), m.receive_count),
        (id.as_str(), body.as_str(), 1)
    );
    assert!(!m.receipt.is_empty());
    q.delete(&m.receipt).await.expect("delete");
    // The 1 s visibility has long lapsed by the end of this wait: deleted means gone.
    assert_nothing(q, Duration::from_secs(3), "deleted message came back").await;
}

pub async fn invisible_while_in_flight(q: &dyn Queue) {
    let body = unique_body("in-flight");
    q.send(&body).await.expect("send");
    let m = receive_one(q, LONG_VIS).await;
    assert_eq!(m.body, body);
    assert_nothing(
        q,
        Duration::from_secs(2),
        "in-flight message delivered twice",
    )
    .await;
    q.delete(&m.receipt).await.expect("delete");
}

pub async fn reappears_after_visibility_timeout(q: &dyn Queue) {
    let body = unique_body("reappear");
    let id = q.send(&body).await.expect("send");
    let mut receipts = BTreeSet::new();
    for expected_count in 1..=3 {
        let m = receive_one(q, SEC).await;
        assert_eq!(
            (m.id.as_str(), m.body.as_str()),
            (id.as_str(), body.as_str())
        );
        assert_eq!(m.receive_count, expected_count, "receive count");
        assert!(
            receipts.insert(m.receipt.clone()),
            "receipt reused across receives"
        );
        if expected_count == 3 {
            q.delete(&m.receipt).await.expect("delete latest receipt");
        }
    }
    assert_nothing(q, Duration::from_secs(2), "deleted message came back").await;
}

pub async fn change_visibility_extends_and_releases(q: &dyn Queue) {
    let body = unique_body("change-visibility");
    q.send(&body).await.expect("send");
    let m = receive_one(q, SEC).await;
    // Heartbeat: extend well past the original 1 s, then outwait the original.
    q.change_visibility(&m.receipt, LONG_VIS)
        .await
        .expect("extend");
    assert_nothing(q, Duration::from_secs(3), "extended message reappeared").await;
    // Zero: visible again right away.
    q.change_visibility(&m.receipt, Duration::ZERO)
        .await
        .expect("release");
    let started = Instant::now();
    let again = receive_one(q, LONG_VIS).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "released message took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (again.body.as_str(), again.receive_count),
        (body.as_str(), 2)
    );
    q.delete(&again.receipt).await.expect("delete");
}

/// A receipt from an earlier receive must never be *required*, never un-delete anything, and
/// may only fail with `InvalidReceipt`; the latest receipt always works.
pub async fn stale_receipt_after_redelivery(q: &dyn Queue) {
    let body = unique_body("stale-receipt");
    q.send(&body).await.expect("send");
    let first = receive_one(q, SEC).await;
    let second = receive_one(q, LONG_VIS).await;
    assert_eq!(
        (second.body.as_str(), second.receive_count),
        (body.as_str(), 2)
    );
    assert_ne!(
        first.receipt, second.receipt,
        "a redelivery must get a new receipt"
    );
    q.delete(&second.receipt)
        .await
        .expect("delete with the current receipt");
    for r in [
        q.delete(&first.receipt).await,
        q.change_visibility(&first.receipt, Duration::ZERO).await,
    ] {
        assert!(
            matches!(r, Ok(()) | Err(QueueError::InvalidReceipt)),
            "stale receipt: {r:?}"
        );
    }
    assert_nothing(
        q,
        Duration::from_secs(2),
        "stale receipt resurrected a message",
    )
    .await;
}

pub async fn batch_receive_up_to_ten(q: &dyn Queue) {
    let bodies: BTreeSet<String> = (0..12)
        .map(|i| unique_body(&format!("batch-{i}")))
        .collect();
    for b in &bodies {
        q.send(b).await.expect("send");
    }
    let one = receive_some(q, 1, LONG_VIS, Duration::from_secs(10)).await;
    let mut seen: Vec<ReceivedMessage> = one;
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < bodies.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} received",
            seen.len(),
            bodies.len()
        );
        seen.extend(q.receive(10, SEC, LONG_VIS).await.expect("receive"));
        // receive() itself asserts nothing about size; do it here.
        assert!(
            seen.len() <= bodies.len(),
            "more deliveries than messages: {seen:?}"
        );
    }
    let got: BTreeSet<String> = seen.iter().map(|m| m.body.clone()).collect();
    assert_eq!(got, bodies, "each message exactly once while in flight");
    for m in &seen {
        q.delete(&m.receipt).await.expect("delete");
    }
}

pub async fn long_poll_returns_when_message_arrives(q: &dyn Queue) {
    let body = unique_body("long-poll");
    let started = Instant::now();
    let (got, sent) = tokio::join!(q.receive(1, Duration::from_secs(10), LONG_VIS), async {
        tokio::time::sleep(SEC).await;
        q.send(&body).await.expect("send")
    });
    let elapsed = started.elapsed();
    let got = got.expect("receive");
    assert_eq!(got.len(), 1, "long poll returned empty after {elapsed:?}");
    assert_eq!(
        (got[0].id.as_str(), got[0].body.as_str()),
        (sent.as_str(), body.as_str())
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "long poll took {elapsed:?} after a send at 1 s"
    );
    q.delete(&got[0].receipt).await.expect("delete");
}

pub async fn long_poll_waits_when_empty(q: &dyn Queue) {
    let started = Instant::now();
    let got = q
        .receive(10, Duration::from_secs(2), LONG_VIS)
        .await
        .expect("receive");
    assert!(got.is_empty(), "{got:?}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1500),
        "returned after {elapsed:?}, not a long poll"
    );
    assert!(elapsed < Duration::from_secs(10), "waited {elapsed:?}");
}

pub async fn check_succeeds(q: &dyn Queue) {
    q.check().await.expect("check");
}

/// `queue` dead-letters into `dlq` after `max` receives (an SQS redrive policy with
/// `maxReceiveCount = max`, or `EmbeddedQueueSettings { max_receives: max, .. }`): the message
/// is delivered `max` times, then the next receive moves it to `dlq` instead.
pub async fn dead_letters_after_max_receives(queue: &dyn Queue, dlq: &dyn Queue, max: u32) {
    assert!(max >= 1);
    let body = unique_body("dead-letter");
    queue.send(&body).await.expect("send");
    for n in 1..=max {
        let m = receive_one(queue, SEC).await;
        assert_eq!((m.body.as_str(), m.receive_count), (body.as_str(), n));
    }
    // Its visibility lapses within the wait; the receive that finds it must dead-letter it.
    assert_nothing(
        queue,
        Duration::from_secs(3),
        "delivered more than max_receives times",
    )
    .await;
    let dead = receive_one(dlq, LONG_VIS).await;
    assert_eq!(dead.body, body);
    assert!(dead.receive_count >= 1);
    dlq.delete(&dead.receipt).await.expect("delete dead letter");
    assert_nothing(
        queue,
        Duration::from_secs(1),
        "dead letter still in source queue",
    )
    .await;
}
