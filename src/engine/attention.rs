//! Content-aware crops: where a `fill` crop goes under `gravity = "attention"` or
//! `"entropy"`, judged on the ≤ 100 px upright preview (`placeholder.rs`) the render
//! already makes, never on the full decode.
//!
//! - **attention** (as libvips' `attention`): each preview pixel scores its edge strength
//!   (luma Laplacian), its saturation and whether it looks like skin; the crop goes where
//!   the window of the crop's size holds the most score (a summed-area table makes every
//!   position O(1)).
//! - **entropy**: the window whose luma histogram (32 bins) has the highest Shannon
//!   entropy — the most detailed part of the picture.
//!
//! Ties go to the position nearest the centre, so a flat image crops as `center` does.

use super::bitmap::Bitmap;
use super::geometry::Rect;
use crate::catalogue::spec::Gravity;

/// `crop` (full-resolution upright, `up_w × up_h` source) moved to where `gravity` says,
/// judged on `preview` (the whole upright source, small).
pub fn place(preview: &Bitmap, crop: Rect, (up_w, up_h): (u32, u32), gravity: Gravity) -> Rect {
    let (pw, ph) = (preview.width as usize, preview.height as usize);
    let (kx, ky) = (pw as f64 / up_w as f64, ph as f64 / up_h as f64);
    // The window in preview pixels (at least one).
    let ww = ((crop.w * kx).round() as usize).clamp(1, pw);
    let wh = ((crop.h * ky).round() as usize).clamp(1, ph);
    let (x, y) = match gravity {
        Gravity::Attention => best_window(&SumTable::new(&saliency(preview), pw, ph), ww, wh),
        Gravity::Entropy => most_entropy(preview, ww, wh),
        _ => return crop,
    };
    // Back to full resolution, kept inside the source.
    let fx = (x as f64 / kx).clamp(0.0, (up_w as f64 - crop.w).max(0.0));
    let fy = (y as f64 / ky).clamp(0.0, (up_h as f64 - crop.h).max(0.0));
    Rect {
        x: fx,
        y: fy,
        ..crop
    }
}

fn rgb(p: &Bitmap, i: usize) -> [f64; 3] {
    let n = p.channels as usize;
    let px = &p.data[i * n..i * n + 3];
    [px[0] as f64, px[1] as f64, px[2] as f64]
}

fn luma([r, g, b]: [f64; 3]) -> f64 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// Per-pixel interest: |Laplacian of luma| + saturation + skin, each about 0..255.
fn saliency(p: &Bitmap) -> Vec<f64> {
    let (w, h) = (p.width as usize, p.height as usize);
    let l: Vec<f64> = (0..w * h).map(|i| luma(rgb(p, i))).collect();
    let at = |x: isize, y: isize| {
        let (x, y) = (x.clamp(0, w as isize - 1), y.clamp(0, h as isize - 1));
        l[y as usize * w + x as usize]
    };
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h as isize {
        for x in 0..w as isize {
            let lap = 4.0 * at(x, y) - at(x - 1, y) - at(x + 1, y) - at(x, y - 1) - at(x, y + 1);
            let c = rgb(p, y as usize * w + x as usize);
            let (max, min) = (c[0].max(c[1]).max(c[2]), c[0].min(c[1]).min(c[2]));
            let saturation = max - min;
            out.push(lap.abs().min(255.0) + saturation * 0.5 + skin(c) * 0.75);
        }
    }
    out
}

/// 0..255: how skin-like a colour is (the classic RGB rule of Kovač et al., softened).
fn skin([r, g, b]: [f64; 3]) -> f64 {
    let is_skin = r > 95.0 && g > 40.0 && b > 20.0 && r > g && r > b && (r - g) > 15.0;
    if is_skin {
        255.0 - ((r - g) - 60.0).abs().min(255.0)
    } else {
        0.0
    }
}

/// Summed-area table of a `w × h` map: any window's sum in four look-ups.
struct SumTable {
    w: usize,
    h: usize,
    s: Vec<f64>,
}

impl SumTable {
    fn new(v: &[f64], w: usize, h: usize) -> SumTable {
        let mut s = vec![0.0; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0.0;
            for x in 0..w {
                row += v[y * w + x];
                s[(y + 1) * (w + 1) + x + 1] = s[y * (w + 1) + x + 1] + row;
            }
        }
        SumTable { w, h, s }
    }

    fn window(&self, x: usize, y: usize, ww: usize, wh: usize) -> f64 {
        let at = |x: usize, y: usize| self.s[y * (self.w + 1) + x];
        at(x + ww, y + wh) - at(x, y + wh) - at(x + ww, y) + at(x, y)
    }
}

/// The top-left corner of the `ww × wh` window with the largest sum; ties nearest centre.
fn best_window(t: &SumTable, ww: usize, wh: usize) -> (usize, usize) {
    best_by(t.w - ww, t.h - wh, |x, y| t.window(x, y, ww, wh))
}

/// The position in `0..=max_x × 0..=max_y` with the highest `score`, ties (within a
/// relative 1e-9) going to the one nearest the centre of the range.
fn best_by(max_x: usize, max_y: usize, score: impl Fn(usize, usize) -> f64) -> (usize, usize) {
    let (cx, cy) = (max_x as f64 / 2.0, max_y as f64 / 2.0);
    let mut best = ((max_x / 2, max_y / 2), f64::NEG_INFINITY, f64::INFINITY);
    for y in 0..=max_y {
        for x in 0..=max_x {
            let s = score(x, y);
            let d = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2);
            let tol = 1e-9 * best.1.abs().max(1.0);
            if s > best.1 + tol || (s >= best.1 - tol && d < best.2) {
                best = ((x, y), s, d);
            }
        }
    }
    best.0
}

/// The top-left corner of the `ww × wh` window whose luma has the most entropy.
fn most_entropy(p: &Bitmap, ww: usize, wh: usize) -> (usize, usize) {
    let (w, h) = (p.width as usize, p.height as usize);
    let bins: Vec<usize> = (0..w * h)
        .map(|i| (luma(rgb(p, i)) as usize).min(255) >> 3)
        .collect();
    best_by(w - ww, h - wh, |x0, y0| {
        let mut hist = [0u32; 32];
        for y in y0..y0 + wh {
            for &b in &bins[y * w + x0..y * w + x0 + ww] {
                hist[b] += 1;
            }
        }
        let n = (ww * wh) as f64;
        -hist
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let q = c as f64 / n;
                q * q.log2()
            })
            .sum::<f64>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100×50, flat grey but for a busy, saturated 12×12 patch at (`px`, `py`).
    fn with_subject(px: usize, py: usize) -> Bitmap {
        let (w, h) = (100, 50);
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let inside = (px..px + 12).contains(&x) && (py..py + 12).contains(&y);
                let v = if inside && (x + y) % 2 == 0 {
                    [230, 40, 30]
                } else if inside {
                    [20, 20, 200]
                } else {
                    [128, 128, 128]
                };
                data.extend(v);
            }
        }
        Bitmap {
            width: w as u32,
            height: h as u32,
            channels: 3,
            data,
        }
    }

    #[test]
    fn the_crop_moves_to_the_subject() {
        // Source 1000×500, a square crop (500×500) of it; subject near the right edge.
        let crop = Rect {
            x: 250.0,
            y: 0.0,
            w: 500.0,
            h: 500.0,
        };
        let p = with_subject(84, 30);
        for g in [Gravity::Attention, Gravity::Entropy] {
            let r = place(&p, crop, (1000, 500), g);
            assert!(r.x <= 840.0 && r.x + r.w >= 960.0, "{g:?}: {r:?}");
            assert_eq!((r.w, r.h, r.y), (500.0, 500.0, 0.0));
        }
    }

    #[test]
    fn a_flat_picture_crops_at_the_centre() {
        let flat = Bitmap {
            width: 100,
            height: 50,
            channels: 3,
            data: vec![90; 100 * 50 * 3],
        };
        let crop = Rect {
            x: 0.0,
            y: 0.0,
            w: 500.0,
            h: 500.0,
        };
        for g in [Gravity::Attention, Gravity::Entropy] {
            let r = place(&flat, crop, (1000, 500), g);
            assert_eq!(r.x, 250.0, "{g:?}");
        }
    }
}
