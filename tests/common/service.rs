//! Starting the real service in-process for tests, as `derivd serve` does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use derivd::catalogue::Catalogue;
use derivd::config::{Backend, BucketMapping, Config};
use derivd::metrics::Metrics;
use derivd::queue::Queue;
use derivd::startup::Application;
use derivd::storage::ObjectStore;
use tokio_util::sync::CancellationToken;

/// Tuning every service test shares: short polls, quick retries, two slots, no HTTP.
fn for_tests(mut cfg: Config) -> Config {
    cfg.queue.wait_secs = 1;
    cfg.queue.visibility_timeout_secs = 30;
    cfg.worker.job_timeout_secs = 20;
    cfg.worker.retry_backoff_secs = 1;
    cfg.worker.concurrency = 2;
    cfg.http.listen = None;
    cfg
}

/// A config for the embedded backend under `dir`, tuned for fast tests.
pub fn embedded_config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    for_tests(cfg)
}

/// A config for the aws backend against `endpoint` (moto, or a fault proxy in front of
/// it): `bucket` as the only source bucket, derived objects beside sources.
pub fn aws_config(endpoint: String, bucket: &str, jobs_url: &str, notice_topic: &str) -> Config {
    let mut cfg = Config {
        backend: Backend::Aws,
        ..Config::default()
    };
    cfg.aws.endpoint_url = Some(endpoint);
    cfg.aws.region = Some("us-east-1".into());
    cfg.storage.default_bucket = bucket.to_string();
    cfg.storage.buckets = vec![BucketMapping {
        source: bucket.to_string(),
        derived_bucket: None,
        prefix: "derived/".into(),
    }];
    cfg.queue.jobs = jobs_url.to_string();
    cfg.notices.sns_topic_arn = Some(notice_topic.to_string());
    for_tests(cfg)
}

/// An S3 event notification exactly as AWS shapes it (userIdentity, requestParameters,
/// responseElements, sequencer); the key form-urlencoded as S3 (and moto) do.
pub fn s3_event(event_name: &str, bucket: &str, key: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-27T09:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.9"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810",
                             "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "derivd-test",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded, "sequencer": "0055AED6DCD90281E5"}}}]})
    .to_string()
}

/// What tests reach of a running service: its public handles, nothing internal.
pub struct Handles {
    pub store: Arc<dyn ObjectStore>,
    pub jobs: Arc<dyn Queue>,
    pub repair: Option<Arc<dyn Queue>>,
    pub catalogue: Arc<Catalogue>,
    pub metrics: Metrics,
}

impl Handles {
    pub fn of(app: &Application) -> Handles {
        Handles {
            store: app.store(),
            jobs: app.job_queue(),
            repair: app.repair_queue(),
            catalogue: app.catalogue(),
            metrics: app.metrics(),
        }
    }
}

pub struct Running {
    pub app: Handles,
    pub addr: Option<std::net::SocketAddr>,
    pub token: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.expect("HTTP is on"))
    }

    pub async fn stop(self) {
        self.token.cancel();
        self.handle.await.unwrap().unwrap();
    }
}

/// Builds the application and runs it (workers, repair listener, HTTP on a free port if
/// `http`), as `derivd serve` does.
pub async fn start(cfg: Config, http: bool) -> Running {
    start_with(cfg, Catalogue::built_in(8192).unwrap(), http).await
}

/// [`start`] with a catalogue of the test's own.
pub async fn start_with(mut cfg: Config, catalogue: Catalogue, http: bool) -> Running {
    if http {
        cfg.http.listen = Some("127.0.0.1:0".into());
    }
    let app = Application::build(cfg, catalogue).await.unwrap();
    let addr = app.http_addr();
    let handles = Handles::of(&app);
    let token = CancellationToken::new();
    let handle = tokio::spawn(app.run_until_stopped(token.clone()));
    Running {
        app: handles,
        addr,
        token,
        handle,
    }
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sum of the samples of metric family `name` whose line contains all of `needles`; 0 for
/// a family with no series yet. Panics on a name `derivd::metrics` does not define, so a
/// renamed metric fails the tests that read it instead of reading as 0.
pub fn metric(app: &Handles, name: &str, needles: &[&str]) -> f64 {
    let family = derivd::metrics::FAMILIES
        .iter()
        .find(|f| {
            name == **f
                || name
                    .strip_prefix(**f)
                    .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))
        })
        .unwrap_or_else(|| {
            panic!("{name} is not a metric derivd defines (derivd::metrics::FAMILIES)")
        });
    let _ = family;
    app.metrics
        .render()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `n` concurrent manifest merges on one source, each adding its own transform; asserts
/// none is lost (the If-Match / If-None-Match retry loop of `manifest::merge`).
pub async fn concurrent_manifest_merges_lose_nothing<S>(store: S, bucket: &str, n: usize)
where
    S: derivd::storage::ObjectStore + Clone,
{
    let layout = derivd::keys::KeyLayout::default();
    let merges = (0..n).map(|i| {
        let (store, layout, bucket) = (store.clone(), layout.clone(), bucket.to_string());
        tokio::spawn(async move {
            let e = derivd::manifest::ManifestEntry {
                key: format!("derived/s.jpg/t{i}.jpg"),
                digest: "d".into(),
                source_etag: "e".into(),
                content_type: "image/jpeg".into(),
                bytes: 1,
                width: 1,
                height: 1,
                extra: Default::default(),
            };
            let entries = std::collections::BTreeMap::from([(format!("t{i}"), e)]);
            derivd::manifest::merge(&store, &bucket, &layout, "s.jpg", "e", &entries)
                .await
                .unwrap();
        })
    });
    for m in merges {
        m.await.unwrap();
    }
    let (m, _) = derivd::manifest::read(&store, bucket, &layout, "s.jpg")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.derived.len(), n);
}

/// A fresh moto stack for one test: the source bucket (derived objects beside sources), a
/// job queue, a repair queue and a notice topic delivered raw to a queue of its own.
pub struct AwsStack {
    pub bucket: String,
    pub jobs_url: String,
    pub notices: super::moto::TopicWithQueue,
}

/// [`AwsStack`] named after `name`, with the aws config that uses it (repair queue on).
pub async fn aws_stack(name: &str) -> (AwsStack, Config) {
    use super::moto;
    let bucket = moto::new_bucket(name).await;
    let (jobs_url, _) = moto::new_queue(&format!("{name}-jobs"), None).await;
    let (repair_url, _) = moto::new_queue(&format!("{name}-repair"), None).await;
    let notices = moto::new_topic_with_queue_subscription(&format!("{name}-n"), true).await;
    let mut cfg = aws_config(moto::endpoint(), &bucket, &jobs_url, &notices.topic_arn);
    cfg.queue.repair = Some(repair_url);
    let stack = AwsStack {
        bucket,
        jobs_url,
        notices,
    };
    (stack, cfg)
}

/// Notices (raw SNS delivery) received from `queue_url` until `enough` says so; all of them.
pub async fn notices_until(
    queue_url: &str,
    enough: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let sqs = super::moto::sqs().await;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !enough(&seen) {
        assert!(Instant::now() < deadline, "notices: only {seen:?}");
        let out = sqs.receive_message().queue_url(queue_url);
        let out = out.max_number_of_messages(10).wait_time_seconds(1);
        let out = out.send().await.unwrap();
        let bodies = out.messages().iter().filter_map(|m| m.body());
        seen.extend(bodies.filter_map(|b| serde_json::from_str(b).ok()));
    }
    seen
}

/// The notice of the job with correlation `id`.
pub async fn notice_with_id(queue_url: &str, id: &str) -> serde_json::Value {
    let all = notices_until(queue_url, |n| n.iter().any(|v| v["id"] == id)).await;
    all.into_iter().find(|v| v["id"] == id).expect("found")
}

/// `GET /v1/catalogue` of a service with HTTP on, as JSON.
pub async fn catalogue_json(svc: &Running) -> serde_json::Value {
    let r = reqwest::get(svc.url("/v1/catalogue")).await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

/// The bytes of the object at `key` once it exists (polled for 90 s).
pub async fn object_eventually(svc: &Running, bucket: &str, key: &str) -> bytes::Bytes {
    eventually(Duration::from_secs(90), key, || async {
        let got = svc.app.store.get(bucket, key).await.unwrap();
        got.map(|o| o.bytes)
    })
    .await
}
