//! What a source is, and rendering by kind: an image is probed and decoded by the engine;
//! a video or PDF is probed by its tool and rendered from the stills it extracts
//! ([`super::still`]). Either way one render makes every owed object and the source's
//! placeholders.

use std::sync::Arc;
use std::time::Instant;

use super::still::{self, StillUsed};
use super::{render, DeriveError, Deriver, Mapping, Source};
use crate::catalogue::Transform;
use crate::engine::geometry::Focus;
use crate::engine::{Placeholders, RenderOptions, Rendition, SourceInfo};
use crate::manifest::SourceFacts;
use crate::media::{Detected, MediaKind, MediaType};

/// A probed source: an image's header, or a video's or PDF's facts and local copy.
pub(super) enum Probe {
    Image(SourceInfo),
    Still(still::Probed),
}

/// One render's output: every owed rendition, each with the frame or page it was made
/// from (videos, PDFs), and the source's placeholders.
pub(super) struct Made {
    pub renditions: Vec<(Rendition, Option<StillUsed>)>,
    pub placeholders: Option<Placeholders>,
}

impl Probe {
    pub fn media(&self) -> MediaType {
        match self {
            Probe::Image(i) => i.media,
            Probe::Still(p) => p.media,
        }
    }

    /// The source's public facts, given the placeholders its render made.
    pub fn facts(&self, placeholders: Placeholders) -> SourceFacts {
        let (width, height, media_facts) = match self {
            Probe::Image(i) => (i.width, i.height, None),
            Probe::Still(p) => {
                let (w, h) = p.facts.upright_size();
                (w.round() as u32, h.round() as u32, Some(p.facts.clone()))
            }
        };
        SourceFacts {
            media_type: self.media().mime().to_string(),
            width,
            height,
            placeholders,
            media_facts,
        }
    }
}

impl Deriver {
    /// The source's header: an image's by the engine, a video's or PDF's by its tool.
    pub(super) async fn probe(
        &self,
        source: &Source,
        deadline: Instant,
    ) -> Result<Probe, DeriveError> {
        match crate::media::detect(source.head()) {
            Detected::Supported(m) if m.kind() != MediaKind::Image => {
                let p = still::probe(&self.extractors, &self.engine, source, m, deadline);
                Ok(Probe::Still(p.await?))
            }
            _ => Ok(Probe::Image(render::probe(&self.engine, source).await?)),
        }
    }

    /// Every owed rendition from one decode (or one extraction per still rule), `fill`
    /// crops centred on `focus`, with the source's placeholders.
    pub(super) async fn render(
        &self,
        mapping: &Mapping,
        source: &Source,
        probe: &Probe,
        owed: Vec<Arc<Transform>>,
        focus: Option<Focus>,
        deadline: Instant,
    ) -> Result<Made, DeriveError> {
        let parts = (&self.engine, &self.budget, &self.metrics);
        let opts = RenderOptions {
            placeholders: true,
            focus,
        };
        match probe {
            Probe::Image(info) => {
                let r = render::render(parts, source, info, owed, deadline, opts).await?;
                Ok(Made {
                    renditions: r.renditions.into_iter().map(|r| (r, None)).collect(),
                    placeholders: r.placeholders,
                })
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
                let r = still::render(parts, p, memory, owed, &recorded, deadline, opts).await?;
                Ok(Made {
                    renditions: r
                        .renditions
                        .into_iter()
                        .map(|(r, u)| (r, Some(u)))
                        .collect(),
                    placeholders: r.placeholders,
                })
            }
        }
    }
}
