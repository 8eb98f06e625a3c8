//! The resource limits every source is held to, checked from its header and metadata before
//! any decoder runs (`decode.rs`, `jpeg/header.rs`, `png.rs`).

/// Resource limits applied to every source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest source, in pixels (width × height), checked from the header before decoding.
    pub max_input_pixels: u64,
    /// Largest source file, in bytes.
    pub max_input_bytes: u64,
    /// Largest output width or height, in pixels.
    pub max_output_side: u32,
    /// Most metadata a source may carry, in bytes: its ICC profile, EXIF and XMP/text
    /// together (a PNG's compressed profile counted at its inflated size, measured without
    /// keeping it). Checked before any of it is inflated or copied; a source over it is
    /// refused. Real profiles are well under 1 MiB; a bigger one is an attack (a 1 px PNG
    /// whose profile inflates to 700 MB) or a broken file.
    pub max_metadata_bytes: u64,
    /// Most scans a JPEG may have (progressive files have ~10). Counted over the whole file
    /// before decoding: each scan is another pass over every coefficient, so thousands of
    /// tiny repeated scans cost minutes of CPU. 500 is libjpeg-turbo's own limit.
    pub max_jpeg_scans: u32,
    /// Largest video source file, in bytes. Video sources are fetched up to this size
    /// (images are still refused over `max_input_bytes`).
    pub max_video_bytes: u64,
    /// Longest video, in seconds, from the container's header.
    pub max_video_seconds: u64,
    /// Most pages a PDF source may have, from its header.
    pub max_pdf_pages: u32,
    /// Largest SVG source, in bytes, and the most its text may grow to with its internal
    /// entities expanded (checked before parsing: a "billion laughs" file is refused).
    pub max_svg_bytes: u64,
    /// Most frames an animated source may have to be rendered animated (a transform with
    /// `animation = "keep"`), counted from the container before any frame is decoded.
    /// A transform that takes the first frame only is not held to it.
    pub max_frames: u32,
    /// Most pixels an animated render may decode: frames × width × height, from the
    /// container before decoding (each one is resized and encoded again per output).
    pub max_animation_pixels: u64,
}

/// The smallest metadata cap accepted: EXIF blocks alone reach 64 KiB (one JPEG segment).
pub const MIN_METADATA_BYTES: u64 = 64 << 10;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_pixels: 100_000_000,
            max_input_bytes: 200 * 1024 * 1024,
            max_output_side: 8192,
            max_metadata_bytes: 4 << 20,
            max_jpeg_scans: 500,
            max_video_bytes: 1 << 30,
            max_video_seconds: 4 * 3600,
            max_pdf_pages: 5000,
            max_svg_bytes: 10 << 20,
            max_frames: 1000,
            max_animation_pixels: 250_000_000,
        }
    }
}

impl Limits {
    /// Checks the limits make sense; the error names the key (under `limits.`) and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let zero = [
            ("max_input_pixels", self.max_input_pixels == 0),
            ("max_input_bytes", self.max_input_bytes == 0),
            ("max_output_side", self.max_output_side == 0),
            ("max_jpeg_scans", self.max_jpeg_scans == 0),
            ("max_video_bytes", self.max_video_bytes == 0),
            ("max_video_seconds", self.max_video_seconds == 0),
            ("max_pdf_pages", self.max_pdf_pages == 0),
            ("max_svg_bytes", self.max_svg_bytes == 0),
            ("max_frames", self.max_frames == 0),
            ("max_animation_pixels", self.max_animation_pixels == 0),
        ];
        if let Some((key, _)) = zero.iter().find(|(_, is_zero)| *is_zero) {
            return Err((key, "must be above zero".into()));
        }
        if !(MIN_METADATA_BYTES..=self.max_input_bytes.max(MIN_METADATA_BYTES))
            .contains(&self.max_metadata_bytes)
        {
            return Err((
                "max_metadata_bytes",
                format!(
                    "must be {MIN_METADATA_BYTES}..=max_input_bytes ({})",
                    self.max_input_bytes
                ),
            ));
        }
        if self.max_jpeg_scans > 10_000 {
            return Err(("max_jpeg_scans", "must be at most 10000".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let bad = |l: Limits| l.validate().unwrap_err().0;
        let d = Limits::default();
        assert_eq!(
            bad(Limits {
                max_jpeg_scans: 0,
                ..d
            }),
            "max_jpeg_scans"
        );
        assert_eq!(
            bad(Limits {
                max_metadata_bytes: 1000,
                ..d
            }),
            "max_metadata_bytes"
        );
        assert_eq!(
            bad(Limits {
                max_metadata_bytes: d.max_input_bytes + 1,
                ..d
            }),
            "max_metadata_bytes"
        );
        assert_eq!(
            bad(Limits {
                max_input_pixels: 0,
                ..d
            }),
            "max_input_pixels"
        );
        assert_eq!(
            bad(Limits {
                max_pdf_pages: 0,
                ..d
            }),
            "max_pdf_pages"
        );
    }
}
