//! The formats derived objects are written in.

use serde::{Deserialize, Serialize};

/// Formats the engine can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
    /// AV1 in HEIF (8-bit 4:2:0), through libheif: `engine/avif_out`.
    Avif,
    /// 256 colours a frame (NeuQuant), lossless otherwise; animated under
    /// `animation = "keep"` (`engine/anim`).
    Gif,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
            OutputFormat::Gif => "gif",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Avif => "image/avif",
            OutputFormat::Gif => "image/gif",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
            OutputFormat::Gif => "gif",
        }
    }
    pub fn is_lossy(self) -> bool {
        !matches!(self, OutputFormat::Png | OutputFormat::Gif)
    }
    pub fn has_alpha(self) -> bool {
        !matches!(self, OutputFormat::Jpeg)
    }
    pub fn default_quality(self) -> u8 {
        match self {
            OutputFormat::Jpeg => 82,
            OutputFormat::Webp => 80,
            OutputFormat::Avif => 50,
            OutputFormat::Png | OutputFormat::Gif => 100,
        }
    }
}
