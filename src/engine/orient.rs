//! EXIF orientation: read it (tolerating broken EXIF), map upright rectangles back to
//! stored coordinates, and turn (small, already resized) pixels upright without copies
//! through `image`'s `DynamicImage`.

use super::bitmap::Bitmap;
use super::geometry::Rect;

/// Orientation tag (1..=8) from a raw EXIF block (with or without the `Exif\0\0` header).
/// A missing or corrupt block means "as stored" (1): broken EXIF must never fail a job.
pub fn from_exif(exif: &[u8]) -> u8 {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let Ok(parsed) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        return 1;
    };
    parsed
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|v| (1..=8).contains(v))
        .map_or(1, |v| v as u8)
}

/// True when the orientation swaps width and height (the 90° family).
pub fn swaps_axes(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

/// A rectangle of the upright image in the stored (pre-orientation) image's coordinates;
/// `w`, `h` are the stored image's size. Resizing the stored region and then orienting
/// gives the same pixels as orienting first (Lanczos is separable and symmetric), so the
/// engine orients only small outputs, never the full decode.
pub fn rect_to_stored(r: Rect, orientation: u8, w: f64, h: f64) -> Rect {
    let (x, y, rw, rh) = (r.x, r.y, r.w, r.h);
    let (sx, sy, sw, sh) = match orientation {
        2 => (w - (x + rw), y, rw, rh),
        3 => (w - (x + rw), h - (y + rh), rw, rh),
        4 => (x, h - (y + rh), rw, rh),
        5 => (y, x, rh, rw),
        6 => (y, h - (x + rw), rh, rw),
        7 => (w - (y + rh), h - (x + rw), rh, rw),
        8 => (w - (y + rh), x, rh, rw),
        _ => (x, y, rw, rh),
    };
    Rect {
        x: sx,
        y: sy,
        w: sw,
        h: sh,
    }
}

/// Whether turning the stored image upright reverses its x and its y axis: where the
/// upright image's top-left corner lies in the stored image.
pub fn stored_axes_reversed(orientation: u8) -> (bool, bool) {
    let corner = Rect {
        x: 0.0,
        y: 0.0,
        w: 1.0,
        h: 1.0,
    };
    let s = rect_to_stored(corner, orientation, 2.0, 2.0);
    (s.x > 0.0, s.y > 0.0)
}

/// Returns the bitmap turned upright (flips in place; the 90° family into one new buffer
/// of the same size, walked in tiles so both sides stay in cache).
pub fn apply(bitmap: Bitmap, orientation: u8) -> Bitmap {
    match bitmap.channels {
        1 => apply_n::<1>(bitmap, orientation),
        3 => apply_n::<3>(bitmap, orientation),
        _ => apply_n::<4>(bitmap, orientation),
    }
}

fn apply_n<const N: usize>(mut b: Bitmap, orientation: u8) -> Bitmap {
    let (w, h) = (b.width as usize, b.height as usize);
    let row = w * N;
    match orientation {
        2 => b.data.chunks_exact_mut(row).for_each(mirror::<N>),
        3 => {
            mirror::<N>(&mut b.data);
        }
        4 => {
            for y in 0..h / 2 {
                let (top, bottom) = b.data.split_at_mut((h - 1 - y) * row);
                top[y * row..(y + 1) * row].swap_with_slice(&mut bottom[..row]);
            }
        }
        5..=8 => {
            let src = &b.data;
            let mut out = vec![0u8; src.len()];
            // Upright (u, v), u < h (upright width = stored height), v < w.
            const T: usize = 32;
            for v0 in (0..w).step_by(T) {
                for u0 in (0..h).step_by(T) {
                    for v in v0..(v0 + T).min(w) {
                        for u in u0..(u0 + T).min(h) {
                            let (s, t) = match orientation {
                                5 => (v, u),
                                6 => (v, h - 1 - u),
                                7 => (w - 1 - v, h - 1 - u),
                                _ => (w - 1 - v, u),
                            };
                            let from = (t * w + s) * N;
                            let to = (v * h + u) * N;
                            out[to..to + N].copy_from_slice(&src[from..from + N]);
                        }
                    }
                }
            }
            b.data = out;
            (b.width, b.height) = (b.height, b.width);
        }
        _ => {}
    }
    b
}

/// Reverses the order of the N-byte pixels in `px`.
fn mirror<const N: usize>(px: &mut [u8]) {
    let n = px.len() / N;
    for i in 0..n / 2 {
        let (a, b) = px.split_at_mut((n - 1 - i) * N);
        a[i * N..(i + 1) * N].swap_with_slice(&mut b[..N]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reversed_axes_per_orientation() {
        let want = [
            (false, false),
            (true, false),
            (true, true),
            (false, true),
            (false, false),
            (false, true),
            (true, true),
            (true, false),
        ];
        for (o, w) in (1..=8).zip(want) {
            assert_eq!(stored_axes_reversed(o), w, "orientation {o}");
        }
    }

    use super::*;

    /// Reference orientation through the `image` crate.
    fn reference(b: &Bitmap, o: u8) -> Bitmap {
        let img = image::RgbImage::from_raw(b.width, b.height, b.data.clone()).unwrap();
        let mut d = image::DynamicImage::ImageRgb8(img);
        d.apply_orientation(image::metadata::Orientation::from_exif(o).unwrap());
        let rgb = d.into_rgb8();
        Bitmap {
            width: rgb.width(),
            height: rgb.height(),
            channels: 3,
            data: rgb.into_raw(),
        }
    }

    fn sample(w: u32, h: u32) -> Bitmap {
        Bitmap {
            width: w,
            height: h,
            channels: 3,
            data: (0..w * h * 3).map(|i| (i * 31 % 253) as u8).collect(),
        }
    }

    #[test]
    fn matches_the_image_crate_for_every_orientation() {
        for (w, h) in [(37, 70), (70, 37), (1, 5), (64, 64)] {
            let b = sample(w, h);
            for o in 1..=8 {
                let got = apply(b.clone(), o);
                let want = reference(&b, o);
                assert_eq!((got.width, got.height), (want.width, want.height), "{o}");
                assert!(got.data == want.data, "orientation {o} on {w}x{h}");
            }
        }
    }

    #[test]
    fn stored_rect_maps_back_to_the_same_pixels() {
        // A 1-pixel rect in the upright image, mapped to stored coordinates, must name the
        // stored pixel that orientation moves there.
        let (w, h) = (7u32, 5u32);
        let stored = sample(w, h);
        for o in 1..=8 {
            let up = reference(&stored, o);
            for (u, v) in [(0, 0), (1, 3), (up.width - 1, 0), (2, up.height - 1)] {
                let r = rect_to_stored(
                    Rect {
                        x: u as f64,
                        y: v as f64,
                        w: 1.0,
                        h: 1.0,
                    },
                    o,
                    w as f64,
                    h as f64,
                );
                assert_eq!((r.w, r.h), (1.0, 1.0));
                let (s, t) = (r.x as usize, r.y as usize);
                let at = |b: &Bitmap, x: usize, y: usize| {
                    let i = (y * b.width as usize + x) * 3;
                    b.data[i..i + 3].to_vec()
                };
                assert_eq!(at(&stored, s, t), at(&up, u as usize, v as usize), "o={o}");
            }
        }
    }
}
