//! The rows: each a source (if any), a message body, and the fate it must meet.

use super::harness::{Fate, Row};
use crate::common::bombs;
use crate::common::images::corpus_file;

const MAX_MESSAGE: usize = derivd::job::MAX_MESSAGE_BYTES;

fn photo() -> Vec<u8> {
    corpus_file("formats/ir_progressive_650x470.jpg")
}

fn job(source: &str) -> String {
    serde_json::json!({"source": source, "transforms": ["thumb-256"]}).to_string()
}

fn thumb(source: &str) -> Fate {
    let key = format!("derived/{source}/thumb-256.jpg");
    Fate::Done { key }
}

pub fn malformed_json() -> Row {
    Row::new(
        r#"{"source": "a.jpg", "transforms": ["thumb-256""#,
        Fate::Rejected("not_json"),
    )
}

pub fn wrong_types() -> Row {
    Row::new(
        r#"{"source": 5, "transforms": "thumb-256"}"#,
        Fate::Rejected("invalid"),
    )
}

pub fn empty_transform_list() -> Row {
    let body = r#"{"source": "a.jpg", "transforms": []}"#;
    Row::new(body, Fate::Rejected("invalid")).with_source("a.jpg", photo())
}

pub fn unknown_transform() -> Row {
    let body = r#"{"source": "a.jpg", "transforms": ["no-such-transform"]}"#;
    Row::new(body, Fate::Dropped("unknown_transform")).with_source("a.jpg", photo())
}

pub fn missing_source() -> Row {
    Row::new(job("never/uploaded.jpg"), Fate::Dropped("source_missing"))
}

pub fn zero_byte_source() -> Row {
    Row::new(job("empty.jpg"), Fate::Dropped("unsupported_format")).with_source("empty.jpg", vec![])
}

/// Cut inside the EXIF segment: no frame header at all.
pub fn truncated_jpeg_header() -> Row {
    let cut = corpus_file("photos/es_jolla_3264x2448.jpg")[..300].to_vec();
    Row::new(job("cut.jpg"), Fate::Dropped("corrupt")).with_source("cut.jpg", cut)
}

/// Cut inside the entropy-coded data: libjpeg-turbo fills the rest grey (as libvips does).
pub fn truncated_jpeg_data() -> Row {
    let full = corpus_file("photos/es_jolla_3264x2448.jpg");
    let half = full[..full.len() / 2].to_vec();
    Row::new(job("half.jpg"), thumb("half.jpg")).with_source("half.jpg", half)
}

pub fn png_header_bomb() -> Row {
    let bomb = bombs::png_claiming(50_000, 50_000);
    Row::new(job("bomb.png"), Fate::Dropped("limit_exceeded")).with_source("bomb.png", bomb)
}

pub fn jpeg_header_bomb() -> Row {
    let bomb = bombs::jpeg_claiming(50_000, 50_000);
    Row::new(job("bomb.jpg"), Fate::Dropped("limit_exceeded")).with_source("bomb.jpg", bomb)
}

pub fn gif_of_5000_frames() -> Row {
    let gif = bombs::many_frame_gif(5000);
    Row::new(job("frames.gif"), thumb("frames.gif")).with_source("frames.gif", gif)
}

pub fn png_iccp_bomb() -> Row {
    let bomb = bombs::png_iccp_bomb(700 << 20);
    Row::new(job("icc.png"), Fate::Dropped("limit_exceeded")).with_source("icc.png", bomb)
}

pub fn jpeg_scan_bomb() -> Row {
    let bomb = bombs::scan_bomb(&bombs::progressive_jpeg(8000, 8000), 3000);
    Row::new(job("scans.jpg"), Fate::Dropped("limit_exceeded")).with_source("scans.jpg", bomb)
}

/// `..` is an ordinary key segment: the key is stored and derived from as it is, and
/// nothing reaches outside the bucket (the embedded store names files by hash).
pub fn key_with_dot_dot() -> Row {
    let key = "a/../../../etc/passwd.jpg";
    Row::new(job(key), thumb(key)).with_source(key, photo())
}

pub fn key_with_nul() -> Row {
    Row::new(job("a\u{0}b.jpg"), Fate::Rejected("invalid"))
}

pub fn key_over_1024_bytes() -> Row {
    Row::new(job(&"k".repeat(1025)), Fate::Rejected("invalid"))
}

/// A message of exactly the queue's size limit (SQS: 256 KiB): a legal job (JSON
/// whitespace pads it), processed like any other.
pub fn message_at_the_size_limit() -> Row {
    let body = padded(&job("a.jpg"), MAX_MESSAGE);
    Row::new(body, thumb("a.jpg")).with_source("a.jpg", photo())
}

/// One byte over: a queue with the 256 KiB limit refuses the send (the embedded queue,
/// and SQS queues whose `MaximumMessageSize` is 256 KiB).
pub fn message_over_the_size_limit() -> Row {
    Row::new(padded(&job("a.jpg"), MAX_MESSAGE + 1), Fate::RefusedAtSend)
}

/// One byte over derivd's limit on a queue that takes it (SQS queues allow up to 1 MiB
/// since 2025): derivd refuses it unread, keeps it in the rejects queue.
pub fn message_over_derivds_limit() -> Row {
    Row::new(
        padded(&job("a.jpg"), MAX_MESSAGE + 1),
        Fate::Rejected("too_large"),
    )
}

/// `json` (an object) padded with spaces before its closing brace to `len` bytes.
fn padded(json: &str, len: usize) -> String {
    let open = json.strip_suffix('}').expect("an object");
    let body = format!("{open}{}}}", " ".repeat(len - json.len()));
    assert_eq!(body.len(), len);
    body
}
