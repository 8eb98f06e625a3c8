//! Criterion benches of the engine: each stage alone, then W1 and W2 end to end through
//! the public API (`Engine::render`), on the corpus photos (`DERIVD_CORPUS` overrides
//! `../shared/corpus`).
//!
//! ```text
//! cargo bench --bench engine                 # everything (~4 min)
//! cargo bench --bench engine -- 'e2e'        # only the end-to-end workloads
//! ```
//!
//! Stages use the largest photo (most work per image); the end-to-end groups run one
//! job per photo per iteration, so their time / 8 is the mean job time.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use derivd::catalogue::spec::OutputSpec;
use derivd::engine::stages;
use derivd::engine::{Deadline, Engine};
use derivd::media::OutputFormat;

fn largest() -> Vec<u8> {
    common::photos()
        .into_iter()
        .max_by_key(|p| p.1.len())
        .expect("corpus has photos")
        .1
}

fn spec(format: OutputFormat, quality: Option<u8>) -> OutputSpec {
    OutputSpec {
        format,
        quality,
        speed: None,
        background: [255, 255, 255],
    }
}

fn fit(w: u32, h: u32, box_: u32) -> (u32, u32) {
    let s = box_ as f64 / w.max(h) as f64;
    (
        ((w as f64 * s).round() as u32).max(1),
        ((h as f64 * s).round() as u32).max(1),
    )
}

fn stages_bench(c: &mut Criterion) {
    let jpeg = largest();
    let full = stages::decode_jpeg(&jpeg, 1).unwrap();
    let mp = (full.width() as u64 * full.height() as u64) as f64 / 1e6;
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements((mp * 1e6) as u64));
    for denom in [1, 2, 4, 8] {
        g.bench_function(format!("1/{denom}"), |b| {
            b.iter(|| stages::decode_jpeg(&jpeg, denom).unwrap())
        });
        g.bench_function(format!("planes 1/{denom}"), |b| {
            b.iter(|| stages::decode_jpeg_planes(&jpeg, denom).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("resize");
    let (w2, h2) = fit(full.width(), full.height(), 2048);
    g.bench_function("full->2048", |b| b.iter(|| stages::resize(&full, w2, h2)));
    let r2048 = stages::resize(&full, w2, h2);
    let (w1, h1) = fit(w2, h2, 1024);
    g.bench_function("2048->1024", |b| b.iter(|| stages::resize(&r2048, w1, h1)));
    let (w8, h8) = fit(full.width(), full.height(), 256);
    let eighth = stages::decode_jpeg(&jpeg, 8).unwrap();
    g.bench_function("1/8->256", |b| b.iter(|| stages::resize(&eighth, w8, h8)));
    let planes = stages::decode_jpeg_planes(&jpeg, 1).unwrap();
    g.bench_function("planes full->2048", |b| {
        b.iter(|| stages::resize_planes(&planes, w2, h2))
    });
    let p2048 = stages::resize_planes(&planes, w2, h2);
    g.bench_function("planes 2048->1024", |b| {
        b.iter(|| stages::resize_planes(&p2048, w1, h1))
    });
    g.finish();

    let r1024 = stages::resize(&r2048, w1, h1);
    let (w5, h5) = fit(w1, h1, 512);
    let r512 = stages::resize(&r1024, w5, h5);
    let mut g = c.benchmark_group("encode");
    let jpeg85 = spec(OutputFormat::Jpeg, Some(85));
    g.bench_function("jpeg q85 2048", |b| {
        b.iter(|| stages::encode(&r2048, &jpeg85))
    });
    let webp80 = spec(OutputFormat::Webp, Some(80));
    g.bench_function("webp q80 512", |b| {
        b.iter(|| stages::encode(&r512, &webp80))
    });
    let p1024 = stages::resize_planes(&p2048, w1, h1);
    let p512 = stages::resize_planes(&p1024, w5, h5);
    g.bench_function("jpeg q85 2048 from planes", |b| {
        b.iter(|| stages::encode_planes(&p2048, &jpeg85))
    });
    g.bench_function("webp q80 512 from planes", |b| {
        b.iter(|| stages::encode_planes(&p512, &webp80))
    });
    let png = spec(OutputFormat::Png, None);
    g.bench_function("png 512", |b| b.iter(|| stages::encode(&r512, &png)));
    g.finish();
}

fn e2e_bench(c: &mut Criterion) {
    let photos: Vec<Vec<u8>> = common::photos().into_iter().map(|p| p.1).collect();
    let engine = Engine::default();
    let mut g = c.benchmark_group("e2e");
    g.throughput(Throughput::Elements(photos.len() as u64));
    for w in ["W1", "W2"] {
        let t = common::transforms(&common::workload(w));
        g.bench_function(format!("{w} corpus pass"), |b| {
            b.iter_batched(
                || (),
                |()| {
                    for p in &photos {
                        engine.render(p, &t, Deadline::none()).unwrap();
                    }
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = stages_bench, e2e_bench
}
criterion_main!(benches);
