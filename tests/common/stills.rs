//! Video and PDF sources through the deriver's still path (probe, one extraction per
//! rule, the engine's cascade), without a store: what the engine-level media tests share.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use derivd::catalogue::{Catalogue, Transform};
use derivd::config::Config;
use derivd::derive::source::SourceBody;
use derivd::derive::still::{self, StillUsed};
use derivd::derive::{MemoryBudget, Source};
use derivd::engine::{Engine, RenderOptions, Rendition};
use derivd::extract::Facts;
use derivd::media::{detect, Detected};
use derivd::metrics::Metrics;

pub fn catalogue() -> Catalogue {
    Catalogue::built_in(8192).unwrap()
}

pub fn transforms(names: &[&str]) -> Vec<Arc<Transform>> {
    let c = catalogue();
    names.iter().map(|n| c.get(n).expect(n).clone()).collect()
}

/// Probe and render `bytes` for `names`, as the deriver does.
pub async fn render(
    bytes: Vec<u8>,
    names: &[&str],
    recorded: &BTreeMap<String, f64>,
) -> (Facts, Vec<(Rendition, StillUsed)>) {
    let cfg = Config::default();
    let ex = derivd::backends::extractors(&cfg);
    let engine = Engine::new(cfg.limits);
    let Detected::Supported(media) = detect(&bytes) else {
        panic!("not detected");
    };
    let source = Source {
        key: "clip".into(),
        etag: "e1".into(),
        body: SourceBody::Bytes(Bytes::from(bytes)),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let probed = still::probe(&ex, &engine, &source, media, deadline)
        .await
        .unwrap();
    let (budget, metrics) = (MemoryBudget::new(4 << 30), Metrics::new());
    let t = transforms(names);
    let parts = (&engine, &budget, &metrics);
    let opts = RenderOptions::default();
    let out = still::render(parts, &probed, 1 << 30, t, recorded, deadline, opts)
        .await
        .unwrap();
    (probed.facts.clone(), out.renditions)
}

pub fn decode(r: &Rendition) -> image::RgbImage {
    image::load_from_memory(&r.bytes).unwrap().to_rgb8()
}

/// [`render`] of a single transform with nothing recorded: the first output.
pub async fn poster(bytes: Vec<u8>, name: &str) -> (Facts, Rendition, StillUsed) {
    let (facts, mut out) = render(bytes, &[name], &BTreeMap::new()).await;
    let (r, u) = out.remove(0);
    (facts, r, u)
}

/// Mean BT.709 luma (0..=255) of an RGB image.
pub fn mean_luma(img: &image::RgbImage) -> f64 {
    let n = (img.width() * img.height()) as f64;
    img.pixels()
        .map(|p| 0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64)
        .sum::<f64>()
        / n
}
