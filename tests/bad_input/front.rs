//! Rows at the HTTP front door, and the retry-then-dead-letter fate on SQS.

use std::time::Duration;

use super::fate::play;
use super::harness::{Env, Fate, Row};
use crate::common::fault_proxy::{FaultProxy, Match};
use crate::common::images::corpus_file;
use crate::common::moto;
use crate::common::service::metric;

/// A body over `http.max_body_bytes` is refused with 413 before it is read in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_body_over_the_limit() {
    let env = Env::start_embedded(true, |c| c.http.max_body_bytes = 4096).await;
    let client = reqwest::Client::new();
    let body = format!(r#"{{"source": "a.jpg", "id": "{}"}}"#, "x".repeat(5000));
    let resp = client
        .post(env.svc.url("/v1/jobs"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    assert_eq!(env.depths().await, (0, 0), "nothing was queued");
    let health = reqwest::get(env.svc.url("/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    env.lives_on().await;
    env.stop().await;
}

/// A body that is not UTF-8 gets the route's JSON `{"error"}` 400 like every other
/// refusal, not the framework's text/plain one (schemathesis found it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_body_not_utf8() {
    let env = Env::start_embedded(true, |_| ()).await;
    let resp = reqwest::Client::new()
        .post(env.svc.url("/v1/jobs"))
        .header("content-type", "application/json")
        .body(b"{\"source\": \"\xff\xfe.jpg\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("application/json"), "{kind}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("UTF-8")),
        "{body}"
    );
    assert_eq!(env.depths().await, (0, 0), "nothing was queued");
    env.lives_on().await;
    env.stop().await;
}

/// A notification claiming to come from an allowed topic, without a valid signature:
/// 403, counted, no certificate fetched, nothing repaired. (Every other forgery —
/// tampered message, bad base64, unknown signature version, wrong topic, replay, hostile
/// certificate URLs — is in `tests/sns_http.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_sns_message() {
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:derivd-losses";
    let env = Env::start_embedded(true, |c| c.sns.allowed_topic_arns = vec![TOPIC.into()]).await;
    let event = derivd::repair::lost_object_event("derivd", "derived/a.jpg/thumb-256.jpg");
    let forged = serde_json::json!({
        "Type": "Notification",
        "MessageId": "5a7c1f9e-0000-4000-8000-000000000001",
        "TopicArn": TOPIC,
        "Message": event,
        "Timestamp": "2026-11-27T09:00:00.000Z",
        "SignatureVersion": "2",
        "Signature": "Zm9yZ2Vk",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-forged.pem",
    });
    let resp = reqwest::Client::new()
        .post(env.svc.url("/v1/sns"))
        .header("content-type", "text/plain; charset=UTF-8")
        .body(forged.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let rejected = metric(&env.svc.app, "derivd_sns_rejected_total", &[]);
    assert_eq!(rejected, 1.0, "{}", env.svc.app.metrics.render());
    let accepted = metric(&env.svc.app, "derivd_sns_accepted_total", &[]);
    assert_eq!(accepted, 0.0);
    env.lives_on().await;
    env.stop().await;
}

/// A source S3 refuses to serve (403: a deployment problem, not the sender's fault) is
/// retried with backoff and then dead-lettered by the queue's redrive policy, body
/// intact, for a human. (Embedded: `a_job_over_its_time_limit_is_retried_then_dead_lettered`
/// in `tests/service_embedded.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_source_access_denied_is_retried_then_dead_lettered() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let env = Env::start_aws("bad-denied", proxy.url(), 2).await;
    let denied = Match::method("GET").path("/denied.jpg");
    proxy.deny_next(denied.clone(), usize::MAX);
    let body = r#"{"source": "denied.jpg", "transforms": ["thumb-256"]}"#;
    let row = Row::new(body, Fate::DeadLettered).with_source("denied.jpg", photo());
    play(&env, row).await;
    assert!(
        proxy.seen_matching(&denied) >= 2,
        "retried before dead-lettering"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    env.lives_on().await;
    env.stop().await;
}

fn photo() -> Vec<u8> {
    corpus_file("formats/ir_progressive_650x470.jpg")
}
