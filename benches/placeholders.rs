//! The cost of the placeholders (issue 14) on W2: the same corpus pass with and without
//! them, interleaved round by round (A B, B A, …) so drift on a shared machine hits both.
//!
//! ```text
//! cargo bench --bench placeholders            # 9 rounds × 3 passes × 8 photos each way
//! DERIVD_ROUNDS=15 cargo bench --bench placeholders
//! ```
//!
//! Prints each round's ratio and the median: (with − without) / without of the job time.

mod common;

use std::time::{Duration, Instant};

use derivd::engine::{Deadline, Engine, RenderOptions};

fn pass(
    engine: &Engine,
    photos: &[Vec<u8>],
    t: &[std::sync::Arc<derivd::catalogue::Transform>],
    with: bool,
) -> Duration {
    let started = Instant::now();
    for _ in 0..3 {
        for p in photos {
            let opts = RenderOptions {
                placeholders: with,
                focus: None,
            };
            let r = engine.render_all(p, t, Deadline::none(), &opts).unwrap();
            assert_eq!(r.placeholders.is_some(), with);
        }
    }
    started.elapsed()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored (one measurement).
    let rounds: usize = std::env::var("DERIVD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let photos: Vec<Vec<u8>> = common::photos().into_iter().map(|p| p.1).collect();
    let t = common::transforms(&common::workload("W2"));
    let engine = Engine::default();
    pass(&engine, &photos, &t, true); // warm-up: buffers, page cache
    let jobs = 3.0 * photos.len() as f64;
    let (mut ratios, mut without_ms, mut with_ms) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = pass(&engine, &photos, &t, false);
            (a, pass(&engine, &photos, &t, true))
        } else {
            let b = pass(&engine, &photos, &t, true);
            (pass(&engine, &photos, &t, false), b)
        };
        let (a, b) = (a.as_secs_f64(), b.as_secs_f64());
        println!(
            "round {round}: without {:.2} ms/job, with {:.2} ms/job, +{:.2} %",
            a * 1e3 / jobs,
            b * 1e3 / jobs,
            (b / a - 1.0) * 100.0
        );
        ratios.push(b / a - 1.0);
        without_ms.push(a * 1e3 / jobs);
        with_ms.push(b * 1e3 / jobs);
    }
    println!(
        "W2 placeholders: median {:.2} ms/job without, {:.2} ms/job with, median cost {:+.2} % of the job ({rounds} rounds)",
        median(without_ms),
        median(with_ms),
        median(ratios) * 100.0
    );
}
