//! derivd's benchmark lane: the engine through its public API (`Engine::render`), in the
//! protocol of `../shared/bench/py_worker.py`, so `benches/compare.py` can run it beside
//! the peers, pinned and interleaved.
//!
//! ```text
//! lane '{"files": [...], "outputs": [...], "reps": 5, "warmup": 1}'   # peer protocol:
//!      loads inputs, warms up, prints READY, waits for a stdin line, runs the timed
//!      passes, prints one JSON line {library, version, reps: [[t0, t1], ...], ...}
//! lane --save DIR W2 [FILE...]   # writes every output (quality comparison); W2 may be
//!                                 # a JSON list of outputs instead
//! lane --once FILE W2            # one job, for peak-RSS measurement (/usr/bin/time -v)
//! cargo bench --bench lane       # quick W1/W2 images/s on the corpus, no handshake
//! ```
//!
//! It is a `[[bench]]` with `harness = false` rather than a CLI subcommand so that it is
//! built with the bench profile and never runs in `cargo test`.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine};

#[derive(serde::Deserialize)]
struct Config {
    files: Vec<String>,
    outputs: Vec<common::Output>,
    reps: usize,
    #[serde(default = "one")]
    warmup: usize,
}

fn one() -> usize {
    1
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn job(engine: &Engine, bytes: &[u8], t: &[Arc<Transform>]) -> usize {
    let outs = engine
        .render(bytes, t, Deadline::none())
        .unwrap_or_else(|e| panic!("render failed: {e}"));
    outs.iter().map(|r| r.bytes.len()).sum()
}

fn pass(engine: &Engine, inputs: &[Vec<u8>], t: &[Arc<Transform>]) -> usize {
    inputs.iter().map(|b| job(engine, b, t)).sum()
}

fn protocol(cfg: Config) {
    let engine = Engine::default();
    let t = common::transforms(&cfg.outputs);
    let inputs: Vec<Vec<u8>> = cfg
        .files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let mut bytes_out = 0;
    for _ in 0..cfg.warmup {
        bytes_out = pass(&engine, &inputs, &t);
    }
    println!("READY");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    let (mut reps, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..cfg.reps {
        let (t0, c0) = (now(), cpu_seconds());
        pass(&engine, &inputs, &t);
        reps.push([t0, now()]);
        cpu.push(cpu_seconds() - c0);
    }
    let report = serde_json::json!({
        "library": "derivd engine",
        "version": env!("CARGO_PKG_VERSION"),
        "reps": reps,
        "cpu_seconds": cpu,
        "bytes_out_per_pass": bytes_out,
    });
    println!("{report}");
}

/// CPU time (user + system, all threads) of this process so far, from `/proc/self/stat`
/// (clock ticks, 100 per second on Linux): on a shared machine it is the work done, where
/// wall time also counts the waits for the core.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`, which may itself hold spaces: utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<f64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn save(dir: &Path, workload: &str, files: &[String]) {
    std::fs::create_dir_all(dir).unwrap();
    let engine = Engine::default();
    // A workload name, or the outputs themselves as JSON (`benches/avif_compare.py`).
    let outputs: Vec<common::Output> = if workload.starts_with('[') {
        serde_json::from_str(workload).expect("outputs JSON")
    } else {
        common::workload(workload)
    };
    let t = common::transforms(&outputs);
    let inputs: Vec<(std::path::PathBuf, Vec<u8>)> = if files.is_empty() {
        common::photos()
    } else {
        files
            .iter()
            .map(|f| (f.into(), std::fs::read(f).unwrap()))
            .collect()
    };
    for (path, bytes) in inputs {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let outs = engine.render(&bytes, &t, Deadline::none()).unwrap();
        for (o, r) in outputs.iter().zip(outs) {
            let ext = if o.format == "jpeg" { "jpg" } else { &o.format };
            std::fs::write(dir.join(format!("{stem}.{}.{ext}", o.name)), &r.bytes).unwrap();
        }
    }
}

fn once(file: &str, workload: &str) {
    let bytes = std::fs::read(file).unwrap();
    let t = common::transforms(&common::workload(workload));
    let runs: usize = std::env::var("DERIVD_ONCE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for _ in 1..runs {
        Engine::default()
            .render(&bytes, &t, Deadline::none())
            .unwrap();
    }
    let started = Instant::now();
    let outs = Engine::default()
        .render(&bytes, &t, Deadline::none())
        .unwrap();
    for r in &outs {
        println!(
            "{}: {}x{} {} bytes, {:.1} ms resize+encode",
            r.transform.name,
            r.width,
            r.height,
            r.bytes.len(),
            r.elapsed.as_secs_f64() * 1e3
        );
    }
    println!(
        "{workload} job: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
}

/// `cargo bench --bench lane`: a quick single-thread rate per workload.
fn quick() {
    let engine = Engine::default();
    let inputs: Vec<Vec<u8>> = common::photos().into_iter().map(|p| p.1).collect();
    for w in ["W1", "W2"] {
        let t = common::transforms(&common::workload(w));
        pass(&engine, &inputs, &t);
        let mut rates: Vec<f64> = (0..3)
            .map(|_| {
                let s = Instant::now();
                pass(&engine, &inputs, &t);
                inputs.len() as f64 / s.elapsed().as_secs_f64()
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "{w}: {:.2} images/s (median of 3 passes over {} photos, one thread)",
            rates[1],
            inputs.len()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--save") if args.len() >= 3 => save(Path::new(&args[1]), &args[2], &args[3..]),
        Some("--once") if args.len() == 3 => once(&args[1], &args[2]),
        Some(json) if json.starts_with('{') => {
            protocol(serde_json::from_str(json).expect("lane config JSON"))
        }
        // `cargo bench` passes `--bench`; a filter may follow.
        _ => quick(),
    }
}
