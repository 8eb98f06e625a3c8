//! Ensure-on-read: `GET /v1/derived/{transform}/{source_key...}` makes sure the derived
//! object is there **and current** before pointing the client at it.
//!
//! A key confirmed current is served without any request for `ttl`. After that, one HEAD
//! of the source gives its current ETag, and the [`Deriver`]'s one judgement (object
//! metadata + manifest entry) decides: current → served; missing or stale (the source was
//! re-uploaded, the transform's settings changed) → regenerated through the deriver. A
//! regeneration is a single flight per key ([`flight`]) that outlives the requests waiting
//! for it.

mod flight;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::derive::{DeriveError, Deriver, Verdict};
use crate::metrics::Metrics;

const MAX_ENTRIES: usize = 10_000;

/// Where the object that was asked for is, now that it is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    pub bucket: String,
    pub key: String,
}

/// Why a read cannot be served.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EnsureError {
    #[error("unknown transform {0:?}")]
    UnknownTransform(String),
    #[error("source {0:?} not found")]
    SourceMissing(String),
    /// Not a valid request: a bucket that is not allowed, a key under a derived prefix.
    #[error("{0}")]
    BadRequest(DeriveError),
    /// Regenerating failed; the error says whose fault it is.
    #[error(transparent)]
    Derive(Arc<DeriveError>),
}

pub struct Ensurer {
    deriver: Arc<Deriver>,
    metrics: Metrics,
    ttl: Duration,
    confirmed: Mutex<HashMap<String, Instant>>,
    flights: flight::Flights,
}

impl Ensurer {
    /// `regenerations` bounds renders at once; `time_limit` bounds each one, including
    /// its wait for a turn.
    pub fn new(
        deriver: Arc<Deriver>,
        metrics: Metrics,
        ttl: Duration,
        regenerations: usize,
        time_limit: Duration,
    ) -> Ensurer {
        Ensurer {
            flights: flight::Flights::new(deriver.clone(), regenerations, time_limit),
            deriver,
            metrics,
            ttl,
            confirmed: Mutex::new(HashMap::new()),
        }
    }

    fn count(&self, result: &str) {
        self.metrics.ensure.with_label_values(&[result]).inc();
    }

    /// Makes sure the `transform` rendition of `source_key` in source `bucket` (default
    /// bucket if `None`) exists and is current.
    pub async fn ensure(
        &self,
        bucket: Option<&str>,
        transform: &str,
        source_key: &str,
    ) -> Result<Present, EnsureError> {
        let t = self
            .deriver
            .catalogue
            .get(transform)
            .cloned()
            .ok_or_else(|| EnsureError::UnknownTransform(transform.to_string()))?;
        let mapping = self
            .deriver
            .buckets
            .get(bucket)
            .map_err(EnsureError::BadRequest)?;
        // Derived objects are never sources: no thumbnails of thumbnails.
        let bad = |e: crate::keys::KeyError| EnsureError::BadRequest(e.into());
        mapping.layout.check_source(source_key).map_err(bad)?;
        let ext = t.output.format.extension();
        let key = mapping
            .layout
            .derived_key(source_key, &t.name, ext)
            .map_err(bad)?;
        let present = Present {
            bucket: mapping.derived.clone(),
            key,
        };
        let cache_key = format!("{}\n{}", present.bucket, present.key);
        if self.is_confirmed(&cache_key) {
            self.count("cache_hit");
            return Ok(present);
        }
        if self.is_current(mapping, source_key, t).await? {
            self.count("present");
            self.confirm(&cache_key);
            return Ok(present);
        }
        let joined = self.flights.join(
            cache_key.clone(),
            mapping.source.clone(),
            source_key,
            transform,
        );
        if joined.started {
            self.count("regenerating");
        }
        match joined.outcome().await {
            Ok(()) => {
                self.count("regenerated");
                self.confirm(&cache_key);
                Ok(present)
            }
            Err(e) => Err(self.refusal(e)),
        }
    }

    /// Whether the object is current against the source as it is now (one HEAD of the
    /// source, then the deriver's judgement).
    async fn is_current(
        &self,
        mapping: &crate::derive::Mapping,
        source_key: &str,
        t: Arc<crate::catalogue::Transform>,
    ) -> Result<bool, EnsureError> {
        let failed = |e: DeriveError| EnsureError::Derive(Arc::new(e));
        let head = self.deriver.store.head(&mapping.source, source_key).await;
        let Some(source) = head.map_err(|e| failed(e.into()))? else {
            self.count("source_missing");
            return Err(EnsureError::SourceMissing(source_key.to_string()));
        };
        let verdicts = self
            .deriver
            .verdicts(mapping, source_key, &source.etag, &[t])
            .await;
        Ok(verdicts.map_err(failed)? == [Verdict::Current])
    }

    fn refusal(&self, e: Arc<DeriveError>) -> EnsureError {
        match e.as_ref() {
            DeriveError::SourceMissing(key) => {
                self.count("source_missing");
                EnsureError::SourceMissing(key.clone())
            }
            _ => {
                self.count("failed");
                EnsureError::Derive(e)
            }
        }
    }

    fn is_confirmed(&self, key: &str) -> bool {
        let map = self.confirmed.lock().expect("not poisoned");
        map.get(key).is_some_and(|t| t.elapsed() < self.ttl)
    }

    fn confirm(&self, key: &str) {
        let mut map = self.confirmed.lock().expect("not poisoned");
        if map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            map.retain(|_, t| t.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear(); // simplest bound; a cold cache only costs HEADs
            }
        }
        map.insert(key.to_string(), Instant::now());
    }
}
