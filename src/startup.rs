//! Start-up: the one place that sees every part. [`Application::build`] opens the
//! backends, builds the parts by constructor and binds the listener; [`run_until_stopped`]
//! publishes the catalogue and runs the roles this process has until `shutdown`.
//! `derivd serve` and the tests start the service the same way.
//!
//! [`run_until_stopped`]: Application::run_until_stopped

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::backends::Backends;
use crate::catalogue::view::CatalogueView;
use crate::catalogue::Catalogue;
use crate::cleanup::Cleaner;
use crate::config::{Config, Role};
use crate::consume::{Consumer, JobRunner, Router};
use crate::derive::{Admission, BucketMap, Deriver, MemoryBudget};
use crate::engine::Engine;
use crate::ensure::Ensurer;
use crate::http::serve::ServeLimits;
use crate::http::{signing, HttpState};
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::repair::Repairer;
use crate::storage::{ObjectStore, PutRequest, StorageClass};

/// A built service, ready to run.
pub struct Application {
    cfg: Config,
    roles: Vec<Role>,
    deriver: Arc<Deriver>,
    jobs: Arc<dyn Queue>,
    repair: Option<Arc<dyn Queue>>,
    router: Arc<Router>,
    http: Option<(tokio::net::TcpListener, axum::Router)>,
    catalogue: Arc<CatalogueView>,
    metrics: Metrics,
}

impl Application {
    /// Builds every part from `cfg` and binds `http.listen` if this process serves HTTP.
    pub async fn build(cfg: Config, catalogue: Catalogue) -> anyhow::Result<Application> {
        crate::cgroup::check_memory_budget(cfg.worker.memory_budget_bytes)?;
        let backends = Backends::new(&cfg).await?;
        let store = backends.store()?;
        let jobs = backends.job_queue().await?;
        let rejects = backends.rejects_queue().await?;
        let roles = cfg.roles();
        let repair = match roles.contains(&Role::Repair) {
            true => backends.repair_queue().await?,
            false => None,
        };
        let notifier = Arc::new(backends.notifier());
        let metrics = Metrics::new();
        let catalogue = Arc::new(catalogue);
        let buckets = BucketMap::from_config(&cfg);
        let extractors = crate::backends::extractors(&cfg);
        // A worker without ffmpeg must not drop video jobs as the client's fault: refuse
        // to start instead, saying what to install or which key disables the type.
        extractors.check().map_err(|e| anyhow::anyhow!("{e}"))?;
        let deriver = Arc::new(Deriver {
            store: store.clone(),
            engine: Engine::new(cfg.limits),
            budget: MemoryBudget::new(cfg.worker.memory_budget_bytes),
            catalogue: catalogue.clone(),
            buckets: buckets.clone(),
            storage_class: cfg.storage.storage_class,
            metrics: metrics.clone(),
            extractors: extractors.clone(),
        });
        let admission = Admission {
            buckets: buckets.clone(),
            catalogue: catalogue.clone(),
        };
        let repairer = Arc::new(Repairer {
            deriver: deriver.clone(),
            notifier: notifier.clone(),
            metrics: metrics.clone(),
            time_limit: time_limit(&cfg),
        });
        let router = Arc::new(router(
            &cfg,
            &deriver,
            &admission,
            &repairer,
            notifier,
            (jobs.clone(), rejects),
        ));
        let view = catalogue_view(&catalogue, &buckets).only(|m| extractors.enabled(m));
        let view = Arc::new(view);
        let http = match cfg.http.listen.is_some() {
            true => Some(
                http(
                    &cfg,
                    &roles,
                    &deriver,
                    admission,
                    &jobs,
                    view.clone(),
                    repairer,
                )
                .await?,
            ),
            false => None,
        };
        Ok(Application {
            cfg,
            roles,
            deriver,
            jobs,
            repair,
            router,
            http,
            catalogue: view,
            metrics,
        })
    }

    /// The bound HTTP address (tests bind port 0 and read it here).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.deriver.store.clone()
    }
    pub fn job_queue(&self) -> Arc<dyn Queue> {
        self.jobs.clone()
    }
    pub fn repair_queue(&self) -> Option<Arc<dyn Queue>> {
        self.repair.clone()
    }
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.deriver.catalogue.clone()
    }
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Publishes the catalogue, then runs this process's roles until `shutdown`; in-flight
    /// work drains within `worker.shutdown_grace_secs`.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        publish_catalogue(&self.deriver, &self.catalogue).await?;
        let mut tasks = tokio::task::JoinSet::<anyhow::Result<()>>::new();
        if let Some((listener, router)) = self.http {
            info!(addr = %listener.local_addr()?, "HTTP listening");
            let (token, limits) = (shutdown.clone(), ServeLimits::from_config(&self.cfg));
            tasks.spawn(async move {
                crate::http::serve::run(listener, router, limits, token).await;
                Ok(())
            });
        }
        let consumer = |name, queue: Arc<dyn Queue>, slots, batch| Consumer {
            name,
            queue,
            router: self.router.clone(),
            metrics: self.metrics.clone(),
            slots,
            batch,
            wait: Duration::from_secs(self.cfg.queue.wait_secs),
            visibility: Duration::from_secs(self.cfg.queue.visibility_timeout_secs),
            grace: Duration::from_secs(self.cfg.worker.shutdown_grace_secs),
        };
        if self.roles.contains(&Role::Jobs) {
            let c = consumer("jobs", self.jobs.clone(), self.cfg.concurrency(), 1);
            let token = shutdown.clone();
            tasks.spawn(async move {
                c.run(token).await;
                Ok(())
            });
        }
        if let Some(q) = self.repair.clone() {
            let c = consumer("repair", q, 1, 10);
            let token = shutdown.clone();
            tasks.spawn(async move {
                c.run(token).await;
                Ok(())
            });
        }
        info!(roles = ?self.roles, backend = ?self.cfg.backend, concurrency = self.cfg.concurrency(),
              transforms = self.deriver.catalogue.len(), "derivd serving");
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(())
    }
}

fn time_limit(cfg: &Config) -> Duration {
    Duration::from_secs(cfg.worker.job_timeout_secs)
}

/// The message router every consumer shares.
fn router(
    cfg: &Config,
    deriver: &Arc<Deriver>,
    admission: &Admission,
    repairer: &Arc<Repairer>,
    notifier: Arc<crate::notice::Notifier>,
    (jobs, rejects): (Arc<dyn Queue>, Option<Arc<dyn Queue>>),
) -> Router {
    let metrics = deriver.metrics.clone();
    Router {
        jobs: JobRunner {
            deriver: deriver.clone(),
            admission: admission.clone(),
            notifier,
            metrics: metrics.clone(),
            time_limit: time_limit(cfg),
        },
        cleaner: Cleaner {
            store: deriver.store.clone(),
            buckets: deriver.buckets.clone(),
            jobs,
            metrics: metrics.clone(),
            enabled: cfg.worker.delete_derived_on_source_removed,
        },
        repairer: repairer.clone(),
        rejects,
        metrics,
        visibility: Duration::from_secs(cfg.queue.visibility_timeout_secs),
        backoff_base: cfg.worker.retry_backoff_secs,
    }
}

/// The bound listener and its router: the operational routes, and the API (with
/// `/v1/sns`) when this process has the `http` role.
async fn http(
    cfg: &Config,
    roles: &[Role],
    deriver: &Arc<Deriver>,
    admission: Admission,
    jobs: &Arc<dyn Queue>,
    catalogue: Arc<CatalogueView>,
    repairer: Arc<Repairer>,
) -> anyhow::Result<(tokio::net::TcpListener, axum::Router)> {
    let addr = cfg
        .http
        .listen
        .as_deref()
        .context("the http role needs http.listen")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding http.listen {addr}"))?;
    let metrics = deriver.metrics.clone();
    let ttl = Duration::from_secs(cfg.http.ensure_ttl_secs);
    let ensurer = Ensurer::new(
        deriver.clone(),
        metrics.clone(),
        ttl,
        cfg.concurrency(),
        time_limit(cfg),
    );
    let state = HttpState {
        admission,
        catalogue,
        jobs: jobs.clone(),
        store: deriver.store.clone(),
        ensurer: Arc::new(ensurer),
        metrics: metrics.clone(),
        auth_token: cfg.http.auth_token.clone(),
        max_body_bytes: cfg.http.max_body_bytes,
        allowed_hosts: cfg.http.allowed_hosts.clone(),
        signer: signing::UrlSigner::new(
            &cfg.http.url_signing_key,
            cfg.http.url_signature_skew_secs,
        )
        .map(Arc::new),
    };
    let api = roles
        .contains(&Role::Http)
        .then(|| crate::sns::router(&cfg.sns, repairer, metrics));
    Ok((listener, crate::http::router(state, api)))
}

/// The public catalogue, with key templates under the first mapping's prefix.
pub fn catalogue_view(catalogue: &Catalogue, buckets: &BucketMap) -> CatalogueView {
    let layout = buckets
        .all()
        .first()
        .map(|m| m.layout.clone())
        .unwrap_or_default();
    CatalogueView::new(catalogue, &layout)
}

/// Writes `{prefix}_catalogue.json` (STANDARD class) to every derived bucket.
async fn publish_catalogue(deriver: &Deriver, view: &CatalogueView) -> anyhow::Result<()> {
    let body = bytes::Bytes::from(serde_json::to_vec_pretty(view)?);
    for m in deriver.buckets.all() {
        let req = PutRequest {
            key: m.layout.catalogue_key(),
            bytes: body.clone(),
            content_type: "application/json".into(),
            storage_class: StorageClass::Standard,
            cache_control: Some("no-cache".into()),
            metadata: Default::default(),
            condition: Default::default(),
        };
        let started = Instant::now();
        deriver
            .store
            .put(&m.derived, req)
            .await
            .with_context(|| format!("writing the catalogue to bucket {}", m.derived))?;
        tracing::debug!(bucket = %m.derived, ms = started.elapsed().as_millis() as u64, "catalogue published");
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
