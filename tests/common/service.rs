//! Starting the real service in-process for tests, as `derivd serve` does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use derivd::app::{serve_with, App};
use derivd::catalogue::Catalogue;
use derivd::config::Config;
use tokio_util::sync::CancellationToken;

/// A config for the embedded backend under `dir`, tuned for fast tests.
pub fn embedded_config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    cfg.queue.wait_secs = 1;
    cfg.queue.visibility_timeout_secs = 30;
    cfg.worker.job_timeout_secs = 20;
    cfg.worker.retry_backoff_secs = 1;
    cfg.worker.concurrency = 2;
    cfg.http.listen = String::new();
    cfg
}

pub struct Running {
    pub app: Arc<App>,
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

/// Builds the app and runs it (workers, repair listener, HTTP on a free port if `http`).
pub async fn start(cfg: Config, http: bool) -> Running {
    let app = Arc::new(
        App::build(cfg, Catalogue::built_in(8192).unwrap())
            .await
            .unwrap(),
    );
    let listener = if http {
        Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
    } else {
        None
    };
    let addr = listener.as_ref().map(|l| l.local_addr().unwrap());
    let token = CancellationToken::new();
    let handle = tokio::spawn(serve_with(app.clone(), listener, token.clone()));
    Running {
        app,
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

/// Sum of a metric's samples whose line contains all of `needles`.
pub fn metric(app: &App, name: &str, needles: &[&str]) -> f64 {
    app.metrics
        .render()
        .lines()
        .filter(|l| l.starts_with(name) && needles.iter().all(|n| l.contains(n)))
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
