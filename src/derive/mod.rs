//! The one producer of derived objects. Jobs, repairs, ensure-on-read and audit all come
//! here; none of them knows how another path works.
//!
//! [`Deriver::derive`] runs the pipeline for one source: fetch (one GET, size-limited) →
//! probe (header only) → select the transforms → work out what is owed ([`identity`]) →
//! render everything owed from one decode → write every object → record them in the
//! manifest. A request succeeds only once every object it owes is written and recorded.
//!
//! Time: every storage stage is bounded by the request's deadline; the render is not
//! preempted (see [`render`]) but checks the deadline between engine stages.

pub mod admit;
pub mod buckets;
pub mod budget;
mod error;
pub mod identity;
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
use crate::manifest::{self, Manifest, SourceFacts};
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
    /// The source's facts (placeholders among them): from this render, or from the
    /// manifest when nothing was owed; `None` when neither has them.
    pub facts: Option<SourceFacts>,
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
        let mapping = self.buckets.get(req.bucket.as_deref())?;
        mapping.layout.check_source(&req.source)?;
        let deadline = req.deadline;
        let source = self
            .timed("fetch", deadline, self.fetch(mapping, &req.source))
            .await?;
        let info = render::probe(&self.engine, &source).await?;
        let wanted = select::transforms(&self.catalogue, &req.transforms, info.media)?;
        let (owed, up_to_date, known) = if req.force {
            (wanted, 0, None)
        } else {
            let owed = self.owed(mapping, &source, &wanted);
            self.timed("judge", deadline, owed).await?
        };
        let mut derived = Derived {
            bucket: mapping.derived.clone(),
            written: Vec::new(),
            up_to_date,
            facts: known,
        };
        if owed.is_empty() {
            return Ok(derived);
        }
        let (engine, budget, metrics) = (&self.engine, &self.budget, &self.metrics);
        let rendered =
            render::render(engine, budget, metrics, &source, &info, owed, deadline).await?;
        derived.facts = rendered.placeholders.map(|placeholders| SourceFacts {
            media_type: info.media.mime().to_string(),
            width: info.width,
            height: info.height,
            placeholders,
        });
        let mut puts = Vec::with_capacity(rendered.renditions.len());
        for r in &rendered.renditions {
            let (put, written) =
                write::derived_object(mapping, &source.key, &source.etag, r, self.storage_class)?;
            puts.push(put);
            derived.written.push(written);
        }
        let store = self.store.as_ref();
        let writes = write::put_all(store, &mapping.derived, puts);
        self.timed("store", deadline, writes).await?;
        let facts = derived.facts.as_ref();
        let record = write::record(store, mapping, &source, &derived.written, facts);
        self.timed("manifest", deadline, record).await?;
        for w in &derived.written {
            self.metrics
                .derived_objects
                .with_label_values(&[&w.transform])
                .inc();
            self.metrics.derived_bytes.inc_by(w.entry.bytes);
        }
        Ok(derived)
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
        let judged = self.judge(mapping, source_key, source_etag, transforms);
        Ok(judged.await?.0)
    }

    /// [`Deriver::verdicts`], with the manifest they were judged against.
    async fn judge(
        &self,
        mapping: &Mapping,
        source_key: &str,
        source_etag: &str,
        transforms: &[Arc<Transform>],
    ) -> Result<(Vec<Verdict>, Option<Manifest>), DeriveError> {
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
        Ok((verdicts.collect(), recorded))
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

    /// Splits `wanted` into what is owed and how many are already current, with the
    /// source's facts as the manifest has them for this version of it.
    async fn owed(
        &self,
        mapping: &Mapping,
        source: &Source,
        wanted: &[Arc<Transform>],
    ) -> Result<(Vec<Arc<Transform>>, usize, Option<SourceFacts>), DeriveError> {
        let (verdicts, recorded) = self
            .judge(mapping, &source.key, &source.etag, wanted)
            .await?;
        let facts = recorded.and_then(|m| m.facts_of(&source.etag).cloned());
        let owed: Vec<_> = wanted
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| **v != Verdict::Current)
            .map(|(t, _)| t.clone())
            .collect();
        let current = wanted.len() - owed.len();
        Ok((owed, current, facts))
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
