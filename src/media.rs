//! Media types derivd reads and writes, detected from bytes, never from key extensions.

use serde::{Deserialize, Serialize};

/// Source formats the engine can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
    Gif,
    Tiff,
}

impl MediaType {
    pub const ALL: [MediaType; 5] = [
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::Webp,
        MediaType::Gif,
        MediaType::Tiff,
    ];

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Gif => "image/gif",
            MediaType::Tiff => "image/tiff",
        }
    }

    pub fn from_mime(s: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.mime() == s)
    }

    /// Formats that may hold several frames; derivd renders the first one.
    pub fn may_be_animated(self) -> bool {
        matches!(self, MediaType::Gif | MediaType::Webp | MediaType::Png)
    }
}

/// Outcome of sniffing a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Supported(MediaType),
    /// Recognised but not decodable here (named for the error message).
    Unsupported(&'static str),
    Unknown,
}

/// Detects the format from magic numbers.
pub fn detect(bytes: &[u8]) -> Detected {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Detected::Supported(MediaType::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Detected::Supported(MediaType::Png)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Detected::Supported(MediaType::Gif)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Detected::Supported(MediaType::Webp)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Detected::Supported(MediaType::Tiff)
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        match &bytes[8..12] {
            b"avif" | b"avis" => Detected::Unsupported("AVIF"),
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                Detected::Unsupported("HEIF/HEIC")
            }
            _ => Detected::Unsupported("ISO media (ftyp)"),
        }
    } else if starts(b"BM") {
        Detected::Unsupported("BMP")
    } else if starts(b"II\xBC") {
        Detected::Unsupported("JPEG XR")
    } else if starts(b"\0\0\0\x0cJXL ") || starts(&[0xFF, 0x0A]) {
        Detected::Unsupported("JPEG XL")
    } else if starts(b"%PDF") {
        Detected::Unsupported("PDF")
    } else {
        Detected::Unknown
    }
}

/// Formats the engine can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
        }
    }
    pub fn is_lossy(self) -> bool {
        !matches!(self, OutputFormat::Png)
    }
    pub fn has_alpha(self) -> bool {
        !matches!(self, OutputFormat::Jpeg)
    }
    pub fn default_quality(self) -> u8 {
        match self {
            OutputFormat::Jpeg => 82,
            OutputFormat::Webp => 80,
            OutputFormat::Png => 100,
        }
    }
}

/// `image/*` or one exact supported type, as written in a transform's `accepts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRange {
    AnyImage,
    Exact(MediaType),
}

impl MediaRange {
    pub fn parse(s: &str) -> Result<MediaRange, String> {
        if s == "image/*" {
            return Ok(MediaRange::AnyImage);
        }
        MediaType::from_mime(s)
            .map(MediaRange::Exact)
            .ok_or_else(|| {
                let known: Vec<_> = MediaType::ALL.iter().map(|m| m.mime()).collect();
                format!(
                    "{s:?} is not a type derivd decodes (image/* or one of {})",
                    known.join(", ")
                )
            })
    }

    pub fn matches(self, m: MediaType) -> bool {
        match self {
            MediaRange::AnyImage => true,
            MediaRange::Exact(e) => e == m,
        }
    }
}

impl Serialize for MediaRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MediaRange::AnyImage => s.serialize_str("image/*"),
            MediaRange::Exact(m) => s.serialize_str(m.mime()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_not_name() {
        assert_eq!(
            detect(b"\xFF\xD8\xFF\xE0rest"),
            Detected::Supported(MediaType::Jpeg)
        );
        assert_eq!(
            detect(b"\0\0\0\x1cftypavif...."),
            Detected::Unsupported("AVIF")
        );
        assert_eq!(detect(b"hello"), Detected::Unknown);
        assert_eq!(detect(b""), Detected::Unknown);
    }
}
