//! What the probe learns about a video or PDF: recorded in the manifest (`source` field)
//! and sent in the job's notice.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Facts {
    Video(VideoFacts),
    Pdf(PdfFacts),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoFacts {
    /// Seconds; 0 when the container does not say.
    pub duration_seconds: f64,
    /// Coded frame size, as stored.
    pub width: u32,
    pub height: u32,
    /// Shown size: rotation and sample aspect ratio applied.
    pub display_width: u32,
    pub display_height: u32,
    pub codec: String,
    pub frames_per_second: f64,
    /// Clockwise degrees the frame is turned to display it (0, 90, 180, 270).
    pub rotation: u32,
    pub pixel_format: String,
    /// `color_transfer` as ffprobe names it (`bt709`, `smpte2084`, `arib-std-b67`, …).
    #[serde(default)]
    pub transfer: String,
    #[serde(default)]
    pub color_space: String,
    #[serde(default)]
    pub color_range: String,
    /// Sample aspect ratio (width / height of one pixel), 1.0 for square pixels.
    #[serde(default = "one")]
    pub sample_aspect: f64,
}

fn one() -> f64 {
    1.0
}

impl VideoFacts {
    /// HDR transfer functions that need tone mapping to SDR (PQ, HLG).
    pub fn is_hdr(&self) -> bool {
        matches!(self.transfer.as_str(), "smpte2084" | "arib-std-b67")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PdfFacts {
    pub pages: u32,
    /// The rendered page (the first one probed).
    pub page: u32,
    /// CropBox size in points (1/72 in), before `/Rotate`.
    pub page_width_pt: f64,
    pub page_height_pt: f64,
    /// `/Rotate` of that page, clockwise degrees.
    pub rotate: u32,
}

impl PdfFacts {
    /// Upright size in points (what the reader sees).
    pub fn upright_pt(&self) -> (f64, f64) {
        if self.rotate % 180 == 90 {
            (self.page_height_pt, self.page_width_pt)
        } else {
            (self.page_width_pt, self.page_height_pt)
        }
    }
}

impl Facts {
    /// The upright size the still will have at scale 1 (pixels; PDF: points at 72 dpi).
    pub fn upright_size(&self) -> (f64, f64) {
        match self {
            Facts::Video(v) => (v.display_width as f64, v.display_height as f64),
            Facts::Pdf(p) => p.upright_pt(),
        }
    }
}
