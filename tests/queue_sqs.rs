//! `SqsQueue` against moto: the shared queue contract plus SQS-specific behaviour.
//!
//! Why: derivd leans on SQS semantics (receive counts, visibility leases, redrive to a
//! dead-letter queue, SNS fan-in of S3 notices), so they are checked on a real SQS API.
//! Needs moto (run scripts/test.sh); every test makes its own queues.

mod common;

use std::time::Duration;

use common::{moto, queue_contract};
use derivd::queue::sqs::SqsQueue;
use derivd::queue::{Queue, QueueError};

async fn new_sqs_queue(prefix: &str) -> SqsQueue {
    let (url, _) = moto::new_queue(prefix, None).await;
    SqsQueue::new(moto::sqs().await, url)
}

const LEASE: Duration = Duration::from_secs(30);

/// The backend-neutral contract (shared with EmbeddedQueue) on a fresh queue.
#[tokio::test]
async fn queue_contract() {
    let q = new_sqs_queue("contract").await;
    queue_contract::run_all(&q).await;
}

/// Dead-lettering through an SQS redrive policy, checked by the shared contract.
#[tokio::test]
async fn queue_contract_dead_letters() {
    let (dlq_url, dlq_arn) = moto::new_queue("contract-dlq", None).await;
    let (url, _) = moto::new_queue("contract-redrive", Some((&dlq_arn, 2))).await;
    let sqs = moto::sqs().await;
    let q = SqsQueue::new(sqs.clone(), url);
    let dlq = SqsQueue::new(sqs, dlq_url);
    queue_contract::dead_letters_after_max_receives(&q, &dlq, 2).await;
}

#[tokio::test]
async fn receive_honours_max() {
    let q = new_sqs_queue("max").await;
    for i in 0..12 {
        q.send(&format!("m{i}")).await.unwrap();
    }
    let two = q.receive(2, Duration::ZERO, LEASE).await.unwrap();
    assert!(!two.is_empty() && two.len() <= 2, "{}", two.len());
    let many = q.receive(10, Duration::ZERO, LEASE).await.unwrap();
    assert!(!many.is_empty() && many.len() <= 10, "{}", many.len());
    // Outside 1..=10 is refused, as by the embedded queue (the queue contract's rule).
    assert!(q.receive(50, Duration::ZERO, LEASE).await.is_err());
    assert!(q.receive(0, Duration::ZERO, LEASE).await.is_err());
}

#[tokio::test]
async fn lease_expiry_makes_a_message_visible_again() {
    let q = new_sqs_queue("lease").await;
    q.send("short lease").await.unwrap();
    let first = q
        .receive(1, Duration::ZERO, Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(first.len(), 1); // 1 ms is rounded up to a 1 s lease
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = q.receive(1, Duration::from_secs(2), LEASE).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].receive_count, 2);
    q.delete(&second[0].receipt).await.unwrap();
}

#[tokio::test]
async fn bogus_receipts_are_invalid_receipt() {
    let q = new_sqs_queue("receipts").await;
    let err = q.delete("not-a-receipt").await.unwrap_err();
    assert!(matches!(err, QueueError::InvalidReceipt), "{err:?}");
    let err = q
        .change_visibility("not-a-receipt", LEASE)
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::InvalidReceipt), "{err:?}");
}

#[tokio::test]
async fn queue_names_resolve_and_missing_queues_are_permanent() {
    let (url, _) = moto::new_queue("byname", None).await;
    let name = url.rsplit('/').next().unwrap();
    let q = SqsQueue::from_name(moto::sqs().await, name).await.unwrap();
    assert_eq!(q.queue_url(), url);
    q.check().await.unwrap();

    let missing = format!("no-such-queue-{}", uuid::Uuid::new_v4().simple());
    let err = SqsQueue::from_name(moto::sqs().await, &missing)
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::Permanent(_)), "{err:?}");
    let gone = SqsQueue::new(moto::sqs().await, url.replace(name, &missing));
    let err = gone.check().await.unwrap_err();
    assert!(matches!(err, QueueError::Permanent(_)), "{err:?}");
    let err = gone.send("x").await.unwrap_err();
    assert!(matches!(err, QueueError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn sns_fans_in_to_the_queue_raw_and_enveloped() {
    let sns = moto::sns().await;
    for raw in [true, false] {
        let tq = moto::new_topic_with_queue_subscription("notices", raw).await;
        assert!(tq.subscription_arn.starts_with(&tq.topic_arn), "{tq:?}");
        sns.publish()
            .topic_arn(&tq.topic_arn)
            .message(r#"{"Records":[]}"#)
            .send()
            .await
            .unwrap();
        let q = SqsQueue::new(moto::sqs().await, tq.queue_url.clone());
        let got = q.receive(1, Duration::from_secs(2), LEASE).await.unwrap();
        assert_eq!(got.len(), 1, "raw={raw}");
        if raw {
            assert_eq!(got[0].body, r#"{"Records":[]}"#);
        } else {
            let env: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
            assert_eq!(env["Type"], "Notification");
            assert_eq!(env["TopicArn"], tq.topic_arn.as_str());
            assert_eq!(env["Message"], r#"{"Records":[]}"#);
        }
    }
}
