//! `derivd audit` against real stores: the embedded backend (a directory and SQLite) and
//! S3/SQS on moto. Derived objects are made by the deriver (the one producer every path
//! uses), damaged behind derivd's back (no loss notification ever arrives), and the audit
//! must name exactly what was damaged; `--repair` must queue jobs that the real service,
//! started on the same backends, turns into a clean second audit.
mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::images::corpus_file;
use derivd::audit::reason::{
    ABSENT, SOURCE_CHANGED, SOURCE_MISSING, TRANSFORM_CHANGED, TRANSFORM_REMOVED,
};
use derivd::audit::Auditor;
use derivd::audit::{
    audit, AuditOptions, AuditProgress, AuditReport, FindingKind, EXIT_ERROR, EXIT_HEALTHY,
    EXIT_PROBLEMS,
};
use derivd::backends::Backends;
use derivd::catalogue::Catalogue;
use derivd::config::{Backend, BucketMapping, Config};
use derivd::derive::{BucketMap, DeriveRequest, Deriver, MemoryBudget};
use derivd::job::{parse_job, JobRequest, TransformSelection};
use derivd::manifest::{Manifest, ManifestEntry};
use derivd::queue::Queue;
use derivd::storage::ObjectStore;
use derivd::storage::{PutRequest, StorageClass};
use FindingKind::{Missing, Orphaned, Retired, Stale};

const PALETTE: &str = "formats/sharp_palette.png";
const OTHER_PNG: &str = "formats/wm_palette_alpha.png";
const PHOTO: &str = "photos/wm_The_Poppet_3996x2140_q40.jpg";
const GONE: &str = "uploads/gone.png";
const PAL: &str = "uploads/palette.png";
const PHOTO_KEY: &str = "uploads/photo one.jpg";
const TRANSFORMS: [&str; 2] = ["icon-64-png", "thumb-128"];

fn catalogue() -> Catalogue {
    Catalogue::built_in(8192).unwrap()
}

fn embedded_config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    cfg.http.listen = None;
    cfg.queue.wait_secs = 1;
    cfg
}

/// The backends a test works on, and the catalogue it audits against.
struct App {
    cfg: Config,
    store: Arc<dyn ObjectStore>,
    jobs: Arc<dyn Queue>,
    catalogue: Catalogue,
}

impl App {
    async fn build(cfg: Config, catalogue: Catalogue) -> App {
        let backends = Backends::new(&cfg).await.unwrap();
        App {
            store: backends.store().unwrap(),
            jobs: backends.job_queue().await.unwrap(),
            cfg,
            catalogue,
        }
    }

    fn deriver(&self) -> Deriver {
        Deriver {
            store: self.store.clone(),
            engine: derivd::engine::Engine::new(self.cfg.limits),
            budget: MemoryBudget::new(1 << 30),
            catalogue: Arc::new(self.catalogue.clone()),
            buckets: BucketMap::from_config(&self.cfg),
            storage_class: self.cfg.storage.storage_class,
            metrics: Default::default(),
            extractors: Default::default(),
        }
    }

    fn auditor(&self) -> Auditor {
        Auditor {
            store: self.store.clone(),
            buckets: BucketMap::from_config(&self.cfg),
            catalogue: Arc::new(self.catalogue.clone()),
            jobs: Some(self.jobs.clone()),
        }
    }
}

async fn embedded_app(dir: &std::path::Path) -> App {
    App::build(embedded_config(dir), catalogue()).await
}

async fn put(app: &App, bucket: &str, key: &str, bytes: Vec<u8>) {
    let req = PutRequest {
        key: key.into(),
        bytes: bytes.into(),
        content_type: "application/octet-stream".into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: Default::default(),
        condition: Default::default(),
    };
    app.store.put(bucket, req).await.unwrap();
}

/// Uploads `file` as `source` and makes its derived objects with the deriver.
async fn make(app: &App, bucket: &str, source: &str, file: &str) {
    put(app, bucket, source, corpus_file(file)).await;
    let req = DeriveRequest {
        bucket: Some(bucket.into()),
        source: source.into(),
        transforms: TransformSelection::Named(TRANSFORMS.map(String::from).to_vec()),
        force: false,
        focus: None,
        deadline: Instant::now() + Duration::from_secs(120),
    };
    let done = app.deriver().derive(&req).await.unwrap();
    assert_eq!(done.written.len(), TRANSFORMS.len(), "{source}");
}

fn derived(source: &str, transform: &str) -> String {
    let ext = if transform == "icon-64-png" {
        "png"
    } else {
        "jpg"
    };
    format!("derived/{source}/{transform}.{ext}")
}

async fn run_audit(app: &App, repair: bool) -> AuditReport {
    let opts = AuditOptions {
        repair,
        concurrency: 4,
        ..Default::default()
    };
    audit(&app.auditor(), &opts).await.unwrap()
}

type Found = (String, FindingKind, String);

/// (key, kind, reason) of every finding, in report order.
fn findings(r: &AuditReport) -> Vec<Found> {
    r.findings
        .iter()
        .map(|f| (f.key.clone(), f.kind, f.reason.clone()))
        .collect()
}

/// One expected finding: the derived object of `source` by `transform`.
fn want(source: &str, transform: &str, kind: FindingKind, why: &str) -> Found {
    (derived(source, transform), kind, why.to_string())
}

/// Reads the jobs queued so far, then runs the real service (jobs role) on the same
/// backends until it has handled them all; returns the jobs.
async fn drain(app: &App) -> Vec<JobRequest> {
    let mut messages = Vec::new();
    loop {
        let wait = Duration::from_millis(200);
        let batch = app
            .jobs
            .receive(10, wait, Duration::from_secs(120))
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        messages.extend(batch);
    }
    let jobs: Vec<JobRequest> = messages
        .iter()
        .map(|m| parse_job(&m.body).expect("audit queues job messages"))
        .collect();
    if jobs.is_empty() {
        return jobs;
    }
    for m in &messages {
        app.jobs
            .change_visibility(&m.receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    let mut cfg = app.cfg.clone();
    cfg.serve.roles = Some(vec![derivd::config::Role::Jobs]);
    let svc = common::service::start_with(cfg, app.catalogue.clone(), false).await;
    let n = jobs.len() as f64;
    common::service::eventually(Duration::from_secs(120), "the repair jobs", || async {
        (common::service::metric(&svc.app, "derivd_jobs_total", &[]) == n).then_some(())
    })
    .await;
    assert_eq!(
        common::service::metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]),
        n
    );
    svc.stop().await;
    jobs
}

fn assert_healthy(r: &AuditReport, manifests: u64, objects: u64) {
    assert!(r.is_healthy(), "{}", r.to_text());
    assert_eq!(r.exit_code(), EXIT_HEALTHY);
    assert_eq!((r.counts.manifests, r.counts.objects), (manifests, objects));
    assert_eq!(r.counts.healthy, objects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_finds_missing_stale_orphaned_and_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let app = embedded_app(dir.path()).await;
    let b = app.cfg.storage.default_bucket.clone();
    make(&app, &b, PAL, PALETTE).await;
    make(&app, &b, PHOTO_KEY, PHOTO).await;
    make(&app, &b, GONE, OTHER_PNG).await;
    assert_healthy(&run_audit(&app, false).await, 3, 6);

    // Behind derivd's back: a lost object, a replaced source, a deleted source.
    let lost = derived(PHOTO_KEY, "thumb-128");
    app.store.delete(&b, &lost).await.unwrap();
    put(&app, &b, PAL, corpus_file(OTHER_PNG)).await;
    app.store.delete(&b, GONE).await.unwrap();

    let r = run_audit(&app, false).await;
    let expected = vec![
        want(GONE, "icon-64-png", Orphaned, SOURCE_MISSING),
        want(GONE, "thumb-128", Orphaned, SOURCE_MISSING),
        want(PAL, "icon-64-png", Stale, SOURCE_CHANGED),
        want(PAL, "thumb-128", Stale, SOURCE_CHANGED),
        want(PHOTO_KEY, "thumb-128", Missing, ABSENT),
    ];
    assert_eq!(findings(&r), expected, "{}", r.to_text());
    assert_eq!(r.exit_code(), EXIT_PROBLEMS);
    assert_eq!(
        (r.counts.missing, r.counts.stale, r.counts.orphaned),
        (1, 2, 2)
    );
    assert_eq!(r.counts.healthy, 1);
    assert!(r.findings.iter().all(|f| f.present == (f.key != lost)));
    assert_eq!(r.repair, None, "no repair without asking");
    assert!(
        drain(&app).await.is_empty(),
        "an audit alone queues nothing"
    );

    let r = run_audit(&app, true).await;
    let repair = r.repair.clone().expect("repair summary");
    assert_eq!((repair.jobs, repair.objects), (2, 3));
    let jobs = drain(&app).await;
    let mut queued: Vec<_> = jobs
        .iter()
        .map(|j| (j.source.as_str(), j.transforms.clone(), j.force))
        .collect();
    queued.sort_by_key(|q| q.0);
    let named = |v: &[&str]| TransformSelection::Named(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        queued,
        vec![
            (PAL, named(&TRANSFORMS), true),
            (PHOTO_KEY, named(&["thumb-128"]), true),
        ]
    );
    assert!(jobs.iter().all(|j| j.id.as_deref() == Some(&repair.job_id)));

    // Everything repairable is fixed; orphans are reported, never repaired.
    let r = run_audit(&app, false).await;
    assert_eq!(
        (r.counts.healthy, r.counts.orphaned),
        (4, 2),
        "{}",
        r.to_text()
    );
    assert!(r.findings.iter().all(|f| f.kind == Orphaned));
    assert!(app.store.head(&b, &lost).await.unwrap().is_some());
    for f in &r.findings {
        assert!(app.store.head(&b, &f.key).await.unwrap().is_some());
    }

    // Once the orphan is cleaned up (as the ObjectRemoved handler would), all is healthy.
    for key in TRANSFORMS.map(|t| derived(GONE, t)) {
        app.store.delete(&b, &key).await.unwrap();
    }
    let manifest = format!("derived/{GONE}/_manifest.json");
    app.store.delete(&b, &manifest).await.unwrap();
    assert_healthy(&run_audit(&app, false).await, 2, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_changed_and_removed_transforms() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = embedded_app(dir.path()).await;
    let b = app.cfg.storage.default_bucket.clone();
    make(&app, &b, "a.png", PALETTE).await;
    // A new definition of thumb-128, and icon-64-png taken out of the catalogue.
    let mut thumb = (**catalogue().get("thumb-128").unwrap()).clone();
    thumb.digest = "0".repeat(64);
    app.catalogue = Catalogue::from_transforms(vec![thumb]);

    let r = run_audit(&app, true).await;
    let retired = want("a.png", "icon-64-png", Retired, TRANSFORM_REMOVED);
    let stale = want("a.png", "thumb-128", Stale, TRANSFORM_CHANGED);
    let expected = vec![retired.clone(), stale];
    assert_eq!(findings(&r), expected, "{}", r.to_text());
    assert_eq!(r.repair.as_ref().map(|s| (s.jobs, s.objects)), Some((1, 1)));
    let jobs = drain(&app).await;
    assert_eq!(jobs.len(), 1);
    let only_thumb = TransformSelection::Named(vec!["thumb-128".into()]);
    assert_eq!(jobs[0].transforms, only_thumb);

    let r = run_audit(&app, false).await;
    assert_eq!(findings(&r), vec![retired], "retired is never repaired");
    assert_eq!(r.counts.healthy, 1);
}

#[derive(Default)]
struct Recorder {
    found: AtomicU64,
    checked: AtomicU64,
    problems: AtomicU64,
}

impl AuditProgress for Recorder {
    fn found(&self, n: u64) {
        self.found.fetch_add(n, Ordering::Relaxed);
    }
    fn checked(&self, _objects: u64, problems: u64) {
        self.checked.fetch_add(1, Ordering::Relaxed);
        self.problems.fetch_add(problems, Ordering::Relaxed);
    }
}

/// More manifests than one listing page (1000 keys), among other keys under the prefix:
/// every page is followed, only manifests are audited, and progress adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_follows_every_listing_page() {
    let dir = tempfile::tempdir().unwrap();
    let app = embedded_app(dir.path()).await;
    let b = app.cfg.storage.default_bucket.clone();
    const N: u64 = 1010;
    for i in 0..N {
        let source = format!("s/{i:04}.png");
        let mut m = Manifest::new(&source, "etag");
        let key = derived(&source, "thumb-128");
        put(&app, &b, &key, b"x".to_vec()).await;
        let entry = ManifestEntry {
            key,
            digest: "d".into(),
            source_etag: "etag".into(),
            content_type: "image/jpeg".into(),
            bytes: 1,
            width: 1,
            height: 1,
            extra: Default::default(),
        };
        m.derived.insert("thumb-128".into(), entry);
        let manifest = format!("derived/{source}/_manifest.json");
        put(&app, &b, &manifest, serde_json::to_vec(&m).unwrap()).await;
    }
    let rec = Arc::new(Recorder::default());
    let opts = AuditOptions {
        progress: Some(rec.clone()),
        concurrency: 16,
        ..Default::default()
    };
    let r = audit(&app.auditor(), &opts).await.unwrap();
    assert_eq!((r.counts.manifests, r.counts.objects), (N, N));
    assert_eq!(r.counts.orphaned, N, "no source exists");
    let keys: BTreeSet<_> = r.findings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys.len() as u64, N);
    assert_eq!(rec.found.load(Ordering::Relaxed), N);
    assert_eq!(rec.checked.load(Ordering::Relaxed), N);
    assert_eq!(rec.problems.load(Ordering::Relaxed), N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_bucket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = embedded_app(dir.path()).await;
    let opts = AuditOptions {
        buckets: vec!["not-configured".into()],
        ..Default::default()
    };
    assert!(audit(&app.auditor(), &opts).await.is_err());
}

async fn aws_app(bucket: &str, queue_url: &str) -> App {
    let mut cfg = Config {
        backend: Backend::Aws,
        ..Config::default()
    };
    cfg.aws.endpoint_url = Some(common::moto::endpoint());
    cfg.aws.region = Some("us-east-1".into());
    cfg.storage.default_bucket = bucket.into();
    cfg.storage.buckets = vec![BucketMapping {
        source: bucket.into(),
        derived_bucket: None,
        prefix: "derived/".into(),
    }];
    cfg.queue.jobs = queue_url.into();
    cfg.http.listen = None;
    cfg.queue.wait_secs = 1;
    App::build(cfg, catalogue()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_finds_a_deleted_object_and_repairs_it() {
    let bucket = common::moto::new_bucket("audit").await;
    let (queue, _) = common::moto::new_queue("audit-jobs", None).await;
    let app = aws_app(&bucket, &queue).await;
    make(&app, &bucket, "in/palette.png", PALETTE).await;
    make(&app, &bucket, "in/photo.jpg", PHOTO).await;
    assert_healthy(&run_audit(&app, false).await, 2, 4);

    let lost = derived("in/photo.jpg", "icon-64-png");
    app.store.delete(&bucket, &lost).await.unwrap();
    put(&app, &bucket, "in/palette.png", corpus_file(OTHER_PNG)).await;
    let r = run_audit(&app, true).await;
    let expected = vec![
        want("in/palette.png", "icon-64-png", Stale, SOURCE_CHANGED),
        want("in/palette.png", "thumb-128", Stale, SOURCE_CHANGED),
        want("in/photo.jpg", "icon-64-png", Missing, ABSENT),
    ];
    assert_eq!(findings(&r), expected, "{}", r.to_text());
    assert!(r.findings.iter().all(|f| f.bucket == bucket));
    assert_eq!(r.repair.as_ref().map(|s| (s.jobs, s.objects)), Some((2, 3)));
    let jobs = drain(&app).await;
    assert_eq!(jobs.len(), 2);
    assert!(jobs
        .iter()
        .all(|j| j.force && j.bucket.as_deref() == Some(&bucket)));

    assert_healthy(&run_audit(&app, false).await, 2, 4);
    assert!(app.store.head(&bucket, &lost).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_unlistable_bucket_is_an_error() {
    let (queue, _) = common::moto::new_queue("audit-nobucket", None).await;
    let name = format!("audit-none-{}", uuid::Uuid::new_v4().simple());
    let app = aws_app(&name, &queue).await;
    let r = run_audit(&app, false).await;
    assert_eq!(r.exit_code(), EXIT_ERROR, "{}", r.to_text());
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        (r.errors[0].bucket.as_str(), r.errors[0].key.as_str()),
        (name.as_str(), "derived/")
    );
}
