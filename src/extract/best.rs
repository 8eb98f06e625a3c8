//! `at = "best"`: a representative frame from the first seconds of a clip.
//!
//! ffmpeg samples the first [`WINDOW_SECONDS`] at [`SAMPLES_PER_SECOND`], each frame
//! shrunk to a 64×36 grey thumbnail (one decode pass, a few KiB out). A frame is rejected
//! when it is black or white (mean luma under 24 or over 235: a fade's ends) or
//! near-uniform (standard deviation under 12); of the rest, the one with the most contrast
//! wins (a fade reaches full contrast only once it is over), the earliest on a tie. A clip
//! with no acceptable frame gives its most contrasted one. The chosen timestamp goes into
//! the manifest, so repairs re-extract the very same frame.

use std::path::Path;
use std::time::Instant;

use super::ffmpeg::Ffmpeg;
use super::{ExtractError, VideoFacts};
use crate::media::MediaType;

pub const WINDOW_SECONDS: f64 = 10.0;
pub const SAMPLES_PER_SECOND: u32 = 4;
const W: usize = 64;
const H: usize = 36;

/// The chosen frame's timestamp, seconds.
pub fn pick(
    ff: &Ffmpeg,
    file: &Path,
    media: MediaType,
    v: &VideoFacts,
    deadline: Instant,
) -> Result<f64, ExtractError> {
    let vf = format!("fps={SAMPLES_PER_SECOND},scale={W}:{H},format=gray");
    let window = format!("{WINDOW_SECONDS}");
    let out = ["-t", &window, "-f", "rawvideo"];
    let grey = ff.run_ffmpeg(file, media, None, &vf, &out, deadline)?;
    let scores: Vec<(f64, f64)> = grey.chunks_exact(W * H).map(stats).collect();
    let i = choose(&scores).unwrap_or(0);
    let t = i as f64 / SAMPLES_PER_SECOND as f64;
    Ok(super::ffmpeg::position(super::At::Seconds(t), v))
}

/// (mean, standard deviation) of one grey thumbnail.
fn stats(px: &[u8]) -> (f64, f64) {
    let n = px.len() as f64;
    let mean = px.iter().map(|&p| p as f64).sum::<f64>() / n;
    let var = px.iter().map(|&p| (p as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Index of the best frame by the rules in the module docs.
fn choose(scores: &[(f64, f64)]) -> Option<usize> {
    let acceptable = |(m, sd): (f64, f64)| (24.0..=235.0).contains(&m) && sd >= 12.0;
    let best_of = |only_ok: bool| {
        scores
            .iter()
            .enumerate()
            .filter(|(_, s)| !only_ok || acceptable(**s))
            .fold(None, |best: Option<(usize, f64)>, (i, s)| match best {
                Some((_, sd)) if sd >= s.1 => best,
                _ => Some((i, s.1)),
            })
            .map(|(i, _)| i)
    };
    best_of(true).or_else(|| best_of(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_uniform_and_fading_frames_lose() {
        let black = (16.0, 1.0);
        let grey = (128.0, 3.0);
        let fading = (60.0, 20.0);
        let full = (120.0, 55.0);
        assert_eq!(choose(&[black, grey, fading, full, fading]), Some(3));
        assert_eq!(choose(&[black, black]), Some(0));
        assert_eq!(choose(&[]), None);
    }
}
