//! Output sizes and crop rectangles, as pure arithmetic on dimensions.
//!
//! Everything is planned against the *upright* (orientation-applied) full-resolution source
//! so the output size never depends on how far the decoder shrank the image on load.

use crate::catalogue::spec::{Gravity, ResizeMode, ResizeSpec};

/// A region of the source in full-resolution upright pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    /// All of a `width × height` image.
    pub fn whole(width: u32, height: u32) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            w: width as f64,
            h: height as f64,
        }
    }

    /// The rectangle in the coordinates of a (decoded) image `kx`, `ky` times the size,
    /// clamped to that image so float rounding can never reach outside it.
    pub fn scaled(&self, kx: f64, ky: f64, width: u32, height: u32) -> Rect {
        let (w, h) = (width as f64, height as f64);
        let x = (self.x * kx).clamp(0.0, w);
        let y = (self.y * ky).clamp(0.0, h);
        Rect {
            x,
            y,
            w: (self.w * kx).min(w - x).max(f64::MIN_POSITIVE),
            h: (self.h * ky).min(h - y).max(f64::MIN_POSITIVE),
        }
    }
}

/// A focal point: fractions (0..=1) of the upright source's width and height. Carried by a
/// job (`"focus": {"x": 0.31, "y": 0.42}`), kept in the manifest; a `fill` crop is centred
/// on it as far as the image allows, whatever the transform's gravity.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Focus {
    pub x: f64,
    pub y: f64,
}

// Focus values are validated finite (never NaN) where they enter, so equality is total.
impl Eq for Focus {}

impl Focus {
    /// Steps a focus is kept at: 1/10,000 of a side, so the same point always gives the
    /// same identity however the client printed it.
    const STEPS: f64 = 10_000.0;

    /// The focus at (`x`, `y`), rounded to [`Focus::STEPS`]; `None` unless both are finite
    /// fractions in 0..=1.
    pub fn new(x: f64, y: f64) -> Option<Focus> {
        let ok = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        let round = |v: f64| (v * Self::STEPS).round() / Self::STEPS;
        (ok(x) && ok(y)).then(|| Focus {
            x: round(x),
            y: round(y),
        })
    }

    /// The canonical text of the point (what identities hash).
    pub fn canonical(&self) -> String {
        format!("{:.4},{:.4}", self.x, self.y)
    }

    /// `crop` (a region of an upright `w × h` source) moved to be centred on this point,
    /// kept inside the source.
    pub fn place(&self, crop: Rect, w: u32, h: u32) -> Rect {
        let (w, h) = (w as f64, h as f64);
        Rect {
            x: (self.x * w - crop.w / 2.0).clamp(0.0, (w - crop.w).max(0.0)),
            y: (self.y * h - crop.h / 2.0).clamp(0.0, (h - crop.h).max(0.0)),
            ..crop
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub out_w: u32,
    pub out_h: u32,
    pub crop: Rect,
}

impl Plan {
    /// Output pixels per source pixel (the larger of the two axes): the decoder may shrink
    /// the whole source by this factor without losing detail this output needs.
    pub fn needed_scale(&self) -> f64 {
        (self.out_w as f64 / self.crop.w).max(self.out_h as f64 / self.crop.h)
    }
}

fn round_dim(v: f64) -> u32 {
    (v.round() as u32).max(1)
}

pub fn plan(src_w: u32, src_h: u32, spec: &ResizeSpec) -> Plan {
    let (w, h) = (src_w as f64, src_h as f64);
    let full = Rect::whole(src_w, src_h);
    match spec.mode {
        ResizeMode::Exact => Plan {
            out_w: spec.width.unwrap_or(src_w),
            out_h: spec.height.unwrap_or(src_h),
            crop: full,
        },
        ResizeMode::Fit => {
            let sx = spec.width.map_or(f64::INFINITY, |bw| bw as f64 / w);
            let sy = spec.height.map_or(f64::INFINITY, |bh| bh as f64 / h);
            let mut s = sx.min(sy);
            if !spec.enlarge {
                s = s.min(1.0);
            }
            // The constraining side gets the box size exactly; the other is rounded.
            let (out_w, out_h) = if s == 1.0 {
                (src_w, src_h)
            } else if sx <= sy {
                let ow = if s == sx {
                    spec.width.unwrap()
                } else {
                    round_dim(w * s)
                };
                (ow, round_dim(h * ow as f64 / w))
            } else {
                let oh = if s == sy {
                    spec.height.unwrap()
                } else {
                    round_dim(h * s)
                };
                (round_dim(w * oh as f64 / h), oh)
            };
            Plan {
                out_w,
                out_h,
                crop: full,
            }
        }
        ResizeMode::Fill => {
            let (bw, bh) = (spec.width.unwrap_or(src_w), spec.height.unwrap_or(src_h));
            // Without enlarging, a small source gives the largest box-shaped output it can.
            let k = if spec.enlarge {
                1.0
            } else {
                (w / bw as f64).min(h / bh as f64).min(1.0)
            };
            let (out_w, out_h) = if k < 1.0 {
                (round_dim(bw as f64 * k), round_dim(bh as f64 * k))
            } else {
                (bw, bh)
            };
            // Largest region of the source with the output's aspect ratio.
            let target_aspect = out_w as f64 / out_h as f64;
            let (cw, ch) = if w / h > target_aspect {
                (h * target_aspect, h)
            } else {
                (w, w / target_aspect)
            };
            let (fx, fy) = gravity_fractions(spec.gravity);
            Plan {
                out_w,
                out_h,
                crop: Rect {
                    x: (w - cw) * fx,
                    y: (h - ch) * fy,
                    w: cw,
                    h: ch,
                },
            }
        }
    }
}

/// Where the crop sits in the slack: 0 = left/top, 0.5 = centre, 1 = right/bottom.
fn gravity_fractions(g: Gravity) -> (f64, f64) {
    match g {
        // Content-aware gravities start centred; the engine moves the crop once it has
        // looked at the pixels.
        Gravity::Center | Gravity::Attention | Gravity::Entropy => (0.5, 0.5),
        Gravity::North => (0.5, 0.0),
        Gravity::South => (0.5, 1.0),
        Gravity::East => (1.0, 0.5),
        Gravity::West => (0.0, 0.5),
        Gravity::Northeast => (1.0, 0.0),
        Gravity::Northwest => (0.0, 0.0),
        Gravity::Southeast => (1.0, 1.0),
        Gravity::Southwest => (0.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: ResizeMode, w: Option<u32>, h: Option<u32>, enlarge: bool) -> ResizeSpec {
        ResizeSpec {
            mode,
            width: w,
            height: h,
            enlarge,
            gravity: Gravity::Center,
        }
    }

    #[test]
    fn fit_keeps_aspect_and_hits_the_box() {
        let p = plan(
            3264,
            2448,
            &spec(ResizeMode::Fit, Some(256), Some(256), false),
        );
        assert_eq!((p.out_w, p.out_h), (256, 192));
        let p = plan(
            3000,
            4000,
            &spec(ResizeMode::Fit, Some(1024), Some(1024), false),
        );
        assert_eq!((p.out_w, p.out_h), (768, 1024));
        let p = plan(
            4608,
            1976,
            &spec(ResizeMode::Fit, Some(2048), Some(2048), false),
        );
        assert_eq!((p.out_w, p.out_h), (2048, 878));
    }

    #[test]
    fn fit_never_enlarges_unless_asked() {
        let p = plan(100, 50, &spec(ResizeMode::Fit, Some(256), Some(256), false));
        assert_eq!((p.out_w, p.out_h), (100, 50));
        let p = plan(100, 50, &spec(ResizeMode::Fit, Some(256), Some(256), true));
        assert_eq!((p.out_w, p.out_h), (256, 128));
        let p = plan(100, 50, &spec(ResizeMode::Fit, Some(40), None, false));
        assert_eq!((p.out_w, p.out_h), (40, 20));
    }

    #[test]
    fn fill_crops_to_the_box_centred() {
        let p = plan(
            4000,
            3000,
            &spec(ResizeMode::Fill, Some(128), Some(128), false),
        );
        assert_eq!((p.out_w, p.out_h), (128, 128));
        assert_eq!(
            p.crop,
            Rect {
                x: 500.0,
                y: 0.0,
                w: 3000.0,
                h: 3000.0
            }
        );
        let p = plan(64, 32, &spec(ResizeMode::Fill, Some(128), Some(128), false));
        assert_eq!((p.out_w, p.out_h), (32, 32));
        assert_eq!(p.crop.w, 32.0);
        let p = plan(64, 32, &spec(ResizeMode::Fill, Some(128), Some(128), true));
        assert_eq!((p.out_w, p.out_h), (128, 128));
    }

    #[test]
    fn exact_is_exact() {
        let p = plan(
            4000,
            3000,
            &spec(ResizeMode::Exact, Some(100), Some(400), false),
        );
        assert_eq!((p.out_w, p.out_h), (100, 400));
    }

    #[test]
    fn needed_scale_is_largest_axis_ratio() {
        let p = plan(
            4000,
            3000,
            &spec(ResizeMode::Fit, Some(1000), Some(1000), false),
        );
        assert!((p.needed_scale() - 0.25).abs() < 1e-9);
    }
}
