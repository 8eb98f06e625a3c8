//! Still pictures of sources the engine cannot decode itself: one video frame (ffmpeg) or
//! one PDF page (poppler), as 8-bit sRGB pixels that then go through the engine's usual
//! resize cascade ([`crate::engine::Engine::render_still`]).
//!
//! Both tools are GPL builds in Debian, so they run as **separate processes**, never
//! linked, each inside the same [`sandbox`]: no shell, an empty environment, stdin closed,
//! rlimits on memory, CPU time, open files and written files, its own process group killed
//! at the job deadline, stderr kept for the typed error.
//!
//! [`Extractor`] is the I/O seam: its two real implementations are [`ffmpeg::Ffmpeg`]
//! (video) and [`poppler::Poppler`] (PDF), held to one contract suite
//! (`tests/extract_contract.rs`): probe gives facts, extract gives pixels of the size it
//! reports, a file that is not what it claims gives a typed client error, and a deadline
//! kills the tool.
//!
//! ```text
//! sniffed type → probe (MP4 boxes or ffprobe / pdfinfo: facts, limits) → per distinct rule:
//!   extract (ffmpeg / pdftoppm → PPM on stdout) → engine cascade → every output
//! ```

mod avc;
pub mod best;
pub mod error;
pub mod facts;
pub mod ffmpeg;
mod ffprobe;
mod hevc;
pub mod mp4;
pub mod poppler;
pub mod ppm;
pub mod sandbox;
mod set;
mod sps;
pub mod y4m;

use std::path::Path;
use std::time::Instant;

pub use crate::catalogue::rule::{At, Rule};
pub use error::ExtractError;
pub use facts::{Facts, PdfFacts, VideoFacts};
pub use set::Extractors;

use crate::media::MediaType;

/// One decoded picture, upright, 8-bit sRGB RGB, with where in the source it came from.
#[derive(Debug, Clone)]
pub struct Still {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    /// Video: the timestamp (seconds) of the frame used.
    pub at_seconds: Option<f64>,
    /// PDF: the page used (1-based).
    pub page: Option<u32>,
}

/// What the extraction of one rule needs besides the file.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub media: MediaType,
    pub facts: &'a Facts,
    pub rule: Rule,
    /// Scale of the source's upright size that covers the largest output (1.0 = as is);
    /// a PDF page is rasterised at exactly this, a video frame is never enlarged.
    pub scale: f64,
    pub deadline: Instant,
}

/// Turns a source file of the media types it handles into facts and stills.
pub trait Extractor: Send + Sync {
    /// The tool family, for messages (`ffmpeg`, `poppler`).
    fn name(&self) -> &'static str;
    fn handles(&self, media: MediaType) -> bool;
    /// Checks the tools run here; the error says what to install.
    fn check(&self) -> Result<(), ExtractError>;
    /// Facts from the container or document header, checked against the limits.
    fn probe(
        &self,
        file: &Path,
        media: MediaType,
        deadline: Instant,
    ) -> Result<Facts, ExtractError>;
    /// The picture `req.rule` picks.
    fn extract(&self, file: &Path, req: &Request<'_>) -> Result<Still, ExtractError>;
}
