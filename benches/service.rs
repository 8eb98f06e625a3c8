//! The service path against the raw engine: does the job pipeline keep what the engine
//! gains? (target: ≥ 90 % of the engine's rate).
//!
//! Builds the real app on the embedded backend (local-directory bucket, SQLite queue) in a
//! temp dir, uploads the corpus photos, and then, interleaved photo by photo in each round
//! (so a burst of noise from elsewhere on the machine hits both sides alike):
//! - **engine**: `Engine::render` of the W2 transforms (`web-2048`, `web-1024`,
//!   `preview-512`, `thumb-256`, `thumb-128` — the built-in catalogue's W2) per photo;
//! - **service**: one job message per photo (`force: true`, so every rendition is made
//!   and written each round) sent to the running service (`Application`, one slot), timed
//!   from the send until the service has counted the job done: receive, fetch, probe,
//!   render on the blocking pool, write five objects, merge the manifest, notice.
//!
//! ```text
//! taskset -c 1 cargo bench --bench service        # one core; DERIVD_SERVICE_ROUNDS=5
//! ```
//! Prints images/s for both per round and the median ratio.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use derivd::catalogue::{Catalogue, Transform};
use derivd::config::Config;
use derivd::engine::{Deadline, Engine};
use derivd::metrics::Metrics;
use derivd::queue::Queue;
use derivd::startup::Application;
use derivd::storage::ObjectStore;
use derivd::storage::{PutCondition, PutRequest, StorageClass};

const W2: [&str; 5] = [
    "web-2048",
    "web-1024",
    "preview-512",
    "thumb-256",
    "thumb-128",
];

/// The engine alone, but called as the worker calls it: on tokio's blocking pool.
async fn blocking_pass(engine: &Engine, photos: &[(String, Vec<u8>)], t: &[Arc<Transform>]) -> f64 {
    let s = Instant::now();
    for (_, b) in photos {
        let (engine, b, t) = (engine.clone(), b.clone(), t.to_vec());
        tokio::task::spawn_blocking(move || engine.render(&b, &t, Deadline::none()).unwrap())
            .await
            .unwrap();
    }
    photos.len() as f64 / s.elapsed().as_secs_f64()
}

/// The running service's handles the bench uses.
struct Service {
    jobs: Arc<dyn Queue>,
    metrics: Metrics,
}

impl Service {
    fn done(&self) -> u64 {
        let text = self.metrics.render();
        let line = text
            .lines()
            .find(|l| l.starts_with("derivd_jobs_total{outcome=\"ok\"}"));
        line.and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    }
}

/// One job for `key` through the running service; the time from sending the message to
/// the service counting the job done.
async fn service_job(app: &Service, key: &str) -> Duration {
    let body = serde_json::json!({"source": key, "transforms": W2, "force": true});
    let before = app.done();
    let s = Instant::now();
    app.jobs.send(&body.to_string()).await.unwrap();
    while app.done() == before {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    s.elapsed()
}

/// One round: each photo through the engine, then as a job through the service.
/// Returns (engine img/s, service img/s).
async fn interleaved_pass(
    app: &Service,
    engine: &Engine,
    photos: &[(String, Vec<u8>)],
    t: &[Arc<Transform>],
) -> (f64, f64) {
    let (mut e, mut s) = (Duration::ZERO, Duration::ZERO);
    for (key, b) in photos {
        let started = Instant::now();
        engine.render(b, t, Deadline::none()).unwrap();
        e += started.elapsed();
        s += service_job(app, key).await;
    }
    let n = photos.len() as f64;
    (n / e.as_secs_f64(), n / s.as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("DERIVD_SERVICE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let photos: Vec<(String, Vec<u8>)> = common::photos()
        .into_iter()
        .map(|(p, b)| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (format!("photos/{name}"), b)
        })
        .collect();
    let catalogue = Catalogue::built_in(8192).unwrap();
    let t: Vec<Arc<Transform>> = W2
        .iter()
        .map(|n| catalogue.get(n).expect("built-in transform").clone())
        .collect();
    let engine = Engine::default();

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.http.listen = None;
    cfg.worker.concurrency = 1;
    cfg.queue.wait_secs = 1;
    let bucket = cfg.storage.default_bucket.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let built = rt.block_on(Application::build(cfg, catalogue)).unwrap();
    let store: Arc<dyn ObjectStore> = built.store();
    let app = Service {
        jobs: built.job_queue(),
        metrics: built.metrics(),
    };
    let token = tokio_util::sync::CancellationToken::new();
    let server = rt.spawn(built.run_until_stopped(token.clone()));
    rt.block_on(async {
        for (key, b) in &photos {
            let req = PutRequest {
                key: key.clone(),
                bytes: Bytes::from(b.clone()),
                content_type: "image/jpeg".into(),
                storage_class: StorageClass::Standard,
                cache_control: None,
                metadata: Default::default(),
                condition: PutCondition::None,
            };
            store.put(&bucket, req).await.unwrap();
        }
        // warm-up (also creates the manifests)
        interleaved_pass(&app, &engine, &photos, &t).await;
    });

    let (mut ratios, mut eng, mut svc, mut blk) = (vec![], vec![], vec![], vec![]);
    for round in 1..=rounds {
        let (e, s) = rt.block_on(interleaved_pass(&app, &engine, &photos, &t));
        let b = rt.block_on(blocking_pass(&engine, &photos, &t));
        println!(
            "round {round}: engine {e:.3} img/s, engine on the blocking pool {b:.3}, \
             service {s:.3} img/s, service/engine {:.3}",
            s / e
        );
        ratios.push(s / e);
        eng.push(e);
        svc.push(s);
        blk.push(b);
    }
    // Where the service's time goes: mean per job of each stage the worker times.
    let text = app.metrics.render();
    let metric = |suffix: &str, stage: &str| {
        text.lines()
            .find(|l| {
                l.starts_with(&format!("derivd_stage_duration_seconds_{suffix}"))
                    && l.contains(&format!("stage=\"{stage}\""))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let stages: Vec<String> = ["fetch", "render", "store", "manifest"]
        .iter()
        .filter_map(|st| {
            let (sum, n) = (metric("sum", st)?, metric("count", st)?);
            Some(format!("{st} {:.1} ms", 1e3 * sum / n.max(1.0)))
        })
        .collect();
    println!("service stages, mean per job: {}", stages.join(", "));
    let page = rt.block_on(store.list(&bucket, "derived/", None)).unwrap();
    println!(
        "median: engine {:.3} img/s, engine on the blocking pool {:.3} img/s, service {:.3} \
         img/s, service/engine {:.3} ({} objects under derived/; load {})",
        median(eng),
        median(blk),
        median(svc),
        median(ratios),
        page.objects.len(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    token.cancel();
    rt.block_on(server).unwrap().unwrap();
}
