//! Wiring: builds the backends the config asks for and runs the service.
//!
//! [`App::build`] is used the same way by `derivd serve`, the CLI and the tests; [`serve`]
//! takes the shutdown signal as a parameter so tests stop it without sending signals.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::catalogue::view::CatalogueView;
use crate::catalogue::Catalogue;
use crate::config::{Backend, Config};
use crate::engine::Engine;
use crate::job::JobRequest;
use crate::keys::KeyLayout;
use crate::metrics::Metrics;
use crate::notice::Notifier;
use crate::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use crate::queue::sqs::SqsQueue;
use crate::queue::Queue;
use crate::storage::local::LocalStore;
use crate::storage::s3::S3Store;
use crate::storage::{ObjectStore, PutRequest, StorageClass};
use crate::worker::MemoryBudget;

pub struct App {
    pub cfg: Config,
    pub catalogue: Catalogue,
    pub engine: Engine,
    pub store: Arc<dyn ObjectStore>,
    pub jobs: Arc<dyn Queue>,
    pub repair: Option<Arc<dyn Queue>>,
    pub notifier: Notifier,
    pub metrics: Metrics,
    pub budget: MemoryBudget,
    /// Ensure-on-read state (confirmed-key cache, single-flight regenerations).
    pub ensure: crate::ensure::EnsureCache,
}

impl App {
    pub async fn build(cfg: Config, catalogue: Catalogue) -> anyhow::Result<App> {
        let (store, jobs, repair, notifier): (Arc<dyn ObjectStore>, Arc<dyn Queue>, _, _) =
            match cfg.backend {
                Backend::Embedded => {
                    let dir = &cfg.storage.data_dir;
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    let store = LocalStore::new(dir.join("buckets"))?;
                    let db = dir.join("queue.sqlite3");
                    let jobs = open_embedded(&db, &cfg.queue.jobs, cfg.queue.max_receives)?;
                    let repair = match cfg.queue.repair.as_str() {
                        "" => None,
                        name => Some(Arc::new(open_embedded(&db, name, cfg.queue.max_receives)?)
                            as Arc<dyn Queue>),
                    };
                    let log = cfg
                        .notices
                        .log_path
                        .clone()
                        .unwrap_or_else(|| dir.join("notices.jsonl"));
                    (
                        Arc::new(store),
                        Arc::new(jobs),
                        repair,
                        Notifier::jsonl(log),
                    )
                }
                Backend::Aws => {
                    let sdk = crate::aws::load_sdk_config(
                        cfg.aws.region.as_deref(),
                        cfg.aws.endpoint_url.as_deref(),
                    )
                    .await;
                    let store = S3Store::new(crate::aws::s3_client(&sdk));
                    let sqs = crate::aws::sqs_client(&sdk);
                    let jobs = sqs_queue(sqs.clone(), &cfg.queue.jobs).await?;
                    let repair = match cfg.queue.repair.as_str() {
                        "" => None,
                        q => Some(Arc::new(sqs_queue(sqs, q).await?) as Arc<dyn Queue>),
                    };
                    let notifier = match cfg.notices.sns_topic_arn.as_str() {
                        "" => Notifier::None,
                        arn => Notifier::Sns {
                            client: crate::aws::sns_client(&sdk),
                            topic_arn: arn.to_string(),
                        },
                    };
                    (Arc::new(store), Arc::new(jobs), repair, notifier)
                }
            };
        let metrics = Metrics::new();
        Ok(App {
            engine: Engine::new(cfg.limits),
            budget: MemoryBudget::new(cfg.worker.memory_budget_bytes),
            ensure: crate::ensure::EnsureCache::new(&metrics, cfg.concurrency()),
            metrics,
            cfg,
            catalogue,
            store,
            jobs,
            repair,
            notifier,
        })
    }

    /// Why a job's source must not be processed (it is one of our own outputs), if so.
    pub fn skip_reason(&self, job: &JobRequest) -> Option<&'static str> {
        let bucket = job
            .bucket
            .as_deref()
            .unwrap_or(&self.cfg.storage.default_bucket);
        let under_any_prefix = self
            .cfg
            .bucket_mappings()
            .iter()
            .filter(|m| m.derived() == bucket)
            .any(|m| !m.prefix.is_empty() && job.source.starts_with(&m.prefix));
        under_any_prefix.then_some("derived_prefix")
    }

    pub fn catalogue_view(&self) -> CatalogueView {
        let prefix = self
            .cfg
            .bucket_mappings()
            .first()
            .map_or("derived/".to_string(), |m| m.prefix.clone());
        CatalogueView::new(&self.catalogue, &KeyLayout::new(prefix))
    }

    /// Writes `{prefix}_catalogue.json` (STANDARD class) to every derived bucket.
    pub async fn publish_catalogue(&self) -> anyhow::Result<()> {
        let body = serde_json::to_vec_pretty(&self.catalogue_view())?;
        for m in self.cfg.bucket_mappings() {
            let key = KeyLayout::new(m.prefix.clone()).catalogue_key();
            self.store
                .put(
                    m.derived(),
                    PutRequest {
                        key,
                        bytes: body.clone().into(),
                        content_type: "application/json".into(),
                        storage_class: StorageClass::Standard,
                        cache_control: Some("no-cache".into()),
                        metadata: Default::default(),
                        condition: Default::default(),
                    },
                )
                .await
                .with_context(|| format!("writing the catalogue to bucket {}", m.derived()))?;
        }
        Ok(())
    }
}

fn open_embedded(db: &std::path::Path, name: &str, max: u32) -> anyhow::Result<EmbeddedQueue> {
    let settings = EmbeddedQueueSettings {
        max_receives: max,
        dead_letter_queue: Some(format!("{name}-dlq")),
    };
    EmbeddedQueue::open(db, name, settings).with_context(|| format!("opening queue {name}"))
}

async fn sqs_queue(client: aws_sdk_sqs::Client, q: &str) -> anyhow::Result<SqsQueue> {
    if q.starts_with("https://") || q.starts_with("http://") {
        return Ok(SqsQueue::new(client, q.to_string()));
    }
    SqsQueue::from_name(client, q)
        .await
        .with_context(|| format!("finding SQS queue {q}"))
}

/// Runs HTTP, the job workers and (when configured) the repair listener until `shutdown`.
pub async fn serve(app: Arc<App>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = match app.cfg.http.listen.as_str() {
        "" => None,
        addr => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?,
        ),
    };
    serve_with(app, listener, shutdown).await
}

/// [`serve`] on an already-bound listener (tests bind port 0 and read the port first).
pub async fn serve_with(
    app: Arc<App>,
    listener: Option<tokio::net::TcpListener>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    app.publish_catalogue().await?;
    let http = if let Some(listener) = listener {
        info!(addr = %listener.local_addr()?, "HTTP listening");
        let router = crate::http::router(app.clone());
        let token = shutdown.clone();
        Some(tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
        }))
    } else {
        None
    };
    let workers = tokio::spawn(crate::worker::run_pool(
        app.clone(),
        app.jobs.clone(),
        shutdown.clone(),
    ));
    let repair = app
        .repair
        .clone()
        .map(|q| tokio::spawn(crate::repair::pool::run(app.clone(), q, shutdown.clone())));
    info!(
        backend = ?app.cfg.backend,
        concurrency = app.cfg.concurrency(),
        transforms = app.catalogue.len(),
        "derivd serving"
    );
    workers.await?;
    if let Some(r) = repair {
        r.await?;
    }
    if let Some(h) = http {
        h.await??;
    }
    Ok(())
}

/// Resolves once SIGTERM or SIGINT arrives, cancelling `token`.
pub async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    info!("shutdown signal received");
    token.cancel();
}

/// The embedded data folder (for CLI commands that only exist in embedded mode).
pub fn data_dir(cfg: &Config) -> PathBuf {
    cfg.storage.data_dir.clone()
}
