//! The extractors a worker has: one per enabled source kind (built from `[media]` and
//! `[limits]` by [`crate::backends::extractors`]), checked at start-up.

use std::path::PathBuf;
use std::sync::Arc;

use super::{ExtractError, Extractor};
use crate::media::{MediaKind, MediaType};

#[derive(Clone, Default)]
pub struct Extractors {
    pub video: Option<Arc<dyn Extractor>>,
    pub pdf: Option<Arc<dyn Extractor>>,
    /// Where local copies of sources are written (`None`: the system's temp folder).
    pub temp_dir: Option<PathBuf>,
    /// Memory one tool run may map: reserved from the worker's budget while it runs.
    pub tool_memory_bytes: u64,
}

impl std::fmt::Debug for Extractors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractors")
            .field("video", &self.video.as_ref().map(|e| e.name()))
            .field("pdf", &self.pdf.as_ref().map(|e| e.name()))
            .finish()
    }
}

impl Extractors {
    /// The extractor for `media`, or why there is none (the type is disabled here).
    pub fn for_media(&self, media: MediaType) -> Result<&Arc<dyn Extractor>, String> {
        let (slot, key) = match media.kind() {
            MediaKind::Video => (&self.video, "media.video"),
            MediaKind::Document => (&self.pdf, "media.pdf"),
            MediaKind::Image => return Err(format!("{} is an image", media.mime())),
        };
        slot.as_ref()
            .filter(|e| e.handles(media))
            .ok_or_else(|| format!("{} sources are disabled ({key} = false)", media.mime()))
    }

    /// Every enabled extractor's tools run here (`serve` refuses to start otherwise).
    pub fn check(&self) -> Result<(), ExtractError> {
        self.video
            .iter()
            .chain(&self.pdf)
            .try_for_each(|e| e.check())
    }

    /// Whether sources of `media` are enabled (the catalogue lists only those).
    pub fn enabled(&self, media: MediaType) -> bool {
        media.kind() == MediaKind::Image || self.for_media(media).is_ok()
    }
}
