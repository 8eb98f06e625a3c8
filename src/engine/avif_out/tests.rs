//! The encoder round trip: what is written decodes back (through the same libheif) at the
//! same size, with alpha when there was alpha, and close to the input's pixels.

use super::super::bitmap::Bitmap;
use super::super::planar::Planes;
use super::verify::decode;
use super::*;

const PARAMS: Params = Params {
    quality: 80,
    speed: 8,
    threads: 1,
};

/// A smooth colour gradient, `channels` 3 or 4 (alpha a ramp of its own).
fn gradient(w: u32, h: u32, channels: u8) -> Bitmap {
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            data.extend([
                (x * 255 / (w - 1)) as u8,
                (y * 255 / (h - 1)) as u8,
                ((x + y) * 255 / (w + h - 2)) as u8,
            ]);
            if channels == 4 {
                data.push(((w - 1 - x) * 255 / (w - 1)) as u8);
            }
        }
    }
    Bitmap {
        width: w,
        height: h,
        channels,
        data,
    }
}

/// Peak signal-to-noise ratio of `b` against `a` over the first 3 of every `step` samples.
fn psnr(a: &[u8], b: &[u8], step: usize, offset: usize, take: usize) -> f64 {
    let (mut sum, mut n) = (0f64, 0f64);
    for (pa, pb) in a.chunks_exact(step).zip(b.chunks_exact(step)) {
        for i in offset..offset + take {
            let d = pa[i] as f64 - pb[i] as f64;
            sum += d * d;
            n += 1.0;
        }
    }
    10.0 * (255.0f64 * 255.0 / (sum / n).max(1e-9)).log10()
}

#[test]
fn rgb_round_trips_close_to_the_input() {
    let src = gradient(67, 45, 3);
    let avif = encode_bitmap(&src, PARAMS).unwrap();
    assert_eq!(&avif[4..12], b"ftypavif", "an AVIF file (ftyp brand avif)");
    let back = decode(&avif).unwrap();
    assert_eq!((back.width, back.height, back.channels), (67, 45, 3));
    let p = psnr(&src.data, &back.data, 3, 0, 3);
    assert!(p > 35.0, "PSNR {p:.1} dB");
}

#[test]
fn alpha_is_kept() {
    let src = gradient(40, 31, 4);
    let back = decode(&encode_bitmap(&src, PARAMS).unwrap()).unwrap();
    assert_eq!((back.width, back.height, back.channels), (40, 31, 4));
    let alpha = psnr(&src.data, &back.data, 4, 3, 1);
    assert!(alpha > 35.0, "alpha PSNR {alpha:.1} dB");
    let colour = psnr(&src.data, &back.data, 4, 0, 3);
    assert!(colour > 35.0, "colour PSNR {colour:.1} dB");
}

/// Full-range BT.601 YCbCr 4:2:0 of `rgb` (JPEG's), as the YCbCr path hands it over.
fn planes_of(rgb: &Bitmap) -> Planes {
    let (w, h) = (rgb.width, rgb.height);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let px = |x: u32, y: u32| {
        let i = ((y.min(h - 1) * w + x.min(w - 1)) * 3) as usize;
        let [r, g, b] = [0, 1, 2].map(|c| rgb.data[i + c] as f64);
        [
            0.299 * r + 0.587 * g + 0.114 * b,
            128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b,
            128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b,
        ]
    };
    let y = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| px(x, y)[0].round() as u8)
        .collect();
    let chroma = |c: usize| -> Vec<u8> {
        (0..ch)
            .flat_map(|j| (0..cw).map(move |i| (i, j)))
            .map(|(i, j)| {
                let s: f64 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                    .iter()
                    .map(|(dx, dy)| px(2 * i + dx, 2 * j + dy)[c])
                    .sum();
                (s / 4.0).round() as u8
            })
            .collect()
    };
    Planes {
        width: w,
        height: h,
        planes: [
            Bitmap::plane(w, h, y),
            Bitmap::plane(cw, ch, chroma(1)),
            Bitmap::plane(cw, ch, chroma(2)),
        ],
        chroma: (0.5, 0.5),
    }
}

/// Planes go in as they are and come out as the right colours: the nclx says what they are.
#[test]
fn planes_round_trip_to_the_rgb_they_came_from() {
    let rgb = gradient(65, 33, 3);
    let back = decode(&encode_planes(&planes_of(&rgb), PARAMS).unwrap()).unwrap();
    assert_eq!((back.width, back.height, back.channels), (65, 33, 3));
    let p = psnr(&rgb.data, &back.data, 3, 0, 3);
    assert!(p > 33.0, "PSNR {p:.1} dB");
}

#[test]
fn bad_input_is_a_typed_error() {
    let mut planes = planes_of(&gradient(20, 10, 3));
    planes.planes[1] = Bitmap::plane(9, 5, vec![128; 45]);
    assert!(matches!(
        encode_planes(&planes, PARAMS),
        Err(AvifError::Input(_))
    ));
    let src = gradient(8, 8, 3);
    for bad in [
        Params {
            quality: 0,
            ..PARAMS
        },
        Params {
            speed: MAX_SPEED + 1,
            ..PARAMS
        },
        Params {
            threads: 0,
            ..PARAMS
        },
    ] {
        assert!(
            matches!(encode_bitmap(&src, bad), Err(AvifError::Input(_))),
            "{bad:?}"
        );
    }
    let short = Bitmap {
        data: vec![0; 10],
        ..src
    };
    assert!(matches!(
        encode_bitmap(&short, PARAMS),
        Err(AvifError::Input(_))
    ));
    assert!(decode(b"not an avif at all").is_err());
}

/// A higher quality spends more bytes; a faster speed still makes a valid file.
#[test]
fn quality_and_speed_reach_the_encoder() {
    let src = gradient(96, 64, 3);
    let low = encode_bitmap(
        &src,
        Params {
            quality: 20,
            ..PARAMS
        },
    )
    .unwrap();
    let high = encode_bitmap(
        &src,
        Params {
            quality: 95,
            ..PARAMS
        },
    )
    .unwrap();
    assert!(high.len() > low.len(), "{} vs {}", high.len(), low.len());
    let fast = encode_bitmap(&src, Params { speed: 9, ..PARAMS }).unwrap();
    assert_eq!(decode(&fast).unwrap().width, 96);
}
