//! Media types derivd reads and writes, detected from bytes, never from key extensions.
//!
//! Images are decoded in-process by the engine; videos and PDFs are sources too, whose one
//! frame or page the external tools of [`crate::extract`] turn into pixels first. ISO BMFF
//! files (MP4, MOV, HEIC, AVIF, M4A, CR3) are told apart by one brand table ([`brands`]),
//! Matroska and WebM by the EBML header's DocType ([`ebml_doctype`]).

pub mod boxes;
pub mod brands;
pub mod ifd;
mod output;
mod sniff;

pub use output::OutputFormat;

use serde::{Deserialize, Serialize};

/// Source formats the engine can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
    Gif,
    Tiff,
    /// HEIF with HEVC-coded images (`heic`, `heix`… brands): iPhone photos.
    Heic,
    /// HEIF with only the structural brands (`mif1`, `msf1`).
    Heif,
    /// AVIF: AV1-coded HEIF, stills and image sequences (`avif`, `avis`).
    Avif,
    Mp4,
    QuickTime,
    WebM,
    Matroska,
    Pdf,
    /// JPEG XL (bare codestream or ISO BMFF-style container).
    Jxl,
    /// SVG, rasterised at the size of the largest output.
    Svg,
    /// Camera RAW files: their largest embedded preview is rendered (no raw development).
    Dng,
    Cr2,
    Cr3,
    Nef,
    Arw,
    Kdc,
}

/// Which part of derivd turns a source of this type into pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Decoded in-process by the engine.
    Image,
    /// One frame extracted by ffmpeg (`extract::ffmpeg`).
    Video,
    /// One page rasterised by poppler (`extract::poppler`).
    Document,
}

impl MediaType {
    pub const ALL: [MediaType; 21] = [
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::Webp,
        MediaType::Gif,
        MediaType::Tiff,
        MediaType::Heic,
        MediaType::Heif,
        MediaType::Avif,
        MediaType::Mp4,
        MediaType::QuickTime,
        MediaType::WebM,
        MediaType::Matroska,
        MediaType::Pdf,
        MediaType::Jxl,
        MediaType::Svg,
        MediaType::Dng,
        MediaType::Cr2,
        MediaType::Cr3,
        MediaType::Nef,
        MediaType::Arw,
        MediaType::Kdc,
    ];

    pub fn kind(self) -> MediaKind {
        match self {
            MediaType::Mp4 | MediaType::QuickTime | MediaType::WebM | MediaType::Matroska => {
                MediaKind::Video
            }
            MediaType::Pdf => MediaKind::Document,
            _ => MediaKind::Image,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Gif => "image/gif",
            MediaType::Tiff => "image/tiff",
            MediaType::Heic => "image/heic",
            MediaType::Heif => "image/heif",
            MediaType::Avif => "image/avif",
            MediaType::Mp4 => "video/mp4",
            MediaType::QuickTime => "video/quicktime",
            MediaType::WebM => "video/webm",
            MediaType::Matroska => "video/x-matroska",
            MediaType::Pdf => "application/pdf",
            MediaType::Jxl => "image/jxl",
            MediaType::Svg => "image/svg+xml",
            MediaType::Dng => "image/x-adobe-dng",
            MediaType::Cr2 => "image/x-canon-cr2",
            MediaType::Cr3 => "image/x-canon-cr3",
            MediaType::Nef => "image/x-nikon-nef",
            MediaType::Arw => "image/x-sony-arw",
            MediaType::Kdc => "image/x-kodak-kdc",
        }
    }

    pub fn from_mime(s: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.mime() == s)
    }

    /// Formats that may hold several frames; derivd renders the first one.
    pub fn may_be_animated(self) -> bool {
        matches!(
            self,
            MediaType::Gif | MediaType::Webp | MediaType::Png | MediaType::Avif | MediaType::Jxl
        )
    }

    /// Camera RAW: only an embedded preview is ever rendered.
    pub fn is_camera_raw(self) -> bool {
        matches!(
            self,
            MediaType::Dng
                | MediaType::Cr2
                | MediaType::Cr3
                | MediaType::Nef
                | MediaType::Arw
                | MediaType::Kdc
        )
    }

    /// What the catalogue says about how an image of this type becomes pixels, where that
    /// is not simply "decoded".
    pub fn image_note(self) -> Option<&'static str> {
        match self {
            MediaType::Svg => Some(
                "rasterised at the size of the largest output; only data: images are \
                 drawn (no file or URL is ever read)",
            ),
            m if m.is_camera_raw() => Some(
                "the largest embedded preview image is used (no raw development); \
                 files without one are refused as unsupported",
            ),
            _ => None,
        }
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
        Detected::Supported(sniff::camera_raw(bytes).unwrap_or(MediaType::Tiff))
    } else if starts(b"II+\0") || starts(b"MM\0+") {
        // BigTIFF (64-bit offsets; libtiff reads it).
        Detected::Supported(MediaType::Tiff)
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        iso_media(bytes)
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        match ebml_doctype(bytes) {
            Some(b"webm") => Detected::Supported(MediaType::WebM),
            Some(b"matroska") => Detected::Supported(MediaType::Matroska),
            _ => Detected::Unsupported("EBML (not WebM or Matroska)"),
        }
    } else if is_pdf(bytes) {
        Detected::Supported(MediaType::Pdf)
    } else if starts(b"BM") {
        Detected::Unsupported("BMP")
    } else if starts(b"II\xBC") {
        Detected::Unsupported("JPEG XR")
    } else if starts(b"\0\0\0\x0cJXL \r\n\x87\n") || starts(&[0xFF, 0x0A]) {
        Detected::Supported(MediaType::Jxl)
    } else if sniff::is_svg(bytes) {
        Detected::Supported(MediaType::Svg)
    } else {
        Detected::Unknown
    }
}

/// An ISO BMFF file, by its `ftyp` brands ([`brands`]).
fn iso_media(bytes: &[u8]) -> Detected {
    use brands::Family;
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(12, bytes.len().min(4096));
    match brands::classify(&bytes[8..end]) {
        Some(Family::Mp4 | Family::Generic) => Detected::Supported(MediaType::Mp4),
        Some(Family::QuickTime) => Detected::Supported(MediaType::QuickTime),
        Some(Family::Avif) => Detected::Supported(MediaType::Avif),
        Some(Family::Heic) => Detected::Supported(MediaType::Heic),
        Some(Family::Heif) => Detected::Supported(MediaType::Heif),
        Some(Family::Audio) => Detected::Unsupported("audio-only MPEG-4 (M4A): no picture"),
        Some(Family::CameraRaw) => Detected::Supported(MediaType::Cr3),
        None => Detected::Unsupported("ISO media (ftyp)"),
    }
}

/// PDF's header may follow up to 1024 bytes of junk (the spec's own allowance).
fn is_pdf(bytes: &[u8]) -> bool {
    memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some()
}

/// The DocType of an EBML header (`webm`, `matroska`), read element by element.
pub fn ebml_doctype(bytes: &[u8]) -> Option<&[u8]> {
    let (id_len, (size, size_len)) = (4, vint(bytes.get(4..)?)?);
    let header = bytes.get(id_len + size_len..)?;
    let header = &header[..(size as usize).min(header.len())];
    let mut at = 0;
    while at + 2 < header.len() {
        let id_len = match header[at] {
            b if b & 0x80 != 0 => 1,
            b if b & 0x40 != 0 => 2,
            b if b & 0x20 != 0 => 3,
            _ => 4,
        };
        let id = header.get(at..at + id_len)?;
        let (len, len_len) = vint(header.get(at + id_len..)?)?;
        let start = at + id_len + len_len;
        let value = header.get(start..start.checked_add(len as usize)?)?;
        if id == [0x42, 0x82] {
            return Some(value);
        }
        at = start + len as usize;
    }
    None
}

/// An EBML variable-length size: (value, bytes used).
fn vint(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut v = (first as u64) & (0xFF >> len);
    for &x in b.get(1..len)? {
        v = (v << 8) | x as u64;
    }
    Some((v, len))
}

/// `image/*` or one exact supported type, as written in a transform's `accepts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRange {
    AnyImage,
    AnyVideo,
    Exact(MediaType),
}

impl MediaRange {
    pub fn parse(s: &str) -> Result<MediaRange, String> {
        match s {
            "image/*" => return Ok(MediaRange::AnyImage),
            "video/*" => return Ok(MediaRange::AnyVideo),
            _ => {}
        }
        MediaType::from_mime(s)
            .map(MediaRange::Exact)
            .ok_or_else(|| {
                let known: Vec<_> = MediaType::ALL.iter().map(|m| m.mime()).collect();
                format!(
                    "{s:?} is not a type derivd decodes (image/*, video/* or one of {})",
                    known.join(", ")
                )
            })
    }

    pub fn matches(self, m: MediaType) -> bool {
        match self {
            MediaRange::AnyImage => m.kind() == MediaKind::Image,
            MediaRange::AnyVideo => m.kind() == MediaKind::Video,
            MediaRange::Exact(e) => e == m,
        }
    }
}

impl Serialize for MediaRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MediaRange::AnyImage => s.serialize_str("image/*"),
            MediaRange::AnyVideo => s.serialize_str("video/*"),
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
            Detected::Supported(MediaType::Avif)
        );
        let heic = b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic";
        assert_eq!(detect(heic), Detected::Supported(MediaType::Heic));
        let heif = b"\0\0\0\x14ftypmif1\0\0\0\0mif1";
        assert_eq!(detect(heif), Detected::Supported(MediaType::Heif));
        assert_eq!(detect(b"BM\x3a\0\0\0"), Detected::Unsupported("BMP"));
        assert_eq!(detect(b"hello"), Detected::Unknown);
        assert_eq!(detect(b""), Detected::Unknown);
    }

    #[test]
    fn videos_and_pdfs_are_told_apart_from_their_bytes() {
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm";
        assert_eq!(detect(webm), Detected::Supported(MediaType::WebM));
        let mkv = b"\x1a\x45\xdf\xa3\x93\x42\x82\x88matroska\x42\x87\x81\x04";
        assert_eq!(detect(mkv), Detected::Supported(MediaType::Matroska));
        let mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1";
        assert_eq!(detect(mp4), Detected::Supported(MediaType::Mp4));
        let mov = b"\0\0\0\x14ftypqt  \0\0\x02\0qt  ";
        assert_eq!(detect(mov), Detected::Supported(MediaType::QuickTime));
        let m4a = b"\0\0\0\x18ftypM4A \0\0\x02\0M4A mp42";
        assert!(matches!(detect(m4a), Detected::Unsupported(n) if n.contains("audio")));
        assert_eq!(detect(b"%PDF-1.7\n"), Detected::Supported(MediaType::Pdf));
        assert_eq!(
            detect(b"junk\r\n%PDF-1.4"),
            Detected::Supported(MediaType::Pdf)
        );
        assert!(MediaRange::AnyVideo.matches(MediaType::WebM));
        assert!(!MediaRange::AnyImage.matches(MediaType::Mp4));
        assert!(!MediaRange::AnyVideo.matches(MediaType::Pdf));
    }
}
