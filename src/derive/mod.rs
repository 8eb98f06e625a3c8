//! The one producer of derived objects. Jobs, repairs, ensure-on-read and audit all come
//! here; none of them knows how another path works.
//!
//! [`Deriver::derive`] runs the pipeline for one source: fetch (one GET, size-limited) →
//! probe (header only) → select the transforms → work out what is owed ([`identity`]) →
//! render everything owed from one decode → write every object → record them in the
//! manifest. A request succeeds only once every object it owes is written and recorded,
//! and the source is still the version it read ([`recheck`]: otherwise it starts over).
//!
//! Time: every storage stage is bounded by the request's deadline; the render is not
//! preempted (see [`render`]) but checks the deadline between engine stages.

pub mod admit;
pub mod buckets;
pub mod budget;
mod error;
pub mod identity;
mod recheck;
mod render;
pub mod select;
pub mod source;
mod write;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::try_join_all;

pub use admit::Admission;
pub use buckets::{BucketMap, Mapping};
pub use budget::MemoryBudget;
pub use error::{reason, DeriveError};
pub use identity::{Identity, Verdict};
pub use source::Source;
pub use write::Written;

use crate::catalogue::{Catalogue, Transform};
use crate::engine::Engine;
use crate::job::TransformSelection;
use crate::manifest::{self, Manifest};
use crate::metrics::Metrics;
use crate::storage::{ObjectStore, StorageClass};

/// What to derive.
#[derive(Debug, Clone)]
pub struct DeriveRequest {
    /// Source bucket; `None` is the default bucket.
    pub bucket: Option<String>,
    pub source: String,
    pub transforms: TransformSelection,
    /// Rewrite objects even if they are current.
    pub force: bool,
    pub deadline: Instant,
}

/// What a successful request did.
#[derive(Debug, Default)]
pub struct Derived {
    /// The derived bucket written to.
    pub bucket: String,
    pub written: Vec<Written>,
    /// Objects that were already current and so not rewritten.
    pub up_to_date: usize,
}

/// Passes over a request whose source keeps changing before it gives up (a transient
/// error: the message is retried later).
const MAX_PASSES: usize = 3;

/// How one pass over a request ended.
enum Pass {
    Done(Derived),
    /// The source was replaced while the pass ran; what it wrote must be made again.
    SourceChanged,
}

/// Everything deriving needs, built once at start-up.
pub struct Deriver {
    pub store: Arc<dyn ObjectStore>,
    pub engine: Engine,
    pub budget: MemoryBudget,
    pub catalogue: Arc<Catalogue>,
    pub buckets: BucketMap,
    pub storage_class: StorageClass,
    pub metrics: Metrics,
}

impl Deriver {
    /// Makes whatever `req` owes; see the module docs.
    pub async fn derive(&self, req: &DeriveRequest) -> Result<Derived, DeriveError> {
        for _ in 0..MAX_PASSES {
            match self.derive_once(req).await? {
                Pass::Done(derived) => return Ok(derived),
                Pass::SourceChanged => {
                    tracing::info!(source = ?req.source, "source replaced while deriving; again");
                    self.metrics.source_changed.inc();
                }
            }
        }
        Err(DeriveError::SourceChanged(req.source.clone()))
    }

    async fn derive_once(&self, req: &DeriveRequest) -> Result<Pass, DeriveError> {
        let mapping = self.buckets.get(req.bucket.as_deref())?;
        mapping.layout.check_source(&req.source)?;
        let deadline = req.deadline;
        let source = self
            .timed("fetch", deadline, self.fetch(mapping, &req.source))
            .await?;
        let info = render::probe(&self.engine, &source).await?;
        let wanted = select::transforms(&self.catalogue, &req.transforms, info.media)?;
        let (owed, up_to_date) = if req.force {
            (wanted, 0)
        } else {
            let owed = self.owed(mapping, &source, &wanted);
            self.timed("judge", deadline, owed).await?
        };
        let mut derived = Derived {
            bucket: mapping.derived.clone(),
            written: Vec::new(),
            up_to_date,
        };
        if owed.is_empty() {
            return Ok(Pass::Done(derived));
        }
        let (engine, budget, metrics) = (&self.engine, &self.budget, &self.metrics);
        let renditions =
            render::render(engine, budget, metrics, &source, &info, owed, deadline).await?;
        let mut puts = Vec::with_capacity(renditions.len());
        for r in &renditions {
            let (put, written) =
                write::derived_object(mapping, &source.key, &source.etag, r, self.storage_class)?;
            puts.push(put);
            derived.written.push(written);
        }
        if !self
            .commit(mapping, &source, puts, &derived.written, deadline)
            .await?
        {
            return Ok(Pass::SourceChanged);
        }
        for w in &derived.written {
            self.metrics
                .derived_objects
                .with_label_values(&[&w.transform])
                .inc();
            self.metrics.derived_bytes.inc_by(w.entry.bytes);
        }
        Ok(Pass::Done(derived))
    }

    /// Writes the objects and records them, checking the source before and after the
    /// merge ([`recheck`]); false (no merge, or a merge to redo) if it changed meanwhile.
    async fn commit(
        &self,
        mapping: &Mapping,
        source: &Source,
        puts: Vec<crate::storage::PutRequest>,
        written: &[Written],
        deadline: Instant,
    ) -> Result<bool, DeriveError> {
        let store = self.store.as_ref();
        let writes = write::put_all(store, &mapping.derived, puts);
        self.timed("store", deadline, writes).await?;
        let current = recheck::still_current(store, mapping, source);
        if !self.timed("recheck", deadline, current).await? {
            return Ok(false); // the manifest must not go back to an older version
        }
        let record = write::record(store, mapping, &source.key, &source.etag, written);
        self.timed("manifest", deadline, record).await?;
        let current = recheck::still_current(store, mapping, source);
        self.timed("recheck", deadline, current).await
    }

    /// How the derived objects of `transforms` made from `source_etag` stand now: one
    /// HEAD per object and one read of the manifest.
    pub async fn verdicts(
        &self,
        mapping: &Mapping,
        source_key: &str,
        source_etag: &str,
        transforms: &[Arc<Transform>],
    ) -> Result<Vec<Verdict>, DeriveError> {
        let heads = try_join_all(transforms.iter().map(|t| async move {
            let ext = t.output.format.extension();
            let key = mapping.layout.derived_key(source_key, &t.name, ext)?;
            Ok::<_, DeriveError>(self.store.head(&mapping.derived, &key).await?)
        }));
        let (heads, recorded) = futures_util::try_join!(heads, self.manifest(mapping, source_key))?;
        let verdicts = transforms.iter().zip(&heads).map(|(t, head)| {
            let entry = recorded.as_ref().and_then(|m| m.derived.get(&t.name));
            identity::judge(&Identity::new(source_etag, t), head.as_ref(), entry)
        });
        Ok(verdicts.collect())
    }

    /// The source's manifest; one that cannot be read counts as none (a job then rewrites
    /// what it lists, which repairs it).
    async fn manifest(
        &self,
        mapping: &Mapping,
        source_key: &str,
    ) -> Result<Option<Manifest>, DeriveError> {
        let store = self.store.as_ref();
        match manifest::read(store, &mapping.derived, &mapping.layout, source_key).await {
            Ok(m) => Ok(m.map(|(m, _etag)| m)),
            Err(crate::storage::StoreError::Permanent(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn fetch(&self, mapping: &Mapping, key: &str) -> Result<Source, DeriveError> {
        let max = self.engine.limits().max_input_bytes;
        let object = self
            .store
            .get_limited(&mapping.source, key, max)
            .await?
            .ok_or_else(|| DeriveError::SourceMissing(key.to_string()))?;
        Ok(Source {
            key: key.to_string(),
            etag: object.meta.etag,
            body: source::SourceBody::Bytes(object.bytes),
        })
    }

    /// Splits `wanted` into what is owed and how many are already current.
    async fn owed(
        &self,
        mapping: &Mapping,
        source: &Source,
        wanted: &[Arc<Transform>],
    ) -> Result<(Vec<Arc<Transform>>, usize), DeriveError> {
        let verdicts = self
            .verdicts(mapping, &source.key, &source.etag, wanted)
            .await?;
        let owed: Vec<_> = wanted
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| **v != Verdict::Current)
            .map(|(t, _)| t.clone())
            .collect();
        let current = wanted.len() - owed.len();
        Ok((owed, current))
    }

    /// Runs a storage stage within the deadline, timing it.
    async fn timed<T, E: Into<DeriveError>>(
        &self,
        stage: &'static str,
        deadline: Instant,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, DeriveError> {
        let started = Instant::now();
        let limit = deadline.saturating_duration_since(started);
        let out = tokio::time::timeout(limit, work)
            .await
            .map_err(|_| DeriveError::Timeout(limit))?;
        self.metrics
            .stage_duration
            .with_label_values(&[stage])
            .observe(started.elapsed().as_secs_f64());
        out.map_err(Into::into)
    }
}
