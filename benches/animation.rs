//! derivd's lane of the animated-WebP benchmark (`scripts/bench-animation.sh`, which runs
//! `benches/animation_sharp.js` beside it in the same run): every file rendered to
//! animated WebP at each size (fit inside, never enlarged, quality 80, method 4 — sharp's
//! defaults), all sizes of one file from one pass over its frames, as derivd renders a job.
//!
//! ```text
//! animation REPS SIZES FILE...     # SIZES: comma-separated, e.g. 256,128
//! ```
//!
//! Prints one JSON line per file: `{"file", "ms": [wall, per rep], "cpu_ms": [user + system,
//! per rep], "bytes": [per size]}`. With
//! `ANIMATION_SAVE=DIR` set, also writes each output to `DIR/<file name>.<size>.webp`.

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
        if let Some(dir) = std::env::var_os("ANIMATION_SAVE") {
            let name = std::path::Path::new(file)
                .file_name()
                .unwrap()
                .to_string_lossy();
            for (r, size) in out.iter().zip(sizes.split(',')) {
                let path = std::path::Path::new(&dir).join(format!("{name}.{size}.webp"));
                std::fs::write(path, &r.bytes).expect("save");
            }
        }
        let (ms, cpu_ms): (Vec<f64>, Vec<f64>) = (0..reps)
            .map(|_| {
                let (t, c) = (Instant::now(), cpu_ms());
                std::hint::black_box(run());
                (t.elapsed().as_secs_f64() * 1e3, cpu_ms() - c)
            })
            .unzip();
        let line = serde_json::json!({
            "file": file,
            "ms": ms,
            "cpu_ms": cpu_ms,
            "bytes": out.iter().map(|r| r.bytes.len()).collect::<Vec<_>>(),
        });
        println!("{line}");
    }
}

/// User + system CPU time of this process so far, in ms.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    tv(u.ru_utime) + tv(u.ru_stime)
}
