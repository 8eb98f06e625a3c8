//! `cargo +nightly fuzz run s3_event`: see `../checks.rs` for what is checked.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::s3_event(data));
