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
use crate::engine::{Engine, Rendition, SourceInfo};
use crate::extract::Extractors;
use crate::job::TransformSelection;
use crate::manifest::{self, Manifest};
use crate::media::{Detected, MediaKind, MediaType};
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
    /// A video's or PDF's facts (duration, size, codec, …; pages, page size).
    pub facts: Option<crate::extract::Facts>,
}

/// A probed source: an image's header, or a video's or PDF's facts and local copy.
enum Probe {
    Image(SourceInfo),
    Still(still::Probed),
}

impl Probe {
    fn media(&self) -> MediaType {
        match self {
            Probe::Image(i) => i.media,
            Probe::Still(p) => p.media,
        }
    }

    fn facts(&self) -> Option<&crate::extract::Facts> {
        match self {
            Probe::Image(_) => None,
            Probe::Still(p) => Some(&p.facts),
        }
    }
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
            facts: None,
        };
        if owed.is_empty() {
            return Ok(Pass::Done(Box::new(derived)));
        }
        let renditions = self
            .render(mapping, &source, &probed, owed, deadline)
            .await?;
        let mut puts = Vec::with_capacity(renditions.len());
        for (r, used) in &renditions {
            let (put, mut written) =
                write::derived_object(mapping, &source.key, &source.etag, r, self.storage_class)?;
            if let Some(used) = used {
                let v = serde_json::to_value(used).expect("serialises");
                written.entry.extra.insert("still".into(), v);
            }
            puts.push(put);
            derived.written.push(written);
        }
        derived.facts = probed.facts().cloned();
        let (written, facts) = (&derived.written, derived.facts.as_ref());
        if !self
            .commit(mapping, &source, puts, written, facts, deadline)
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

    /// Writes the objects and records them, checking the source before and after the
    /// merge ([`recheck`]); false (no merge, or a merge to redo) if it changed meanwhile.
    async fn commit(
        &self,
        mapping: &Mapping,
        source: &Source,
        puts: Vec<crate::storage::PutRequest>,
        written: &[Written],
        facts: Option<&crate::extract::Facts>,
        deadline: Instant,
    ) -> Result<bool, DeriveError> {
        let store = self.store.as_ref();
        let writes = write::put_all(store, &mapping.derived, puts);
        self.timed("store", deadline, writes).await?;
        let current = recheck::still_current(store, mapping, source);
        if !self.timed("recheck", deadline, current).await? {
            return Ok(false); // the manifest must not go back to an older version
        }
        match facts {
            None => {
                let record = write::record(store, mapping, &source.key, &source.etag, written);
                self.timed("manifest", deadline, record).await?;
            }
            Some(facts) => {
                let record = still::record(store, mapping, source, written, facts);
                self.timed("manifest", deadline, record).await?;
            }
        }
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

    /// The source's header: an image's by the engine, a video's or PDF's by its tool.
    async fn probe(&self, source: &Source, deadline: Instant) -> Result<Probe, DeriveError> {
        match crate::media::detect(source.bytes()) {
            Detected::Supported(m) if m.kind() != MediaKind::Image => {
                let p = still::probe(&self.extractors, &self.engine, source, m, deadline);
                Ok(Probe::Still(p.await?))
            }
            _ => Ok(Probe::Image(render::probe(&self.engine, source).await?)),
        }
    }

    /// Every owed rendition, each with the frame or page it was made from (videos, PDFs).
    async fn render(
        &self,
        mapping: &Mapping,
        source: &Source,
        probe: &Probe,
        owed: Vec<Arc<Transform>>,
        deadline: Instant,
    ) -> Result<Vec<(Rendition, Option<still::StillUsed>)>, DeriveError> {
        let (engine, budget, metrics) = (&self.engine, &self.budget, &self.metrics);
        match probe {
            Probe::Image(info) => {
                let r = render::render(engine, budget, metrics, source, info, owed, deadline);
                Ok(r.await?.into_iter().map(|r| (r, None)).collect())
            }
            Probe::Still(p) => {
                // Only a `best` rule reuses what the manifest recorded.
                let recorded = match owed.iter().any(|t| still::picks_best(t, p.media)) {
                    true => {
                        let manifest = self.manifest(mapping, &source.key).await?;
                        still::recorded(manifest.as_ref(), &source.etag)
                    }
                    false => Default::default(),
                };
                let memory = self.extractors.tool_memory_bytes;
                let r = still::render(
                    engine, budget, metrics, p, memory, owed, &recorded, deadline,
                );
                Ok(r.await?.into_iter().map(|(r, u)| (r, Some(u))).collect())
            }
        }
    }

    async fn fetch(&self, mapping: &Mapping, key: &str) -> Result<Source, DeriveError> {
        let limits = self.engine.limits();
        // A video may be larger than any image; its own limit is checked once it is sniffed.
        let max = match self.extractors.video {
            Some(_) => limits.max_input_bytes.max(limits.max_video_bytes),
            None => limits.max_input_bytes,
        };
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
