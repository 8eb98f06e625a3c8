//! The engine's in-memory image: 8-bit sRGB, 3 (RGB) or 4 (RGBA) interleaved channels — or
//! one channel, a plane of the YCbCr path.

#[derive(Debug, Clone)]
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    /// 3 for RGB, 4 for RGBA (straight, not premultiplied, alpha).
    pub channels: u8,
    pub data: Vec<u8>,
}

impl Bitmap {
    /// One channel: a Y, Cb or Cr plane (`planar.rs`).
    pub fn plane(width: u32, height: u32, data: Vec<u8>) -> Bitmap {
        Bitmap {
            width,
            height,
            channels: 1,
            data,
        }
    }

    pub fn has_alpha(&self) -> bool {
        self.channels == 4
    }

    /// Drops an alpha channel that is opaque everywhere: smaller outputs, faster resizes.
    pub fn drop_opaque_alpha(self) -> Bitmap {
        if self.channels != 4 || self.data.chunks_exact(4).any(|p| p[3] != 255) {
            return self;
        }
        let data = self
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Bitmap {
            channels: 3,
            data,
            ..self
        }
    }

    /// Composites RGBA over an opaque background colour, giving RGB.
    pub fn flatten(&self, bg: [u8; 3]) -> Bitmap {
        if self.channels == 3 {
            return self.clone();
        }
        let mut data = Vec::with_capacity(self.data.len() / 4 * 3);
        for p in self.data.chunks_exact(4) {
            let a = p[3] as u32;
            for c in 0..3 {
                let v = (p[c] as u32 * a + bg[c] as u32 * (255 - a) + 127) / 255;
                data.push(v as u8);
            }
        }
        Bitmap {
            width: self.width,
            height: self.height,
            channels: 3,
            data,
        }
    }
}
