//! `cargo +nightly fuzz run job_message`: see `../checks.rs` for what is checked.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::job_message(data));
