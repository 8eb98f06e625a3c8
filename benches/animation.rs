//! derivd's lane of the animated-WebP benchmark (`scripts/bench-animation.sh`, which runs
//! `benches/animation_sharp.js` beside it in the same run): every file rendered to
//! animated WebP at each size (fit inside, never enlarged, quality 80, method 4 — sharp's
//! defaults), all sizes of one file from one pass over its frames, as derivd renders a job.
//!
//! ```text
//! animation REPS SIZES FILE...     # SIZES: comma-separated, e.g. 256,128
//! ```
//!
//! Prints one JSON line per file: `{"file", "ms": [per rep], "bytes": [per size]}`.

use std::sync::Arc;
use std::time::Instant;

use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, Limits};

fn transform(size: u32) -> Arc<Transform> {
    let text = format!(
        "description = \"bench\"\naccepts = [\"image/*\"]\nanimation = \"keep\"\n\
         [output]\nformat = \"webp\"\nquality = 80\n\
         [resize]\nmode = \"fit\"\nwidth = {size}\nheight = {size}\n"
    );
    Arc::new(Transform::parse(&format!("anim-{size}"), &text, 8192).expect("transform"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [reps, sizes, files @ ..] = args.as_slice() else {
        eprintln!("usage: animation REPS SIZES FILE...");
        std::process::exit(2);
    };
    let reps: usize = reps.parse().expect("REPS");
    let transforms: Vec<_> = sizes
        .split(',')
        .map(|s| transform(s.parse().expect("SIZES")))
        .collect();
    let engine = Engine::new(Limits::default());
    for file in files {
        let bytes = std::fs::read(file).expect("read");
        let run = || {
            let deadline = Deadline::after(std::time::Duration::from_secs(600));
            engine
                .render(&bytes, &transforms, deadline)
                .expect("render")
        };
        let out = run(); // warm-up
        let ms: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(run());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let line = serde_json::json!({
            "file": file,
            "ms": ms,
            "bytes": out.iter().map(|r| r.bytes.len()).collect::<Vec<_>>(),
        });
        println!("{line}");
    }
}
