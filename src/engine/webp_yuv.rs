//! Lossy WebP straight from YCbCr planes (the YCbCr path, `planar.rs`), through libwebp's
//! own picture API: the `webp` crate only takes RGB(A), which libwebp would convert back to
//! YUV 4:2:0 itself.
//!
//! VP8 codes *studio-range* BT.601 (Y 16–235, Cb/Cr 16–240) while JPEG's YCbCr is
//! full-range, so the planes go through one lookup table each on the way in — the same
//! numbers libwebp's RGB import produces, without the RGB.

use std::ffi::c_void;
use std::mem::MaybeUninit;

use libwebp_sys as sys;

use super::planar::Planes;

fn studio_luma(v: u8) -> u8 {
    (16 + (v as u32 * 219 + 127) / 255) as u8
}

fn studio_chroma(v: u8) -> u8 {
    // round((v - 128) × 224 / 255), halves up, for negative values too
    let t = (v as i32 - 128) * 224;
    (128 + (2 * t + 255).div_euclid(510)) as u8
}

/// The `width × height` top-left region of `plane` (of row length `stride`), mapped
/// through `lut`, tightly packed.
fn mapped(plane: &[u8], stride: u32, width: u32, height: u32, lut: &[u8; 256]) -> Vec<u8> {
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for row in plane.chunks_exact(stride as usize).take(height as usize) {
        out.extend(row[..width as usize].iter().map(|&v| lut[v as usize]));
    }
    out
}

/// Encodes 4:2:0 planes as lossy WebP at `quality` with libwebp `method`.
pub fn encode(planes: &Planes, quality: f32, method: i32) -> Result<Vec<u8>, String> {
    let (w, h) = (planes.width, planes.height);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let [y, u, v] = &planes.planes;
    if planes.chroma != (0.5, 0.5)
        || y.width < w
        || y.height < h
        || (u.width, u.height, v.width, v.height) != (cw, ch, cw, ch)
        || y.data.len() < y.width as usize * h as usize
    {
        return Err(format!("planes do not fit a {w}×{h} 4:2:0 picture"));
    }
    if w > sys::WEBP_MAX_DIMENSION || h > sys::WEBP_MAX_DIMENSION {
        return Err(format!("{w}×{h} is over WebP's size limit"));
    }
    let luma: [u8; 256] = std::array::from_fn(|i| studio_luma(i as u8));
    let chroma: [u8; 256] = std::array::from_fn(|i| studio_chroma(i as u8));
    let mut yp = mapped(&y.data, y.width, w, h, &luma);
    let mut up = mapped(&u.data, cw, cw, ch, &chroma);
    let mut vp = mapped(&v.data, cw, cw, ch, &chroma);
    // libwebp reads exactly these sizes: a short plane must fail here, not be read past.
    let (luma_len, chroma_len) = (w as usize * h as usize, cw as usize * ch as usize);
    if yp.len() != luma_len || up.len() != chroma_len || vp.len() != chroma_len {
        return Err(format!("planes hold too few samples for {w}×{h}"));
    }

    let mut config = sys::WebPConfig::new().map_err(|()| "WebP config".to_string())?;
    config.quality = quality;
    config.method = method;
    let mut pic = sys::WebPPicture::new().map_err(|()| "WebP picture".to_string())?;
    pic.use_argb = 0;
    pic.colorspace = sys::WebPEncCSP::WEBP_YUV420;
    pic.width = w as i32;
    pic.height = h as i32;
    pic.y = yp.as_mut_ptr();
    pic.u = up.as_mut_ptr();
    pic.v = vp.as_mut_ptr();
    pic.y_stride = w as i32;
    pic.uv_stride = cw as i32;
    let mut writer = MaybeUninit::<sys::WebPMemoryWriter>::uninit();
    // SAFETY: the writer is initialised before use and cleared once; the picture's planes
    // point at our packed buffers, which hold exactly the sizes set above and outlive the
    // call; libwebp only reads them. WebPPictureFree frees only what libwebp allocated.
    unsafe {
        sys::WebPMemoryWriterInit(writer.as_mut_ptr());
        let mut writer = writer.assume_init();
        pic.writer = Some(sys::WebPMemoryWrite);
        pic.custom_ptr = &mut writer as *mut sys::WebPMemoryWriter as *mut c_void;
        let ok = sys::WebPEncode(&config, &mut pic) != 0;
        let result = if ok {
            Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
        } else {
            Err(format!("libwebp error {:?}", pic.error_code))
        };
        sys::WebPMemoryWriterClear(&mut writer);
        sys::WebPPictureFree(&mut pic);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::super::bitmap::Bitmap;
    use super::*;

    /// A grey ramp (full-range Y, neutral chroma) comes back from a WebP decoder as the same
    /// grey levels: the studio-range mapping is applied once, in the right direction.
    #[test]
    fn grey_ramp_round_trips() {
        let (w, h) = (65u32, 33u32);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y: Vec<u8> = (0..h)
            .flat_map(|_| (0..w).map(|x| (x * 255 / (w - 1)) as u8))
            .collect();
        let planes = Planes {
            width: w,
            height: h,
            planes: [
                Bitmap::plane(w, h, y.clone()),
                Bitmap::plane(cw, ch, vec![128; (cw * ch) as usize]),
                Bitmap::plane(cw, ch, vec![128; (cw * ch) as usize]),
            ],
            chroma: (0.5, 0.5),
        };
        let webp = encode(&planes, 95.0, 4).unwrap();
        let back = image::load_from_memory(&webp).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (w, h));
        let err: f64 = back
            .pixels()
            .zip(&y)
            .map(|(p, &v)| (p[1] as f64 - v as f64).abs())
            .sum::<f64>()
            / y.len() as f64;
        assert!(err < 3.0, "mean error {err}");
        // A chroma plane of the wrong size is refused.
        let mut bad = planes.clone();
        bad.planes[1] = Bitmap::plane(cw - 1, ch, vec![128; ((cw - 1) * ch) as usize]);
        assert!(encode(&bad, 80.0, 4).is_err());
    }

    #[test]
    fn studio_range_matches_the_bt601_definition() {
        assert_eq!((studio_luma(0), studio_luma(255)), (16, 235));
        assert_eq!(
            (studio_chroma(0), studio_chroma(128), studio_chroma(255)),
            (16, 128, 240)
        );
        for v in 0..=255u8 {
            let exact = 128.0 + (v as f64 - 128.0) * 224.0 / 255.0;
            assert!((studio_chroma(v) as f64 - exact).abs() <= 0.5, "{v}");
            let exact = 16.0 + v as f64 * 219.0 / 255.0;
            assert!((studio_luma(v) as f64 - exact).abs() <= 0.5, "{v}");
        }
    }
}
