//! `cargo +nightly fuzz run video_boxes`: see `../checks.rs` for what is checked.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::video_boxes(data));
