//! The one producer of derived objects. Jobs, repairs, ensure-on-read and audit all come
//! here; none of them knows how another path works.
//!
//! [`Deriver::derive`] runs the pipeline for one source: fetch (one GET, size-limited) →
//! probe (header only; a video or PDF by its tool, [`probe`]) → select the transforms →
//! work out what is owed ([`identity`]) → render everything owed from one decode, with the
//! source's placeholders → write every object → record them and the source's facts in the
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
mod probe;
mod recheck;
mod render;
pub mod select;
pub mod source;
pub mod still;
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
use crate::engine::geometry::Focus;
use crate::engine::Engine;
use crate::extract::Extractors;
use crate::job::TransformSelection;
use crate::manifest::{self, Manifest, SourceFacts, SourceUpdate};
use crate::metrics::Metrics;
use crate::storage::{ObjectStore, PutRequest, StorageClass};

/// What to derive.
#[derive(Debug, Clone)]
pub struct DeriveRequest {
    /// Source bucket; `None` is the default bucket.
    pub bucket: Option<String>,
    pub source: String,
    pub transforms: TransformSelection,
    /// Rewrite objects even if they are current.
    pub force: bool,
    /// A focal point for `fill` crops, to keep as the source's (`None`: the stored one).
    pub focus: Option<Focus>,
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
    /// The source's facts (placeholders, and a video's or PDF's tool facts among them):
    /// from this render, or from the manifest when nothing was owed; `None` when neither
    /// has them.
    pub facts: Option<SourceFacts>,
}

/// What a request owes, judged.
struct Work {
    owed: Vec<Arc<Transform>>,
    up_to_date: usize,
    facts: Option<SourceFacts>,
    /// The focal point to crop at: the request's, else the manifest's.
    focus: Option<Focus>,
}

/// Passes over a request whose source keeps changing before it gives up (a transient
/// error: the message is retried later).
const MAX_PASSES: usize = 3;

/// How one pass over a request ended.
enum Pass {
    Done(Box<Derived>),
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
    /// ffmpeg and poppler for video and PDF sources (none: only images are accepted).
    pub extractors: Extractors,
}

impl Deriver {
    /// Makes whatever `req` owes; see the module docs.
    pub async fn derive(&self, req: &DeriveRequest) -> Result<Derived, DeriveError> {
        for _ in 0..MAX_PASSES {
            match self.derive_once(req).await? {
                Pass::Done(derived) => return Ok(*derived),
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
        let probed = self.probe(&source, deadline).await?;
        let wanted = select::transforms(&self.catalogue, &req.transforms, probed.media())?;
        let work = self.owed(mapping, &source, wanted, req);
        let work = self.timed("judge", deadline, work).await?;
        let mut derived = Derived {
            bucket: mapping.derived.clone(),
            written: Vec::new(),
            up_to_date: work.up_to_date,
            facts: work.facts.clone(),
        };
        if work.owed.is_empty() {
            return Ok(Pass::Done(Box::new(derived)));
        }
        if !self
            .make(mapping, &source, &probed, work, req, &mut derived)
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
        Ok(Pass::Done(Box::new(derived)))
    }

    /// Renders what `work` owes from one decode, writes every object and records them;
    /// false if the source changed meanwhile (nothing recorded, or a record to redo).
    async fn make(
        &self,
        mapping: &Mapping,
        source: &Source,
        probed: &probe::Probe,
        work: Work,
        req: &DeriveRequest,
        derived: &mut Derived,
    ) -> Result<bool, DeriveError> {
        let rendered = self
            .render(mapping, source, probed, work.owed, work.focus, req.deadline)
            .await?;
        derived.facts = rendered.placeholders.map(|p| probed.facts(p));
        let mut puts = Vec::with_capacity(rendered.renditions.len());
        for (r, used) in &rendered.renditions {
            let (key, etag, class) = (&source.key, &source.etag, self.storage_class);
            let (put, mut written) =
                write::derived_object(mapping, key, etag, r, class, work.focus)?;
            if let Some(used) = used {
                let v = serde_json::to_value(used).expect("serialises");
                written.entry.extra.insert("still".into(), v);
            }
            puts.push(put);
            derived.written.push(written);
        }
        let update = SourceUpdate {
            facts: derived.facts.as_ref(),
            focus: req.focus,
        };
        self.commit(
            mapping,
            source,
            puts,
            &derived.written,
            update,
            req.deadline,
        )
        .await
    }

    /// Writes the objects and records them, checking the source before and after the
    /// merge ([`recheck`]); false (no merge, or a merge to redo) if it changed meanwhile.
    async fn commit(
        &self,
        mapping: &Mapping,
        source: &Source,
        puts: Vec<PutRequest>,
        written: &[Written],
        update: SourceUpdate<'_>,
        deadline: Instant,
    ) -> Result<bool, DeriveError> {
        let store = self.store.as_ref();
        let writes = write::put_all(store, &mapping.derived, puts);
        self.timed("store", deadline, writes).await?;
        let current = recheck::still_current(store, mapping, source);
        if !self.timed("recheck", deadline, current).await? {
            return Ok(false); // the manifest must not go back to an older version
        }
        let record = write::record(store, mapping, source, written, update);
        self.timed("manifest", deadline, record).await?;
        let current = recheck::still_current(store, mapping, source);
        self.timed("recheck", deadline, current).await
    }

    /// How the derived objects of `transforms` made from `source_etag` stand now: one
    /// HEAD per object and one read of the manifest (whose focal point they are judged
    /// against).
    pub async fn verdicts(
        &self,
        mapping: &Mapping,
        source_key: &str,
        source_etag: &str,
        transforms: &[Arc<Transform>],
    ) -> Result<Vec<Verdict>, DeriveError> {
        let judged = self.judge(mapping, source_key, source_etag, transforms, None);
        Ok(judged.await?.0)
    }

    /// [`Deriver::verdicts`] (against `focus`, else the manifest's), with the manifest
    /// they were judged against.
    async fn judge(
        &self,
        mapping: &Mapping,
        source_key: &str,
        source_etag: &str,
        transforms: &[Arc<Transform>],
        focus: Option<Focus>,
    ) -> Result<(Vec<Verdict>, Option<Manifest>), DeriveError> {
        let heads = try_join_all(transforms.iter().map(|t| async move {
            let ext = t.output.format.extension();
            let key = mapping.layout.derived_key(source_key, &t.name, ext)?;
            Ok::<_, DeriveError>(self.store.head(&mapping.derived, &key).await?)
        }));
        let (heads, recorded) = futures_util::try_join!(heads, self.manifest(mapping, source_key))?;
        let focus = focus.or(recorded.as_ref().and_then(|m| m.focus));
        let verdicts = transforms.iter().zip(&heads).map(|(t, head)| {
            let entry = recorded
                .as_ref()
                .and_then(|m| m.derived.get(&t.entry_name()));
            let wanted = Identity::with_focus(source_etag, t, focus);
            identity::judge(&wanted, head.as_ref(), entry)
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

    /// One GET of the source into memory, up to `limits.max_input_bytes`; one that is
    /// larger may be a video (when videos are on): then a second GET streams it, up to
    /// `limits.max_video_bytes`, into a temp file ([`source::SourceBody::File`]).
    async fn fetch(&self, mapping: &Mapping, key: &str) -> Result<Source, DeriveError> {
        let limits = self.engine.limits();
        let got = self
            .store
            .get_limited(&mapping.source, key, limits.max_input_bytes)
            .await;
        let object = match got {
            Ok(Some(object)) => object,
            Ok(None) => return Err(DeriveError::SourceMissing(key.to_string())),
            Err(crate::storage::StoreError::TooLarge { .. })
                if self.extractors.video.is_some()
                    && limits.max_video_bytes > limits.max_input_bytes =>
            {
                return source::fetch_to_file(self, mapping, key).await;
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Source {
            key: key.to_string(),
            etag: object.meta.etag,
            body: source::SourceBody::Bytes(object.bytes),
        })
    }

    /// What `req` owes of `wanted`: everything when forced, else what is not current
    /// (against the job's focus, else the manifest's); with the source's facts as the
    /// manifest has them for this version of it.
    async fn owed(
        &self,
        mapping: &Mapping,
        source: &Source,
        wanted: Vec<Arc<Transform>>,
        req: &DeriveRequest,
    ) -> Result<Work, DeriveError> {
        if req.force {
            // Repairs and audits force: they must still crop at the stored focus.
            let stored = self.manifest(mapping, &source.key).await?;
            return Ok(Work {
                owed: wanted,
                up_to_date: 0,
                facts: None,
                focus: req.focus.or(stored.and_then(|m| m.focus)),
            });
        }
        let (key, etag) = (&source.key, &source.etag);
        let (verdicts, recorded) = self.judge(mapping, key, etag, &wanted, req.focus).await?;
        let facts = recorded.as_ref().and_then(|m| m.facts_of(etag).cloned());
        let focus = req.focus.or(recorded.and_then(|m| m.focus));
        let owed: Vec<_> = wanted
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| **v != Verdict::Current)
            .map(|(t, _)| t.clone())
            .collect();
        let up_to_date = wanted.len() - owed.len();
        Ok(Work {
            owed,
            up_to_date,
            facts,
            focus,
        })
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
