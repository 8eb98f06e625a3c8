//! GIF output through the `image` crate's encoder (the `gif` crate, NeuQuant colour
//! quantisation to 256 colours a frame): a still, or an animation written frame by frame
//! (`anim/`) with each frame's delay (GIF counts in hundredths of a second, so a 75 ms
//! frame is written as 80 ms) and the loop count.
//!
//! Fully transparent pixels become the frame's transparent index; GIF has no partial alpha,
//! so translucent pixels are written opaque, as every GIF encoder does.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, ExtendedColorType, Frame, RgbaImage};

use super::bitmap::Bitmap;

/// NeuQuant's sampling factor (1 best … 30 fastest); 10 is the `gif` crate's default.
const SPEED: i32 = 10;

/// One still GIF.
pub fn encode_still(bitmap: &Bitmap) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let color = match bitmap.channels {
        4 => ExtendedColorType::Rgba8,
        _ => ExtendedColorType::Rgb8,
    };
    GifEncoder::new_with_speed(&mut out, SPEED)
        .encode(&bitmap.data, bitmap.width, bitmap.height, color)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// An animated GIF being written, frame by frame.
pub struct GifWriter {
    enc: GifEncoder<Sink>,
    out: Sink,
}

/// Where the encoder writes: shared with the writer, which takes the bytes once the
/// encoder is dropped (that writes the trailer; `image`'s encoder cannot be unwrapped).
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl GifWriter {
    /// An animation played `loops` times (0: forever).
    pub fn new(loops: u16) -> Result<Self, String> {
        let out = Sink::default();
        let mut enc = GifEncoder::new_with_speed(out.clone(), SPEED);
        let repeat = match loops {
            0 => Repeat::Infinite,
            n => Repeat::Finite(n),
        };
        enc.set_repeat(repeat).map_err(|e| e.to_string())?;
        Ok(GifWriter { enc, out })
    }

    /// Adds `frame` (RGB or RGBA) shown for `duration_ms`.
    pub fn add(&mut self, frame: &Bitmap, duration_ms: u32) -> Result<(), String> {
        let rgba: Vec<u8> = match frame.channels {
            4 => frame.data.clone(),
            _ => frame
                .data
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
        };
        let image = RgbaImage::from_raw(frame.width, frame.height, rgba)
            .ok_or_else(|| format!("frame of {}×{}", frame.width, frame.height))?;
        // Rounded to the nearest hundredth (the encoder would truncate 75 ms to 70).
        let centiseconds = duration_ms.saturating_add(5) / 10;
        let delay = Delay::from_numer_denom_ms(centiseconds.saturating_mul(10), 1);
        self.enc
            .encode_frame(Frame::from_parts(image, 0, 0, delay))
            .map_err(|e| e.to_string())
    }

    /// The finished file.
    pub fn finish(self) -> Vec<u8> {
        let GifWriter { enc, out } = self;
        drop(enc);
        out.0.take()
    }
}
