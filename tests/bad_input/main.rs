//! The bad-input matrix (issue 15): one test per row, each asserting the input's fate and
//! that the process lives on (a good job runs to its `ok` notice afterwards). Rows run
//! through the whole service (`tests/common/service.rs`) on the embedded backend, and on
//! the AWS backend against moto where the row is about queues or stores.
//!
//! Fates (`harness::Fate`): **dropped** — a client fault: counted by reason, a failure
//! notice naming the source, the message deleted, not dead-lettered; **rejected** — does
//! not parse: a copy with the reason in the rejects queue, a failure notice with the
//! message id and first KiB, the message deleted; **done** — not bad after all, the derived
//! object is made; **refused** — turned away at the door (queue send error, HTTP status);
//! **dead-lettered** — retried with backoff, then moved to the DLQ by the redrive policy.
//!
//! | row | fate | embedded | aws (moto) | also |
//! |---|---|---|---|---|
//! | malformed JSON | rejected `not_json` | `embedded_malformed_json` | `aws_malformed_json` | |
//! | wrong types (`"source": 5`) | rejected `invalid` | `embedded_wrong_types` | `aws_wrong_types` | |
//! | empty transform list | rejected `invalid` | `embedded_empty_transform_list` | | |
//! | unknown transform | dropped `unknown_transform` | `embedded_unknown_transform` | `aws_unknown_transform` | |
//! | missing source | dropped `source_missing` | `embedded_missing_source` | `aws_missing_source` | |
//! | 0-byte source | dropped `unsupported_format` | `embedded_zero_byte_source` | `aws_zero_byte_source` | engine_hostile |
//! | JPEG cut in its header | dropped `corrupt` | `embedded_truncated_jpeg_header` | | engine_hostile |
//! | JPEG cut in its data | done (rest grey) | `embedded_truncated_jpeg_data` | | engine_hostile |
//! | 50,000² PNG header | dropped `limit_exceeded` | `embedded_png_header_bomb` | | engine_hostile |
//! | 50,000² JPEG header | dropped `limit_exceeded` | `embedded_jpeg_header_bomb` | | engine_hostile |
//! | 5,000-frame GIF | done (first frame) | `embedded_gif_of_5000_frames` | | engine_hostile (pixels) |
//! | PNG iCCP inflate bomb | dropped `limit_exceeded` | `embedded_png_iccp_bomb` | | engine_hostile, engine_memory |
//! | progressive-JPEG scan bomb | dropped `limit_exceeded` | `embedded_jpeg_scan_bomb` | | engine_hostile |
//! | key with `../` | done (an ordinary key) | `embedded_key_with_dot_dot` | `aws_key_with_dot_dot` | store_local `nothing_escapes_the_root` |
//! | key with NUL | rejected `invalid` | `embedded_key_with_nul` | `aws_key_with_nul` | |
//! | key over 1,024 bytes | rejected `invalid` | `embedded_key_over_1024_bytes` | `aws_key_over_1024_bytes` | |
//! | message of exactly 256 KiB | done | `embedded_message_at_the_size_limit` | `aws_message_at_the_size_limit` | |
//! | message of 256 KiB + 1 | refused by the queue | `embedded_message_over_the_size_limit` | `aws_message_over_the_size_limit` (a 256 KiB queue) | |
//! | message of 256 KiB + 1 on a 1 MiB SQS queue (the default since 2025) | rejected `too_large` | | `aws_message_over_derivds_limit_on_a_1_mib_queue` | |
//! | source S3 refuses (403) | dead-lettered | (`service_embedded` job timeout) | `front::aws_source_access_denied_is_retried_then_dead_lettered` | |
//! | HTTP body over `max_body_bytes` | refused 413 | `front::http_body_over_the_limit` | | http_hardening |
//! | HTTP body not UTF-8 | refused 400 (JSON error) | `front::http_body_not_utf8` | | scripts/schemathesis.sh |
//! | forged SNS message | refused 403, counted | `front::forged_sns_message` | | sns_http (every forgery) |
//! | 1,000 bad messages in a row (after 500 warm-up) | VmRSS growth ≤ 16 MiB | `memory::a_thousand_bad_messages_leave_resident_memory_flat` | | |
//!
//! Run: `MOTO_PORT=5000 scripts/test.sh --test bad_input` (the `aws_*` rows need moto;
//! `cargo test --test bad_input embedded_` runs the embedded rows alone).

#[path = "../common/mod.rs"]
mod common;

mod fate;
mod front;
mod harness;
mod memory;
mod rows;

use harness::Backend::{Aws, Embedded};

/// `name: backend => row;` — one `#[tokio::test]` per line.
macro_rules! matrix {
    ($($test:ident: $backend:expr => $row:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            fate::run($backend, stringify!($test), rows::$row()).await;
        }
    )*};
}

matrix! {
    embedded_malformed_json: Embedded => malformed_json;
    aws_malformed_json: Aws => malformed_json;
    embedded_wrong_types: Embedded => wrong_types;
    aws_wrong_types: Aws => wrong_types;
    embedded_empty_transform_list: Embedded => empty_transform_list;
    embedded_unknown_transform: Embedded => unknown_transform;
    aws_unknown_transform: Aws => unknown_transform;
    embedded_missing_source: Embedded => missing_source;
    aws_missing_source: Aws => missing_source;
    embedded_zero_byte_source: Embedded => zero_byte_source;
    aws_zero_byte_source: Aws => zero_byte_source;
    embedded_truncated_jpeg_header: Embedded => truncated_jpeg_header;
    embedded_truncated_jpeg_data: Embedded => truncated_jpeg_data;
    embedded_png_header_bomb: Embedded => png_header_bomb;
    embedded_jpeg_header_bomb: Embedded => jpeg_header_bomb;
    embedded_gif_of_5000_frames: Embedded => gif_of_5000_frames;
    embedded_png_iccp_bomb: Embedded => png_iccp_bomb;
    embedded_jpeg_scan_bomb: Embedded => jpeg_scan_bomb;
    embedded_key_with_dot_dot: Embedded => key_with_dot_dot;
    aws_key_with_dot_dot: Aws => key_with_dot_dot;
    embedded_key_with_nul: Embedded => key_with_nul;
    aws_key_with_nul: Aws => key_with_nul;
    embedded_key_over_1024_bytes: Embedded => key_over_1024_bytes;
    aws_key_over_1024_bytes: Aws => key_over_1024_bytes;
    embedded_message_at_the_size_limit: Embedded => message_at_the_size_limit;
    aws_message_at_the_size_limit: Aws => message_at_the_size_limit;
    embedded_message_over_the_size_limit: Embedded => message_over_the_size_limit;
    aws_message_over_derivds_limit_on_a_1_mib_queue: Aws => message_over_derivds_limit;
}

/// An SQS queue with the classic 256 KiB `MaximumMessageSize` refuses the send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_message_over_the_size_limit() {
    let env = harness::Env::start(Aws, "bad-over-256k").await;
    env.set_max_message_size(derivd::job::MAX_MESSAGE_BYTES)
        .await;
    fate::play(&env, rows::message_over_the_size_limit()).await;
    env.lives_on().await;
    env.stop().await;
}
