//! `POST /v1/sns` end to end, through the real API router: signed notifications repair a
//! lost derived object, confirmations are fetched once and only for allowed topics, and
//! everything forged, unsigned or pointing off SNS is refused before any fetch.
//!
//! Messages are signed with the fixture key pair in `tests/fixtures/sns/` (see its
//! README). A loopback stub stands in for the SNS host, reached through the test-only
//! `sns.insecure_test_cert_base_url`: the messages still carry real-shaped
//! `https://sns.us-east-1.amazonaws.com/...` URLs, so derivd's URL checks run as in
//! production. The string to sign is rebuilt here independently of derivd's builder.
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use common::service::{embedded_config, eventually, metric, start, Handles, Running};
use derivd::storage::{PutRequest, StorageClass};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Map, Value};

const CERT: &str = include_str!("fixtures/sns/signing-cert.pem");
const KEY: &str = include_str!("fixtures/sns/signing-key.pem");
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:derivd-lost";
const OTHER_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:someone-else";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-t.pem";
const SUBSCRIBE_PATH: &str = "/?Action=ConfirmSubscription&TopicArn=t&Token=tok";

/// The service under test, plus a stub SNS host that records every request it gets.
struct Env {
    app: Handles,
    _svc: Running,
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

async fn env() -> Env {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let stub = axum::Router::new().fallback(move |uri: Uri| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(uri.to_string());
            if uri.path().ends_with("missing.pem") {
                StatusCode::NOT_FOUND.into_response()
            } else if uri.path().ends_with(".pem") {
                CERT.into_response()
            } else if uri
                .query()
                .is_some_and(|q| q.contains("ConfirmSubscription"))
            {
                "<ConfirmSubscriptionResponse/>".into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
    });
    let stub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stub_addr = stub_listener.local_addr().unwrap();
    serve(stub_listener, stub).await;

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.sns.allowed_topic_arns = vec![TOPIC.into()];
    cfg.sns.insecure_test_cert_base_url = Some(format!("http://{stub_addr}"));
    let svc = start(cfg, true).await;
    let url = svc.url("/v1/sns");
    Env {
        app: Handles {
            store: svc.app.store.clone(),
            jobs: svc.app.jobs.clone(),
            repair: svc.app.repair.clone(),
            catalogue: svc.app.catalogue.clone(),
            metrics: svc.app.metrics.clone(),
        },
        _svc: svc,
        url,
        seen,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Env {
    async fn post(&self, body: impl Into<reqwest::Body>) -> u16 {
        let resp = self.client.post(&self.url).body(body).send().await.unwrap();
        resp.status().as_u16()
    }

    async fn post_json(&self, m: &Map<String, Value>) -> u16 {
        self.post(Value::Object(m.clone()).to_string()).await
    }

    /// A series' value in `/metrics` text, e.g. `derivd_sns_rejected_total{reason="x"}`.
    fn metric(&self, series: &str) -> u64 {
        let text = self.app.metrics.render();
        let line = text.lines().find(|l| l.starts_with(&format!("{series} ")));
        line.map_or(0, |l| l.rsplit(' ').next().unwrap().parse().unwrap())
    }

    fn rejected(&self, reason: &str) -> u64 {
        self.metric(&format!("derivd_sns_rejected_total{{reason=\"{reason}\"}}"))
    }

    fn accepted(&self, kind: &str) -> u64 {
        self.metric(&format!("derivd_sns_accepted_total{{type=\"{kind}\"}}"))
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// An unsigned message of `kind` for `topic`.
fn message(kind: &str, topic: &str, body: &str) -> Map<String, Value> {
    let mut m = json!({
        "Type": kind,
        "MessageId": "0c8a9f1e-0000-4000-8000-000000000001",
        "TopicArn": topic,
        "Message": body,
        "Timestamp": now_rfc3339(),
        "SignatureVersion": "2",
        "SigningCertURL": CERT_URL,
    });
    if kind != "Notification" {
        m["Token"] = json!("tok");
        m["SubscribeURL"] = json!(format!(
            "https://sns.us-east-1.amazonaws.com{SUBSCRIBE_PATH}"
        ));
    } else {
        m["Subject"] = json!("Amazon S3 Notification");
        m["UnsubscribeURL"] = json!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe");
    }
    m.as_object().unwrap().clone()
}

/// Sets `SignatureVersion` and signs the fields AWS documents, in its order.
fn sign(m: &mut Map<String, Value>, version: &str) {
    m.insert("SignatureVersion".into(), json!(version));
    let names = if m["Type"] == "Notification" {
        "Message MessageId Subject Timestamp TopicArn Type"
    } else {
        "Message MessageId SubscribeURL Timestamp Token TopicArn Type"
    };
    let text: String = (names.split(' '))
        .filter_map(|n| m.get(n).map(|v| format!("{n}\n{}\n", v.as_str().unwrap())))
        .collect();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
    let sig = match version {
        "1" => SigningKey::<sha1::Sha1>::new(key).sign(text.as_bytes()),
        _ => SigningKey::<sha2::Sha256>::new(key).sign(text.as_bytes()),
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(sig.to_vec());
    m.insert("Signature".into(), json!(b64));
}

fn signed(kind: &str, topic: &str, body: &str, version: &str) -> Map<String, Value> {
    let mut m = message(kind, topic, body);
    sign(&mut m, version);
    m
}

/// Uploads the corpus PNG, runs a `thumb-128` job on it through the job queue; returns
/// the derived key.
async fn make_derived(app: &Handles) -> String {
    let bytes = common::images::corpus_file("formats/sharp_palette.png");
    let put = PutRequest {
        key: "photos/palette.png".into(),
        bytes: bytes.into(),
        content_type: "image/png".into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: Default::default(),
        condition: Default::default(),
    };
    app.store.put("derivd", put).await.unwrap();
    let job = r#"{"source": "photos/palette.png", "transforms": ["thumb-128"]}"#;
    app.jobs.send(job).await.unwrap();
    eventually(Duration::from_secs(60), "the job", || async {
        (metric(app, "derivd_jobs_total", &["outcome=\"ok\""]) == 1.0).then_some(())
    })
    .await;
    "derived/photos/palette.png/thumb-128.jpg".to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_notifications_v1_and_v2_repair_the_lost_object() {
    let env = env().await;
    let key = make_derived(&env.app).await;
    let event = derivd::repair::lost_object_event("derivd", &key);
    for (i, version) in ["1", "2"].into_iter().enumerate() {
        env.app.store.delete("derivd", &key).await.unwrap();
        assert!(env.app.store.head("derivd", &key).await.unwrap().is_none());
        let status = env
            .post_json(&signed("Notification", TOPIC, &event, version))
            .await;
        assert_eq!(status, 200, "SignatureVersion {version}");
        let back = env.app.store.get("derivd", &key).await.unwrap();
        assert!(
            back.is_some_and(|o| !o.bytes.is_empty()),
            "{key} not repaired"
        );
        assert_eq!(env.accepted("notification"), i as u64 + 1);
    }
    assert_eq!(env.metric("derivd_repairs_total{result=\"repaired\"}"), 2);
    assert_eq!(
        env.seen(),
        ["/SimpleNotificationService-t.pem"],
        "cert fetched once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_confirmation_is_fetched_once_for_allowed_topics_only() {
    let env = env().await;
    let other = signed("SubscriptionConfirmation", OTHER_TOPIC, "join", "1");
    assert_eq!(env.post_json(&other).await, 403);
    assert!(
        env.seen().is_empty(),
        "nothing fetched for a topic not allowed"
    );
    assert_eq!(env.rejected("topic_not_allowed"), 1);

    let mine = signed("SubscriptionConfirmation", TOPIC, "join", "1");
    assert_eq!(env.post_json(&mine).await, 200);
    let confirms = env.seen().iter().filter(|u| *u == SUBSCRIBE_PATH).count();
    assert_eq!(confirms, 1, "{:?}", env.seen());
    assert_eq!(env.accepted("subscription_confirmation"), 1);

    // A forged confirmation (token changed after signing) confirms nothing.
    let mut forged = mine.clone();
    forged["Token"] = json!("tok2");
    assert_eq!(env.post_json(&forged).await, 403);
    let confirms = env.seen().iter().filter(|u| *u == SUBSCRIBE_PATH).count();
    assert_eq!(confirms, 1);

    // A SubscribeURL off the SNS host is never fetched, even if signed.
    let mut off = message("SubscriptionConfirmation", TOPIC, "join");
    off["SubscribeURL"] = json!("https://sns.us-east-1.amazonaws.com.evil.com/?Action=X");
    sign(&mut off, "2");
    assert_eq!(env.post_json(&off).await, 403);
    assert_eq!(env.rejected("bad_subscribe_url"), 1);
    assert_eq!(env.seen().len(), 2, "{:?}", env.seen());

    // A certificate from another region than the topic's is never fetched.
    let mut elsewhere = message("SubscriptionConfirmation", TOPIC, "join");
    elsewhere["SigningCertURL"] =
        json!("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-t.pem");
    sign(&mut elsewhere, "2");
    assert_eq!(env.post_json(&elsewhere).await, 403);
    assert_eq!(env.rejected("bad_cert_url"), 1);
    assert_eq!(env.seen().len(), 2, "{:?}", env.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_confirmation_is_verified_then_acknowledged() {
    let env = env().await;
    let m = signed("UnsubscribeConfirmation", TOPIC, "bye", "2");
    assert_eq!(env.post_json(&m).await, 200);
    assert_eq!(env.accepted("unsubscribe_confirmation"), 1);
    let mut forged = m.clone();
    forged["Message"] = json!("byf");
    assert_eq!(env.post_json(&forged).await, 403);
    assert_eq!(env.rejected("bad_signature"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_and_unknown_versions_are_refused() {
    let env = env().await;
    let event = derivd::repair::lost_object_event("derivd", "derived/photos/x.png/thumb-128.webp");
    let good = signed("Notification", TOPIC, &event, "2");

    let mut forged = good.clone();
    let mut bytes = event.clone().into_bytes();
    bytes[2] ^= 0x01;
    forged["Message"] = json!(String::from_utf8(bytes).unwrap());
    assert_eq!(env.post_json(&forged).await, 403);
    assert_eq!(env.rejected("bad_signature"), 1);

    let mut unsigned = good.clone();
    unsigned.remove("Signature");
    assert_eq!(env.post_json(&unsigned).await, 403);
    assert_eq!(env.rejected("unsigned"), 1);

    let mut garbage = good.clone();
    garbage["Signature"] = json!("not base64!");
    assert_eq!(env.post_json(&garbage).await, 403);
    assert_eq!(env.rejected("bad_signature"), 2);

    let mut v3 = message("Notification", TOPIC, &event);
    sign(&mut v3, "2");
    v3["SignatureVersion"] = json!("3");
    assert_eq!(env.post_json(&v3).await, 403);
    assert_eq!(env.rejected("bad_signature_version"), 1);

    // Signed as SHA1 but labelled version 2.
    let mut relabelled = signed("Notification", TOPIC, &event, "1");
    relabelled["SignatureVersion"] = json!("2");
    assert_eq!(env.post_json(&relabelled).await, 403);
    assert_eq!(env.rejected("bad_signature"), 3);

    let other = signed("Notification", OTHER_TOPIC, &event, "2");
    assert_eq!(env.post_json(&other).await, 403);
    assert_eq!(env.rejected("topic_not_allowed"), 1);

    // A correctly signed message captured two hours ago and replayed.
    let mut old = message("Notification", TOPIC, &event);
    let two_hours_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    let stamp = two_hours_ago.format(&time::format_description::well_known::Rfc3339);
    old["Timestamp"] = json!(stamp.unwrap());
    sign(&mut old, "2");
    assert_eq!(env.post_json(&old).await, 403);
    assert_eq!(env.rejected("stale"), 1);

    assert_eq!(env.accepted("notification"), 0);
    assert_eq!(
        env.metric("derivd_repairs_total{result=\"not_derived\"}"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_urls_off_sns_are_refused_without_any_fetch() {
    let env = env().await;
    let bad = [
        "https://evil.example.com/SimpleNotificationService-t.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-t.pem",
        "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-t.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-t.txt",
        "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-t.pem",
        "https://x@sns.us-east-1.amazonaws.com/SimpleNotificationService-t.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-t.pem",
        "https://sns.us-east-1.amazonaws.com/t.pem?x=1",
    ];
    for url in bad {
        let mut m = signed("Notification", TOPIC, "{}", "2");
        m["SigningCertURL"] = json!(url);
        assert_eq!(env.post_json(&m).await, 403, "{url}");
    }
    let mut none = signed("Notification", TOPIC, "{}", "2");
    none.remove("SigningCertURL");
    assert_eq!(env.post_json(&none).await, 403);
    assert_eq!(env.rejected("bad_cert_url"), bad.len() as u64 + 1);
    assert!(env.seen().is_empty(), "fetched {:?}", env.seen());

    // A well-shaped URL the host refuses: one fetch, not cached, refused.
    let mut missing = signed("Notification", TOPIC, "{}", "2");
    missing["SigningCertURL"] = json!("https://sns.us-east-1.amazonaws.com/missing.pem");
    assert_eq!(env.post_json(&missing).await, 403);
    assert_eq!(env.rejected("bad_cert"), 1);
    assert_eq!(env.seen(), ["/missing.pem"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_is_refused_and_counted() {
    let env = env().await;
    assert_eq!(env.post("not json").await, 400);
    assert_eq!(env.rejected("not_json"), 1);
    assert_eq!(env.post("[1, 2]").await, 403);
    assert_eq!(env.post(r#"{"Type": 7}"#).await, 403);
    assert_eq!(env.rejected("malformed"), 2);
    let unknown = signed("Surprise", TOPIC, "x", "2");
    assert_eq!(env.post_json(&unknown).await, 403);
    assert_eq!(env.rejected("unknown_type"), 1);
    let mut missing = signed("Notification", TOPIC, "x", "2");
    missing.remove("Timestamp");
    assert_eq!(env.post_json(&missing).await, 403);
    assert_eq!(env.rejected("malformed"), 3);
    let huge = format!("{{\"Message\": \"{}\"}}", "a".repeat(600 * 1024));
    assert_eq!(env.post(huge).await, 403);
    assert_eq!(env.rejected("too_large"), 1);
    // A verified message whose payload is not an S3 event: the sender's fault, 400. The
    // larger one passes although it is over the API's general body limit (64 KiB).
    for body in ["hello".to_string(), "x".repeat(100 * 1024)] {
        let not_event = signed("Notification", TOPIC, &body, "2");
        assert_eq!(env.post_json(&not_event).await, 400);
    }
    assert_eq!(env.rejected("bad_message"), 2);
    assert!(env
        .app
        .metrics
        .render()
        .contains("derivd_sns_accepted_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_forged_requests_with_a_bad_certificate_fetches_it_once() {
    let env = env().await;
    let mut forged = signed("Notification", TOPIC, "{}", "2");
    forged["SigningCertURL"] = json!("https://sns.us-east-1.amazonaws.com/missing.pem");
    let burst = (0..20).map(|_| env.post_json(&forged));
    let statuses = futures_util::future::join_all(burst).await;
    assert!(statuses.iter().all(|s| *s == 403), "{statuses:?}");
    // Then 20 more, one after another.
    for _ in 0..20 {
        assert_eq!(env.post_json(&forged).await, 403);
    }
    assert_eq!(env.rejected("bad_cert"), 40);
    assert_eq!(env.seen(), ["/missing.pem"], "one fetch for 40 requests");
}
