//! libjpeg-turbo's planar YCbCr entry points, for the YCbCr path (`planar.rs`): a decode
//! that stops before colour conversion and chroma upsampling, and an encode that starts
//! after colour conversion and chroma downsampling.
//!
//! Plane sizes follow TurboJPEG's rules (`tj3YUVPlaneWidth`/`Height`): planes are padded to
//! whole chroma samples, so a 4:2:0 image 2347 px wide has a 2348 px luma plane. The decoder
//! writes those padded sizes; the encoder reads them, so callers pad odd-sized planes.

use std::ffi::c_int;

use turbojpeg_sys as tj;

use super::turbo::{check_size, compress_into, compressor, open, Caps, DecodeError, Opened};

/// One decoded or to-be-encoded plane: `stride × rows` bytes.
pub struct Plane {
    pub data: Vec<u8>,
    pub stride: u32,
    pub rows: u32,
}

/// A decode to planes.
pub struct DecodedPlanes {
    /// Scaled image size (the luma plane may be padded beyond it).
    pub width: u32,
    pub height: u32,
    /// Y, Cb, Cr.
    pub planes: [Plane; 3],
    /// Luma samples per chroma sample, across and down (2, 2 for 4:2:0).
    pub subsampling: (u32, u32),
    /// libjpeg reported damage (the image is complete, damaged parts grey).
    pub warning: Option<String>,
}

fn factors(subsamp: c_int) -> Option<(u32, u32)> {
    Some(match subsamp {
        tj::TJSAMP_TJSAMP_444 => (1, 1),
        tj::TJSAMP_TJSAMP_422 => (2, 1),
        tj::TJSAMP_TJSAMP_420 => (2, 2),
        tj::TJSAMP_TJSAMP_440 => (1, 2),
        tj::TJSAMP_TJSAMP_411 => (4, 1),
        tj::TJSAMP_TJSAMP_441 => (1, 4),
        _ => return None,
    })
}

/// Plane `component`'s (width, height) for an image of `width × height`.
fn plane_size(component: c_int, width: u32, height: u32, subsamp: c_int) -> (u32, u32) {
    // SAFETY: pure size computations; 0 on bad arguments.
    unsafe {
        (
            tj::tj3YUVPlaneWidth(component, width as c_int, subsamp).max(0) as u32,
            tj::tj3YUVPlaneHeight(component, height as c_int, subsamp).max(0) as u32,
        )
    }
}

/// Decodes `jpeg` at `num/denom` to its Y, Cb and Cr planes. `Ok(None)` when the file is
/// not a lossy YCbCr JPEG with a standard subsampling (grey, RGB, CMYK, lossless): those
/// take the RGB path.
pub fn decode(
    jpeg: &[u8],
    num: u32,
    denom: u32,
    caps: Caps,
) -> Result<Option<DecodedPlanes>, DecodeError> {
    let Opened {
        handle: h,
        width,
        height,
    } = open(jpeg, num, denom, caps)?;
    if h.get(tj::TJPARAM_TJPARAM_COLORSPACE) != tj::TJCS_TJCS_YCbCr as c_int
        || h.get(tj::TJPARAM_TJPARAM_LOSSLESS) == 1
    {
        return Ok(None);
    }
    let subsamp = h.get(tj::TJPARAM_TJPARAM_SUBSAMP);
    let Some(subsampling) = factors(subsamp) else {
        return Ok(None);
    };
    let mut planes = [0, 1, 2].map(|c| {
        let (stride, rows) = plane_size(c, width, height, subsamp);
        Plane {
            data: super::scratch::take(stride as usize * rows as usize),
            stride,
            rows,
        }
    });
    if planes.iter().any(|p| p.stride == 0 || p.rows == 0) {
        return Err(DecodeError::Failed(format!(
            "no plane sizes for {width}×{height}"
        )));
    }
    let mut ptrs = [0, 1, 2].map(|c| planes[c].data.as_mut_ptr());
    let mut strides = [0, 1, 2].map(|c| planes[c].stride as c_int);
    // SAFETY: each plane buffer has capacity for `rows` rows of `stride` bytes, the padded
    // plane sizes libjpeg-turbo computes for this image, scale and subsampling (the same
    // functions it uses internally). Lengths are set only after it returned, when every
    // byte has been written (damaged regions are filled, not skipped).
    let rc = unsafe {
        tj::tj3DecompressToYUVPlanes8(
            h.0,
            jpeg.as_ptr(),
            jpeg.len() as tj::size_t,
            ptrs.as_mut_ptr(),
            strides.as_mut_ptr(),
        )
    };
    let warning = h.decode_outcome(rc).map_err(super::turbo::classify)?;
    for p in &mut planes {
        // SAFETY: see above.
        unsafe { p.data.set_len(p.stride as usize * p.rows as usize) };
    }
    Ok(Some(DecodedPlanes {
        width,
        height,
        planes,
        subsampling,
        warning,
    }))
}

/// Encodes Y, Cb, Cr planes of a `width × height` image as a baseline JPEG with chroma
/// `subsampling` (4:2:0 = (2, 2) or 4:4:4 = (1, 1)). Each plane must be at least
/// TurboJPEG's padded plane size (odd sizes: one more column/row of luma, see `planar.rs`);
/// each is given as (bytes, stride, rows).
pub fn encode(
    planes: [(&[u8], u32, u32); 3],
    width: u32,
    height: u32,
    subsampling: (u32, u32),
    quality: u8,
) -> Result<Vec<u8>, String> {
    let subsamp = match subsampling {
        (2, 2) => tj::TJSAMP_TJSAMP_420,
        (1, 1) => tj::TJSAMP_TJSAMP_444,
        other => return Err(format!("cannot encode chroma subsampled {other:?}")),
    };
    check_size(width, height)?;
    for (c, &(data, stride, rows)) in planes.iter().enumerate() {
        let (w, h) = plane_size(c as c_int, width, height, subsamp);
        if stride < w || rows < h || data.len() < stride as usize * rows as usize {
            return Err(format!("plane {c} is smaller than {w}×{h}"));
        }
    }
    let h = compressor(quality, subsamp)?;
    let ptrs = planes.map(|p| p.0.as_ptr());
    let strides = planes.map(|p| p.1 as c_int);
    // SAFETY: every plane holds at least the padded plane size TurboJPEG reads for this
    // image (checked above); the output pointers come from `compress_into`.
    compress_into(&h, width, height, subsamp, |buf, size| unsafe {
        tj::tj3CompressFromYUVPlanes8(
            h.0,
            ptrs.as_ptr(),
            width as c_int,
            strides.as_ptr(),
            height as c_int,
            buf,
            size,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::turbo;
    use super::*;

    const CAPS: Caps = Caps {
        max_memory_mb: 64,
        max_scans: 500,
    };

    fn gradient(w: u32, h: u32) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [(x * 3) as u8, (y * 4) as u8, 128]))
            .collect()
    }

    #[test]
    fn planes_round_trip_at_every_simd_scale_and_odd_size() {
        let (w, h) = (67u32, 45u32);
        let jpeg = turbo::encode(&gradient(w, h), w, h, 3, 85).unwrap();
        for denom in [1, 2, 4, 8] {
            let d = decode(&jpeg, 1, denom, CAPS).unwrap().expect("YCbCr");
            let (sw, sh) = (w.div_ceil(denom), h.div_ceil(denom));
            assert_eq!((d.width, d.height), (sw, sh));
            assert_eq!(d.subsampling, (2, 2));
            let [y, cb, _] = &d.planes;
            assert_eq!(
                (y.stride, y.rows),
                (sw.next_multiple_of(2), sh.next_multiple_of(2))
            );
            assert_eq!((cb.stride, cb.rows), (sw.div_ceil(2), sh.div_ceil(2)));
        }
        // Re-encoded from its own planes, the image decodes to (nearly) what it was.
        let d = decode(&jpeg, 1, 1, CAPS).unwrap().unwrap();
        let [y, cb, cr] = &d.planes;
        fn r(p: &Plane) -> (&[u8], u32, u32) {
            (&p.data, p.stride, p.rows)
        }
        let again = encode([r(y), r(cb), r(cr)], w, h, (2, 2), 95).unwrap();
        let a = turbo::decode(&jpeg, turbo::Layout::Rgb, 1, 1, CAPS)
            .unwrap()
            .data;
        let b = turbo::decode(&again, turbo::Layout::Rgb, 1, 1, CAPS)
            .unwrap()
            .data;
        let mean = a
            .iter()
            .zip(&b)
            .map(|(p, q)| p.abs_diff(*q) as f64)
            .sum::<f64>()
            / a.len() as f64;
        assert!(mean < 2.0, "mean difference {mean}");
    }

    #[test]
    fn grey_is_not_planar_and_short_planes_are_refused() {
        let grey = turbo::encode(&[100u8; 16 * 16], 16, 16, 1, 80).unwrap();
        assert!(decode(&grey, 1, 1, CAPS).unwrap().is_none());
        let (y5, y6, c) = (vec![0u8; 25], vec![0u8; 36], vec![0u8; 9]);
        // 5×5 at 4:2:0 needs a 6×6 luma plane.
        let short = [(&y5[..], 5, 5), (&c[..], 3, 3), (&c[..], 3, 3)];
        assert!(encode(short, 5, 5, (2, 2), 80).is_err());
        let fits = [(&y6[..], 6, 6), (&c[..], 3, 3), (&c[..], 3, 3)];
        assert!(encode(fits, 5, 5, (2, 2), 80).is_ok());
        assert!(encode(fits, 5, 5, (2, 1), 80).is_err());
    }
}
