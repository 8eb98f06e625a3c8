//! Video and PDF sources: a local copy for the tool, the probe (facts and limits), then
//! one extraction per distinct frame/page rule among the owed transforms, each feeding the
//! engine's cascade for every output that shares the rule.
//!
//! `at = "best"` picks its frame once per source version; the timestamp is recorded in
//! each entry (`still.at_seconds`), and a later render of the same version (a repair, a
//! forced job) takes that frame instead of picking again, so a regenerated poster is the
//! same picture.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::budget::MemoryBudget;
use super::source::{Source, SourceBody};
use super::DeriveError;
use crate::catalogue::Transform;
use crate::engine::{
    geometry, Deadline, Engine, EngineError, Placeholders, RenderOptions, Rendered, Rendition,
};
use crate::extract::{At, Extractor, Extractors, Facts, Request, Rule};
use crate::manifest::Manifest;
use crate::media::{MediaKind, MediaType};
use crate::metrics::Metrics;

/// A probed video or PDF, with the local copy the tools read.
pub struct Probed {
    pub media: MediaType,
    pub facts: Facts,
    file: Arc<tempfile::NamedTempFile>,
    extractor: Arc<dyn Extractor>,
}

/// Which frame or page one derived object was made from (`still` in its manifest entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StillUsed {
    /// The rule as written (`at=best`, `at=1s`, `page=1`).
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// Writes the local copy and probes it (on the blocking pool: the tools are processes).
pub async fn probe(
    ex: &Extractors,
    engine: &Engine,
    source: &Source,
    media: MediaType,
    deadline: Instant,
) -> Result<Probed, DeriveError> {
    let extractor = ex
        .for_media(media)
        .map_err(|m| DeriveError::Engine(EngineError::UnsupportedFormat(m)))?
        .clone();
    let limits = engine.limits();
    let (max, key) = match media.kind() {
        MediaKind::Video => (limits.max_video_bytes, "limits.max_video_bytes"),
        _ => (limits.max_input_bytes, "limits.max_input_bytes"),
    };
    let len = source.len();
    if len > max {
        let m = format!("source is {len} bytes, over {key} = {max}");
        return Err(DeriveError::Engine(EngineError::LimitExceeded(m)));
    }
    let (body, dir, e) = (source.body.clone(), ex.temp_dir.clone(), extractor.clone());
    let work = move || -> Result<Probed, DeriveError> {
        let file = match body {
            SourceBody::File { file, .. } => file,
            SourceBody::Bytes(bytes) => Arc::new(local_copy(dir.as_deref(), &bytes)?),
        };
        let facts = e.probe(file.path(), media, deadline)?;
        Ok(Probed {
            media,
            facts,
            file,
            extractor: e,
        })
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DeriveError::Panic(e.to_string()))?
}

/// A temp file holding `bytes` for the tools (in `dir`, else the system's temp folder).
/// Not synced: it lives only as long as this job, read by its own tools.
pub fn local_copy(
    dir: Option<&std::path::Path>,
    bytes: &[u8],
) -> Result<tempfile::NamedTempFile, DeriveError> {
    match dir {
        Some(d) => tempfile::NamedTempFile::new_in(d),
        None => tempfile::NamedTempFile::new(),
    }
    .and_then(|mut f| f.write_all(bytes).and(f.flush()).map(|_| f))
    .map_err(|e| DeriveError::Panic(format!("local copy of the source: {e}")))
}

/// Whether `t` picks its frame of a `media` source with `at = "best"`.
pub fn picks_best(t: &Transform, media: MediaType) -> bool {
    t.rule(media) == Some(Rule::Video(At::Best))
}

/// `best` timestamps recorded for this source version, by rule.
pub fn recorded(manifest: Option<&Manifest>, etag: &str) -> BTreeMap<String, f64> {
    let Some(m) = manifest else {
        return BTreeMap::new();
    };
    m.derived
        .values()
        .filter(|e| e.source_etag == etag)
        .filter_map(|e| serde_json::from_value::<StillUsed>(e.extra.get("still")?.clone()).ok())
        .filter_map(|s| Some((s.rule, s.at_seconds?)))
        .collect()
}

/// Every rendition a render of stills made, with what each used, and the source's
/// placeholders (from the first still).
pub struct Stills {
    pub renditions: Vec<(Rendition, StillUsed)>,
    pub placeholders: Option<Placeholders>,
}

/// Every owed rendition, one extraction per distinct rule; with what each used.
pub async fn render(
    (engine, budget, metrics): (&Engine, &MemoryBudget, &Metrics),
    probed: &Probed,
    tool_memory: u64,
    transforms: Vec<Arc<Transform>>,
    recorded: &BTreeMap<String, f64>,
    deadline: Instant,
    opts: RenderOptions,
) -> Result<Stills, DeriveError> {
    let groups = by_rule(transforms, probed.media);
    let mut out = Stills {
        renditions: Vec::new(),
        placeholders: None,
    };
    for (key, (rule, group)) in groups {
        let opts = RenderOptions {
            placeholders: opts.placeholders && out.placeholders.is_none(),
            ..opts
        };
        let rule = match (rule, recorded.get(&key)) {
            (Rule::Video(At::Best), Some(&t)) => Rule::Video(At::Seconds(t)),
            (r, _) => r,
        };
        let scale = covering_scale(&probed.facts, probed.media, &group);
        let (w, h) = probed.facts.upright_size();
        // A video frame is never enlarged; a page is rasterised at exactly `scale`.
        let s = match probed.facts {
            Facts::Video(_) => scale.clamp(0.0, 1.0),
            Facts::Pdf(_) => scale,
        };
        let frame = (w * s) * (h * s) * 3.0;
        // The still, and the engine's copy and resize buffers of about its size.
        let reserve = tool_memory + 3 * frame as u64;
        let reservation = budget.reserve(reserve, metrics).await;
        let (engine, p) = (engine.clone(), probed.extractor.clone());
        let (file, facts, media) = (probed.file.clone(), probed.facts.clone(), probed.media);
        let started = Instant::now();
        let task = tokio::task::spawn_blocking(move || {
            let _reservation = reservation;
            let req = Request {
                media,
                facts: &facts,
                rule,
                scale,
                deadline,
            };
            extract_and_render(&engine, p.as_ref(), file.path(), &req, &group, &opts)
        });
        let (at_seconds, page, rendered) = task
            .await
            .map_err(|e| DeriveError::Panic(e.to_string()))??;
        metrics
            .stage_duration
            .with_label_values(&["render"])
            .observe(started.elapsed().as_secs_f64());
        let used = StillUsed {
            rule: key.clone(),
            at_seconds,
            page,
        };
        out.placeholders = out.placeholders.or(rendered.placeholders);
        let made = rendered.renditions.into_iter().map(|r| (r, used.clone()));
        out.renditions.extend(made);
    }
    Ok(out)
}

/// The transforms by the rule that picks their frame or page (`at=1s`, `page=1`).
fn by_rule(
    transforms: Vec<Arc<Transform>>,
    media: MediaType,
) -> BTreeMap<String, (Rule, Vec<Arc<Transform>>)> {
    let mut groups: BTreeMap<String, (Rule, Vec<Arc<Transform>>)> = BTreeMap::new();
    for t in transforms {
        let rule = t.rule(media).expect("a video or PDF rule");
        groups
            .entry(rule.key())
            .or_insert((rule, Vec::new()))
            .1
            .push(t);
    }
    groups
}

/// One extraction and the engine's cascade of `group` from it (blocking: a tool runs):
/// where the still came from, and the renditions.
fn extract_and_render(
    engine: &Engine,
    extractor: &dyn Extractor,
    file: &std::path::Path,
    req: &Request<'_>,
    group: &[Arc<Transform>],
    opts: &RenderOptions,
) -> Result<(Option<f64>, Option<u32>, Rendered), DeriveError> {
    let still = extractor.extract(file, req)?;
    let pixels = (still.width, still.height, still.rgb.as_slice());
    // A video is planned at its display size (as an image is at its own); a PDF page has
    // none, so at the raster's.
    let size = match req.facts {
        Facts::Video(v) => (v.display_width, v.display_height),
        Facts::Pdf(_) => (still.width, still.height),
    };
    let d = Deadline::at(req.deadline);
    let r = engine.render_still(req.media, size, pixels, group, d, opts)?;
    Ok((still.at_seconds, still.page, r))
}

/// The scale of the source's upright size that covers every output of `group`. A PDF
/// page has no pixel size of its own, so its outputs may enlarge it (72 dpi is scale 1).
fn covering_scale(facts: &Facts, media: MediaType, group: &[Arc<Transform>]) -> f64 {
    let (w, h) = facts.upright_size();
    let (w, h) = ((w.round() as u32).max(1), (h.round() as u32).max(1));
    let pdf = media.kind() == MediaKind::Document;
    let scale = group
        .iter()
        .map(|t| {
            let mut spec = t.resize.clone();
            spec.enlarge |= pdf;
            geometry::plan(w, h, &spec).needed_scale()
        })
        .fold(0.0, f64::max);
    // A hair over, so rounding in the tool never leaves the largest output a pixel short.
    if pdf {
        scale * 1.002
    } else {
        scale
    }
}
