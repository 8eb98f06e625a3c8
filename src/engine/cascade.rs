//! Which image each output is resized from.
//!
//! Resizing from the full decode every time costs the decode's size per output; resizing
//! each output from the smallest *earlier output* that still has enough pixels costs far
//! less (W2: the 1024 px output from the 2048 px one, the 256 px from the 512 px, …) and
//! was measured 1.45–1.55× faster on the five-output job. libvips' fan-out does the same.
//! A source is used only if it covers the target at ≥ 1 source pixel per output pixel on
//! both axes, so nothing is ever upsampled; outputs that crop (fill) serve no later output.

use super::geometry::{Plan, Rect};

/// The order to make outputs in: most source pixels per output pixel first.
pub fn order(plans: &[Plan]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..plans.len()).collect();
    idx.sort_by(|&a, &b| plans[b].needed_scale().total_cmp(&plans[a].needed_scale()));
    idx
}

/// True when `plan` shows the whole upright source (so it can serve later outputs).
pub fn whole_frame(plan: &Plan, up_w: u32, up_h: u32) -> bool {
    plan.crop == Rect::whole(up_w, up_h)
}

/// The smallest of the outputs already `made` (indices into `plans`, each whole-frame)
/// that covers `plans[target]` and that `usable` accepts (the caller's check of what the
/// sizes do not show, such as chroma resolution), if any.
pub fn pick(
    plans: &[Plan],
    made: &[usize],
    target: usize,
    (up_w, up_h): (u32, u32),
    usable: impl Fn(usize) -> bool,
) -> Option<usize> {
    let t = &plans[target];
    made.iter()
        .copied()
        .filter(|&j| {
            let c = &plans[j];
            let sx = c.out_w as f64 / up_w as f64;
            let sy = c.out_h as f64 / up_h as f64;
            sx * t.crop.w >= t.out_w as f64 - 1e-9 && sy * t.crop.h >= t.out_h as f64 - 1e-9
        })
        .filter(|&j| usable(j))
        .min_by_key(|&j| plans[j].out_w as u64 * plans[j].out_h as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::spec::{Gravity, ResizeMode, ResizeSpec};
    use crate::engine::geometry::plan;

    fn spec(mode: ResizeMode, size: u32) -> ResizeSpec {
        ResizeSpec {
            mode,
            width: Some(size),
            height: Some(size),
            enlarge: false,
            gravity: Gravity::Center,
        }
    }

    #[test]
    fn w2_cascades_from_the_smallest_covering_output() {
        let (w, h) = (4032, 3024);
        let plans: Vec<Plan> = [
            spec(ResizeMode::Fit, 256),
            spec(ResizeMode::Fill, 128),
            spec(ResizeMode::Fit, 2048),
            spec(ResizeMode::Fit, 512),
            spec(ResizeMode::Fit, 1024),
        ]
        .iter()
        .map(|s| plan(w, h, s))
        .collect();
        let ord = order(&plans);
        assert_eq!(ord, vec![2, 4, 3, 0, 1]);
        let mut made = Vec::new();
        let mut from = Vec::new();
        for &i in &ord {
            from.push(pick(&plans, &made, i, (w, h), |_| true));
            if whole_frame(&plans[i], w, h) {
                made.push(i);
            }
        }
        // 2048 from the decode, 1024 from 2048, 512 from 1024, 256 from 512, and the
        // 128 px square from the 192 px square centre of the 256×192.
        assert_eq!(from, vec![None, Some(2), Some(4), Some(3), Some(0)]);
    }

    #[test]
    fn never_upsamples() {
        let (w, h) = (1000, 100);
        let plans: Vec<Plan> = [spec(ResizeMode::Fit, 500), spec(ResizeMode::Fill, 80)]
            .iter()
            .map(|s| plan(w, h, s))
            .collect();
        // The 500×50 output has only 50 rows for the 80×80 crop's 80.
        assert_eq!(pick(&plans, &[0], 1, (w, h), |_| true), None);
        // … and the caller can veto a source.
        let plans: Vec<Plan> = [spec(ResizeMode::Fit, 500), spec(ResizeMode::Fit, 80)]
            .iter()
            .map(|s| plan(w, h, s))
            .collect();
        assert_eq!(pick(&plans, &[0], 1, (w, h), |_| true), Some(0));
        assert_eq!(pick(&plans, &[0], 1, (w, h), |j| j != 0), None);
    }
}
