//! A decoded 8-bit 4:2:0 video frame as ffmpeg writes it (`-f yuv4mpegpipe`: a text header
//! that states size, chroma siting and range, then the Y, Cb and Cr planes), turned into
//! full-range RGB here rather than by ffmpeg's `scale` filter: swscale's accurate RGB path
//! costs about 50 ms of a 1080p frame, this conversion a few.
//!
//! Chroma is upsampled bilinearly as centred between its luma samples, whatever siting the
//! header names: that is what ffmpeg's conversion (and so derivd's output before this
//! path) assumes for streams that do not state it, and half a chroma sample is invisible in
//! a thumbnail. Then one BT.601 / BT.709 / BT.2020 matrix.

use super::ExtractError;

/// The YCbCr → RGB matrix a stream declares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Matrix {
    Bt601,
    Bt709,
    Bt2020,
}

impl Matrix {
    /// (Kr, Kb) luma weights.
    fn weights(self) -> (f64, f64) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// One frame's planes as the header describes them.
struct Frame<'a> {
    width: usize,
    height: usize,
    full_range: bool,
    y: &'a [u8],
    cb: &'a [u8],
    cr: &'a [u8],
}

/// What ffmpeg's y4m output held.
#[derive(Debug, PartialEq)]
pub enum Output {
    /// (width, height, RGB bytes).
    Rgb(u32, u32, Vec<u8>),
    /// The header only: no frame decoded from the position asked for.
    NoFrame,
    /// A frame of another layout (the caller converts another way).
    OtherLayout,
}

pub fn to_rgb(bytes: &[u8], matrix: Matrix) -> Result<Output, ExtractError> {
    Ok(match parse(bytes)? {
        Parsed::Frame(frame) => {
            let rgb = convert(&frame, matrix);
            Output::Rgb(frame.width as u32, frame.height as u32, rgb)
        }
        Parsed::NoFrame => Output::NoFrame,
        Parsed::OtherLayout => Output::OtherLayout,
    })
}

enum Parsed<'a> {
    Frame(Frame<'a>),
    NoFrame,
    OtherLayout,
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, ExtractError> {
    let bad = |m: &str| ExtractError::Internal(format!("tool output is not a y4m frame: {m}"));
    let line_end = |from: usize| {
        bytes
            .get(from..from + 256)
            .unwrap_or(&bytes[from.min(bytes.len())..])
            .iter()
            .position(|b| *b == b'\n')
            .map(|p| from + p)
    };
    if bytes.is_empty() {
        return Ok(Parsed::NoFrame);
    }
    let header_end = line_end(0).ok_or_else(|| bad("no header"))?;
    let header = std::str::from_utf8(&bytes[..header_end]).map_err(|_| bad("header"))?;
    let mut fields = header.split(' ');
    if fields.next() != Some("YUV4MPEG2") {
        return Err(bad("no YUV4MPEG2 magic"));
    }
    let (mut width, mut height, mut chroma, mut full_range) = (0usize, 0usize, "420jpeg", false);
    for f in fields {
        match f.split_at(1.min(f.len())) {
            ("W", v) => width = v.parse().map_err(|_| bad("width"))?,
            ("H", v) => height = v.parse().map_err(|_| bad("height"))?,
            ("C", v) => chroma = v,
            ("X", "COLORRANGE=FULL") => full_range = true,
            _ => {}
        }
    }
    if !matches!(chroma, "420mpeg2" | "420paldv" | "420jpeg" | "420") {
        return Ok(Parsed::OtherLayout);
    }
    if width == 0 || height == 0 || width > 1 << 16 || height > 1 << 16 {
        return Err(bad("frame size"));
    }
    if bytes.len() == header_end + 1 {
        return Ok(Parsed::NoFrame);
    }
    let frame_end = line_end(header_end + 1).ok_or_else(|| bad("no FRAME"))?;
    if !bytes[header_end + 1..frame_end].starts_with(b"FRAME") {
        return Err(bad("no FRAME"));
    }
    let (luma, chroma_len) = (width * height, width.div_ceil(2) * height.div_ceil(2));
    let planes = bytes
        .get(frame_end + 1..frame_end + 1 + luma + 2 * chroma_len)
        .ok_or_else(|| bad("short frame"))?;
    let (y, rest) = planes.split_at(luma);
    let (cb, cr) = rest.split_at(chroma_len);
    Ok(Parsed::Frame(Frame {
        width,
        height,
        full_range,
        y,
        cb,
        cr,
    }))
}

/// Fixed-point precision of the conversion.
const SHIFT: u32 = 16;

/// Integer coefficients for (Y, Cr→R, Cb→G, Cr→G, Cb→B), range scaling folded in.
fn coefficients(matrix: Matrix, full_range: bool) -> [i64; 5] {
    let (kr, kb) = matrix.weights();
    let kg = 1.0 - kr - kb;
    let (ys, cs) = if full_range {
        (1.0, 1.0)
    } else {
        (255.0 / 219.0, 255.0 / 224.0)
    };
    let one = (1u64 << SHIFT) as f64;
    let c = |v: f64| (v * one).round() as i64;
    [
        c(ys),
        c(2.0 * (1.0 - kr) * cs),
        c(2.0 * kb * (1.0 - kb) / kg * cs),
        c(2.0 * kr * (1.0 - kr) / kg * cs),
        c(2.0 * (1.0 - kb) * cs),
    ]
}

fn convert(f: &Frame<'_>, matrix: Matrix) -> Vec<u8> {
    let [ky, kcr_r, kcb_g, kcr_g, kcb_b] = coefficients(matrix, f.full_range);
    let y_offset = if f.full_range { 0 } else { 16 };
    let cw = f.width.div_ceil(2);
    let ch = f.height.div_ceil(2);
    let mut rgb = vec![0u8; f.width * f.height * 3];
    let (mut cb_row, mut cr_row) = (vec![0i32; cw], vec![0i32; cw]);
    for row in 0..f.height {
        // Vertically the chroma is centred between two luma rows: weights 3/4 and 1/4
        // (in quarters, so the row holds 4× the value).
        let near = (row / 2).min(ch - 1);
        let far = if row.is_multiple_of(2) {
            near.saturating_sub(1)
        } else {
            (near + 1).min(ch - 1)
        };
        for (out, plane) in [(&mut cb_row, f.cb), (&mut cr_row, f.cr)] {
            let (a, b) = (&plane[near * cw..][..cw], &plane[far * cw..][..cw]);
            for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                *o = 3 * a as i32 + b as i32;
            }
        }
        let line = &mut rgb[row * f.width * 3..][..f.width * 3];
        let luma = &f.y[row * f.width..][..f.width];
        for (x, (px, &y)) in line.chunks_exact_mut(3).zip(luma).enumerate() {
            // Horizontally, in eighths of a sample value (the rows hold quarters).
            let (cb, cr) = horizontal(&cb_row, &cr_row, x);
            let yy = (y as i64 - y_offset) * ky;
            let (cb, cr) = (cb as i64 - 128 * 16, cr as i64 - 128 * 16);
            let r = yy + ((kcr_r * cr) >> 4);
            let g = yy - ((kcb_g * cb + kcr_g * cr) >> 4);
            let b = yy + ((kcb_b * cb) >> 4);
            px[0] = clamp(r);
            px[1] = clamp(g);
            px[2] = clamp(b);
        }
    }
    rgb
}

/// The chroma pair for luma column `x`, ×16 (rows are ×4, horizontal weights 3/4 and 1/4).
fn horizontal(cb: &[i32], cr: &[i32], x: usize) -> (i32, i32) {
    let last = cb.len() - 1;
    let near = (x / 2).min(last);
    let far = if x.is_multiple_of(2) {
        near.saturating_sub(1)
    } else {
        (near + 1).min(last)
    };
    (3 * cb[near] + cb[far], 3 * cr[near] + cr[far])
}

fn clamp(v: i64) -> u8 {
    ((v + (1 << (SHIFT - 1))) >> SHIFT).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(header: &str, w: usize, h: usize, y: u8, cb: u8, cr: u8) -> Vec<u8> {
        let mut b = format!("YUV4MPEG2 W{w} H{h} {header}\nFRAME\n").into_bytes();
        let c = w.div_ceil(2) * h.div_ceil(2);
        b.extend(std::iter::repeat_n(y, w * h));
        b.extend(std::iter::repeat_n(cb, c));
        b.extend(std::iter::repeat_n(cr, c));
        b
    }

    fn first(bytes: &[u8], m: Matrix) -> [u8; 3] {
        let Output::Rgb(_, _, rgb) = to_rgb(bytes, m).unwrap() else {
            panic!("no frame")
        };
        [rgb[0], rgb[1], rgb[2]]
    }

    #[test]
    fn limited_and_full_range_reach_black_white_and_primaries() {
        let m = Matrix::Bt709;
        assert_eq!(first(&frame("C420mpeg2", 3, 3, 235, 128, 128), m), [255; 3]);
        assert_eq!(first(&frame("C420mpeg2", 3, 3, 16, 128, 128), m), [0; 3]);
        let full = "C420jpeg XCOLORRANGE=FULL";
        assert_eq!(first(&frame(full, 2, 2, 255, 128, 128), m), [255; 3]);
        // BT.709 limited-range red is (63, 102, 240); BT.601's is (81, 90, 240).
        let red = first(&frame("C420mpeg2", 4, 2, 63, 102, 240), m);
        assert!(red[0] >= 253 && red[1] <= 2 && red[2] <= 2, "{red:?}");
        let red = first(&frame("C420mpeg2", 4, 2, 81, 90, 240), Matrix::Bt601);
        assert!(red[0] >= 253 && red[1] <= 2 && red[2] <= 2, "{red:?}");
    }

    #[test]
    fn other_layouts_and_short_frames_are_told_apart() {
        let other = to_rgb(&frame("C422", 2, 2, 0, 0, 0), Matrix::Bt709);
        assert_eq!(other.unwrap(), Output::OtherLayout);
        let header_only = to_rgb(b"YUV4MPEG2 W2 H2 C420jpeg\n", Matrix::Bt709);
        assert_eq!(header_only.unwrap(), Output::NoFrame);
        let mut short = frame("C420jpeg", 4, 4, 0, 0, 0);
        short.pop();
        assert!(to_rgb(&short, Matrix::Bt709).is_err());
        assert!(to_rgb(b"P6 1 1 255\n", Matrix::Bt709).is_err());
        assert!(to_rgb(b"YUV4MPEG2 W0 H1 C420\nFRAME\n", Matrix::Bt709).is_err());
    }
}
