//! `cargo +nightly fuzz run image`: sniff, probe and render with tight limits; see
//! `../checks.rs` for what is checked.
#![no_main]

use std::sync::{Arc, LazyLock};

use derivd::catalogue::Transform;
use derivd::engine::Engine;

#[path = "../checks.rs"]
mod checks;

static ENGINE: LazyLock<(Engine, [Arc<Transform>; 2])> =
    LazyLock::new(|| (checks::engine(), checks::transforms()));

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::image(&ENGINE.0, &ENGINE.1, data));
