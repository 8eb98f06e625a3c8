//! `cargo +nightly fuzz run derived_key`: see `../checks.rs` for what is checked.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::derived_key(data));
