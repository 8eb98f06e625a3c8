//! The frames of an animated GIF, WebP or APNG, decoded one at a time by the `image`
//! crate's `AnimationDecoder`s, which composite each onto the canvas (disposal and
//! blending done): every frame comes out as a full-canvas RGBA image. Used by `anim/`
//! when an output keeps the animation; a still render never goes through here.

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::metadata::LoopCount;
use image::{AnimationDecoder, Frames, ImageDecoder};

use super::{check_icc_len, Kind, Source};
use crate::engine::error::{from_image, EngineError};
use crate::media::MediaType;

/// An animation ready to be decoded frame by frame.
pub struct Animated<'a> {
    pub frames: Frames<'a>,
    /// Times the animation plays, 0 for forever (WebP's and APNG's convention).
    pub loops: u16,
    /// The source's ICC profile (within the metadata limit).
    pub icc: Option<Vec<u8>>,
}

impl<'a> Source<'a> {
    /// The frame decoder, capped at the estimate (which counts the animation's canvases).
    pub fn animated(&self) -> Result<Animated<'_>, EngineError> {
        let Kind::Other { png, repaired, .. } = &self.kind else {
            return Err(EngineError::Internal(format!(
                "{} has no animation decoder",
                self.media.mime()
            )));
        };
        let input = Cursor::new(repaired.as_deref().unwrap_or(self.bytes));
        let mut caps = image::Limits::default();
        caps.max_alloc = Some(self.estimated_bytes);
        let (frames, loops, icc) = match (self.media, png) {
            (MediaType::Gif, _) => {
                let mut dec = GifDecoder::new(input).map_err(from_image)?;
                dec.set_limits(caps).map_err(from_image)?;
                let loops = loops(dec.loop_count());
                (dec.into_frames(), loops, None)
            }
            (MediaType::Webp, _) => {
                let mut dec = WebPDecoder::new(input).map_err(from_image)?;
                dec.set_limits(caps).map_err(from_image)?;
                let icc = dec.icc_profile().ok().flatten();
                let loops = loops(dec.loop_count());
                (dec.into_frames(), loops, icc)
            }
            (MediaType::Png, Some(info)) => {
                let mut header_caps = image::Limits::default();
                header_caps.max_alloc = Some(info.png_budget(self.max_metadata));
                let mut dec = PngDecoder::with_limits(input, header_caps).map_err(from_image)?;
                dec.set_limits(caps).map_err(from_image)?;
                let icc = dec.icc_profile().ok().flatten();
                let dec = dec.apng().map_err(from_image)?;
                let loops = loops(dec.loop_count());
                (dec.into_frames(), loops, icc)
            }
            (other, _) => {
                let m = format!("{} has no animation decoder", other.mime());
                return Err(EngineError::Internal(m));
            }
        };
        check_icc_len(icc.as_deref(), self.max_metadata)?;
        Ok(Animated { frames, loops, icc })
    }
}

/// The decoder's loop count as WebP writes it (0 = forever; at most 65535 plays).
fn loops(count: LoopCount) -> u16 {
    match count {
        LoopCount::Infinite => 0,
        LoopCount::Finite(n) => n.get().min(u16::MAX as u32) as u16,
    }
}
