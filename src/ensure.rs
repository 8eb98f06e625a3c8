//! Ensure-on-read: `GET /v1/derived/{transform}/{source_key...}` makes sure a derived object
//! exists before pointing the client at it.
//!
//! A bounded in-memory cache remembers recently confirmed keys for a TTL, so hot objects
//! cost no HEAD. A missing object whose source exists is regenerated synchronously within
//! the job time limit; concurrent requests for the same key share one regeneration
//! (single flight).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::IntCounterVec;
use tokio::sync::OnceCell;

use crate::app::App;
use crate::config::BucketMapping;
use crate::engine::Fault;
use crate::keys::KeyLayout;

const TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 10_000;

/// What the request resolves to.
#[derive(Debug)]
pub enum Ensured {
    /// The object exists at `key` in `bucket`.
    Present {
        bucket: String,
        key: String,
    },
    UnknownTransform,
    SourceMissing,
    NotAccepted(String),
    /// The request itself is invalid (e.g. a source key under the derived prefix).
    BadRequest(String),
    Failed(String),
}

type Flight = Arc<OnceCell<Result<(), (Fault, String)>>>;

pub struct EnsureCache {
    confirmed: Mutex<HashMap<String, Instant>>,
    flights: Mutex<HashMap<String, Flight>>,
    /// At most this many ensure-on-read regenerations render at once.
    regenerations: Arc<tokio::sync::Semaphore>,
    counter: IntCounterVec,
}

impl EnsureCache {
    pub fn new(metrics: &crate::metrics::Metrics, concurrency: usize) -> Self {
        EnsureCache {
            regenerations: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
            confirmed: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            counter: metrics.counter_vec(
                "derivd_ensure_total",
                "Ensure-on-read requests, by result (cache_hit, present, regenerated, …).",
                &["result"],
            ),
        }
    }

    fn count(&self, result: &str) {
        self.counter.with_label_values(&[result]).inc();
    }

    fn is_confirmed(&self, key: &str) -> bool {
        let map = self.confirmed.lock().expect("not poisoned");
        map.get(key).is_some_and(|t| t.elapsed() < TTL)
    }

    fn confirm(&self, key: &str) {
        let mut map = self.confirmed.lock().expect("not poisoned");
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, t| t.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear(); // simplest bound; a cold cache only costs HEADs
            }
        }
        map.insert(key.to_string(), Instant::now());
    }

    pub async fn ensure(
        &self,
        app: &Arc<App>,
        mapping: &BucketMapping,
        transform: &str,
        source_key: &str,
    ) -> Ensured {
        let Some(t) = app.catalogue.get(transform) else {
            return Ensured::UnknownTransform;
        };
        let layout = KeyLayout::new(mapping.prefix.clone());
        // Derived objects are never sources: no thumbnails of thumbnails.
        if let Err(e) = layout.check_source(source_key) {
            return Ensured::BadRequest(e.to_string());
        }
        let key = match layout.derived_key(source_key, transform, t.output.format.extension()) {
            Ok(k) => k,
            Err(e) => return Ensured::BadRequest(e.to_string()),
        };
        let bucket = mapping.derived().to_string();
        let cache_key = format!("{bucket}\n{key}");
        if self.is_confirmed(&cache_key) {
            self.count("cache_hit");
            return Ensured::Present { bucket, key };
        }
        match app.store.head(&bucket, &key).await {
            Ok(Some(_)) => {
                self.count("present");
                self.confirm(&cache_key);
                return Ensured::Present { bucket, key };
            }
            Ok(None) => {}
            Err(e) => return Ensured::Failed(e.to_string()),
        }
        // Missing: regenerate once, however many requests are waiting for it. The work runs
        // in its own task under the job time limit and the regeneration semaphore, so a
        // client hanging up neither cancels it half-way nor lets requests pile up renders.
        let flight = {
            let mut f = self.flights.lock().expect("not poisoned");
            f.entry(cache_key.clone()).or_default().clone()
        };
        let result = flight
            .get_or_init(|| {
                self.count("regenerating");
                let (app, mapping) = (app.clone(), mapping.clone());
                let (source_key, transform) = (source_key.to_string(), transform.to_string());
                let permits = self.regenerations.clone();
                let task = tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await.expect("never closed");
                    let limit = Duration::from_secs(app.cfg.worker.job_timeout_secs);
                    let work = regenerate(&app, &mapping, &source_key, &transform, limit);
                    tokio::time::timeout(limit, work)
                        .await
                        .unwrap_or_else(|_| Err((Fault::Transient, "timeout".into())))
                });
                async move {
                    task.await
                        .unwrap_or_else(|e| Err((Fault::Bug, format!("regeneration task: {e}"))))
                }
            })
            .await
            .clone();
        {
            // Only the flight we joined: a newer one for the same key must stay.
            let mut f = self.flights.lock().expect("not poisoned");
            if f.get(&cache_key)
                .is_some_and(|cur| Arc::ptr_eq(cur, &flight))
            {
                f.remove(&cache_key);
            }
        }
        match result {
            Ok(()) => {
                self.count("regenerated");
                self.confirm(&cache_key);
                Ensured::Present { bucket, key }
            }
            Err((Fault::Client, msg)) if msg.starts_with("source_missing") => {
                self.count("source_missing");
                Ensured::SourceMissing
            }
            Err((Fault::Client, msg)) => {
                self.count("not_accepted");
                Ensured::NotAccepted(msg)
            }
            Err((_, msg)) => {
                self.count("failed");
                Ensured::Failed(msg)
            }
        }
    }
}

/// Regenerates one derived object and records it in the source's manifest (unlike a loss
/// repair, an ensure-on-read may make an object for the first time).
async fn regenerate(
    app: &App,
    mapping: &BucketMapping,
    source_key: &str,
    transform: &str,
    limit: Duration,
) -> Result<(), (Fault, String)> {
    let deadline = Instant::now() + limit;
    let fail = |e: crate::worker::JobError| (e.fault, format!("{}: {}", e.reason, e.message));
    let done =
        crate::repair::repair_source(app, mapping, source_key, &[transform.to_string()], deadline)
            .await
            .map_err(fail)?;
    if let Some(first) = done.first() {
        let entries = done
            .iter()
            .map(|r| (r.derived.transform.clone(), r.entry.clone()))
            .collect();
        crate::manifest::merge(
            app.store.as_ref(),
            mapping.derived(),
            &KeyLayout::new(mapping.prefix.clone()),
            source_key,
            &first.entry.source_etag,
            &entries,
        )
        .await
        .map_err(|e| fail(e.into()))?;
    }
    Ok(())
}
