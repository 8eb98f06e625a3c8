//! Video facts read from an MP4 / QuickTime file's own boxes, so the common clip needs no
//! `ffprobe` run: starting one of Debian's ffmpeg tools costs about 80 ms (it loads some
//! 200 shared libraries), a third of a 1080p poster job.
//!
//! Only what the file states for certain is used. Whenever something the extraction
//! depends on is not stated here — an AV1 stream's range without an `nclx` colour box, a
//! codec other than H.264 / HEVC / AV1, a parameter set it cannot read, no video track, a missing, oversized or
//! fragmented `moov` — the answer is `None` and ffprobe decides, as it does for every
//! malformed file. `tests/video_probe.rs` holds this reader to ffprobe's answers.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::sps::Sps;
use super::{avc, hevc, VideoFacts};
use crate::media::boxes::{be16, be32, children, find, path};

/// A `moov` bigger than this is left to ffprobe (a two-hour clip's is a few MiB).
const MAX_MOOV: u64 = 32 << 20;

/// The facts of the first video track, when the boxes state all of them.
pub fn probe(file: &Path) -> Option<VideoFacts> {
    from_moov(&read_moov(file)?)
}

/// The same, from a `moov` payload (what the `video_boxes` fuzz target feeds).
pub fn from_moov(moov: &[u8]) -> Option<VideoFacts> {
    let trak = children(moov)
        .filter(|b| &b.kind == b"trak")
        .find(|t| handler(t.body) == Some(*b"vide"))?;
    track_facts(trak.body)
}

/// The top-level `moov` payload, found by walking box headers (it may follow `mdat`).
fn read_moov(file: &Path) -> Option<Vec<u8>> {
    let mut f = File::open(file).ok()?;
    let len = f.metadata().ok()?.len();
    let mut at = 0u64;
    while at + 8 <= len {
        f.seek(SeekFrom::Start(at)).ok()?;
        let mut head = [0u8; 16];
        let got = f.by_ref().take(16).read(&mut head).ok()?;
        let kind = &head[4..8];
        let (header, size) = match u32::from_be_bytes(head[0..4].try_into().ok()?) {
            0 => (8, len - at),
            1 if got == 16 => (16, u64::from_be_bytes(head[8..16].try_into().ok()?)),
            1 => return None,
            s => (8, s as u64),
        };
        if size < header || at.checked_add(size)? > len {
            return None;
        }
        if kind == b"moov" {
            let body = size - header;
            if body > MAX_MOOV {
                return None;
            }
            let mut moov = vec![0u8; body as usize];
            f.seek(SeekFrom::Start(at + header)).ok()?;
            f.read_exact(&mut moov).ok()?;
            return Some(moov);
        }
        at += size;
    }
    None
}

fn handler(trak: &[u8]) -> Option<[u8; 4]> {
    let hdlr = path(trak, &[b"mdia", b"hdlr"])?;
    hdlr.get(8..12)?.try_into().ok()
}

/// What the codec's own configuration says.
struct Coded {
    codec: &'static str,
    chroma_format: u32,
    bit_depth: u32,
    sar: Option<(u32, u32)>,
    full_range: Option<bool>,
    colour: Option<(u8, u8, u8)>,
}

impl Coded {
    fn from_sps(codec: &'static str, sps: Sps) -> Self {
        Coded {
            codec,
            chroma_format: sps.chroma_format,
            bit_depth: sps.bit_depth,
            sar: sps.sar,
            full_range: sps.full_range,
            colour: sps.colour,
        }
    }
}

fn track_facts(trak: &[u8]) -> Option<VideoFacts> {
    let mdia = find(trak, b"mdia")?;
    let seconds = media_duration(find(mdia, b"mdhd")?)?;
    let stbl = path(mdia, &[b"minf", b"stbl"])?;
    let entry = children(find(stbl, b"stsd")?.get(8..)?).next()?;
    // VisualSampleEntry: 24 bytes of fields, width and height, 50 more bytes, then boxes.
    let (width, height) = (be16(entry.body, 24)? as u32, be16(entry.body, 26)? as u32);
    let inner = entry.body.get(78..)?;
    let coded = coded(&entry.kind, inner)?;
    let (container_range, container_colour) = colr(inner);
    let full_range = coded.full_range.or(container_range);
    let colour = coded.colour.or(container_colour);
    if coded.codec != "h264" && full_range.is_none() {
        return None;
    }
    let frames = be32(find(stbl, b"stsz")?, 8)?;
    if width == 0 || height == 0 || frames == 0 {
        return None;
    }
    let sar = pasp(inner).or(coded.sar).map(|(h, v)| h as f64 / v as f64);
    let sar = sar.filter(|r| (0.1..=10.0).contains(r)).unwrap_or(1.0);
    let rotation = rotation(find(trak, b"tkhd")?)?;
    let shown_w = ((width as f64 * sar).round() as u32).max(1);
    let (display_width, display_height) = if rotation % 180 == 90 {
        (height, shown_w)
    } else {
        (shown_w, height)
    };
    let fps = if seconds > 0.0 {
        frames as f64 / seconds
    } else {
        0.0
    };
    Some(VideoFacts {
        duration_seconds: seconds,
        width,
        height,
        display_width,
        display_height,
        codec: coded.codec.into(),
        frames_per_second: (fps * 1000.0).round() / 1000.0,
        rotation,
        pixel_format: pixel_format(&coded, full_range == Some(true)),
        transfer: transfer_name(colour.map(|c| c.1)).into(),
        color_space: matrix_name(colour.map(|c| c.2)).into(),
        color_range: match full_range {
            Some(true) => "pc",
            Some(false) => "tv",
            None => "",
        }
        .into(),
        sample_aspect: sar,
    })
}

fn coded(kind: &[u8; 4], inner: &[u8]) -> Option<Coded> {
    match kind {
        b"avc1" | b"avc3" => Some(Coded::from_sps(
            "h264",
            avc::from_avcc(find(inner, b"avcC")?)?,
        )),
        b"hvc1" | b"hev1" => Some(Coded::from_sps(
            "hevc",
            hevc::from_hvcc(find(inner, b"hvcC")?)?,
        )),
        // av1C byte 2: tier, high_bitdepth, twelve_bit, monochrome, subsampling x, y.
        b"av01" => {
            let b = *find(inner, b"av1C")?.get(2)?;
            let bit_depth = match (b & 0x40 != 0, b & 0x20 != 0) {
                (true, true) => 12,
                (true, false) => 10,
                _ => 8,
            };
            let chroma_format = match (b & 0x10 != 0, b & 0x08 != 0, b & 0x04 != 0) {
                (true, _, _) => 0,
                (false, true, true) => 1,
                (false, true, false) => 2,
                (false, false, _) => 3,
            };
            Some(unsignalled("av1", chroma_format, bit_depth))
        }
        _ => None,
    }
}

/// A codec whose range and colour live in parts of the stream this reader leaves to the
/// container's `colr` box.
fn unsignalled(codec: &'static str, chroma_format: u32, bit_depth: u32) -> Coded {
    Coded {
        codec,
        chroma_format,
        bit_depth,
        sar: None,
        full_range: None,
        colour: None,
    }
}

/// `colr`: `nclx` (ISO) states range and colour, `nclc` (QuickTime) colour only.
fn colr(inner: &[u8]) -> (Option<bool>, Option<(u8, u8, u8)>) {
    let Some(c) = find(inner, b"colr") else {
        return (None, None);
    };
    let code = |at| be16(c, at).map(|v| v.min(255) as u8);
    let colour = code(4)
        .zip(code(6))
        .zip(code(8))
        .map(|((p, t), m)| (p, t, m));
    match c.get(0..4) {
        Some(b"nclx") => (c.get(10).map(|b| b & 0x80 != 0), colour),
        Some(b"nclc") => (None, colour),
        _ => (None, None),
    }
}

fn pasp(inner: &[u8]) -> Option<(u32, u32)> {
    let p = find(inner, b"pasp")?;
    Some((be32(p, 0)?, be32(p, 4)?)).filter(|(h, v)| *h > 0 && *v > 0)
}

/// `mdhd`'s duration in seconds (0 when unknown).
fn media_duration(mdhd: &[u8]) -> Option<f64> {
    let (scale, units) = if *mdhd.first()? == 1 {
        let units = u64::from_be_bytes(mdhd.get(24..32)?.try_into().ok()?);
        (be32(mdhd, 20)?, units)
    } else {
        (be32(mdhd, 12)?, be32(mdhd, 16)? as u64)
    };
    let unknown = units == u32::MAX as u64 || units == u64::MAX;
    Some(if scale == 0 || unknown {
        0.0
    } else {
        units as f64 / scale as f64
    })
}

/// Clockwise quarter turns of `tkhd`'s display matrix, in degrees.
fn rotation(tkhd: &[u8]) -> Option<u32> {
    let m = if *tkhd.first()? == 1 { 52 } else { 40 };
    let a = be32(tkhd, m)? as i32 as f64;
    let b = be32(tkhd, m + 4)? as i32 as f64;
    let degrees = b.atan2(a).to_degrees();
    Some((((degrees / 90.0).round() as i64).rem_euclid(4) * 90) as u32)
}

/// ffmpeg's name for the decoder's output format (informational: it goes in the facts).
fn pixel_format(c: &Coded, full_range: bool) -> String {
    let layout = match c.chroma_format {
        // ffmpeg's H.264 decoder gives monochrome streams neutral chroma planes.
        0 if c.codec == "h264" => "420",
        0 => {
            return if c.bit_depth > 8 {
                format!("gray{}le", c.bit_depth)
            } else {
                "gray".into()
            }
        }
        1 => "420",
        2 => "422",
        _ => "444",
    };
    match c.bit_depth {
        // ffmpeg's H.264 decoder names full-range 8-bit output `yuvj…`; HEVC's only 4:2:0.
        8 if full_range && (c.codec == "h264" || c.codec == "hevc" && layout == "420") => {
            format!("yuvj{layout}p")
        }
        8 => format!("yuv{layout}p"),
        d => format!("yuv{layout}p{d}le"),
    }
}

/// ISO/IEC 23091-2 transfer characteristics, named as ffprobe names them (unstated: "").
fn transfer_name(code: Option<u8>) -> &'static str {
    match code {
        Some(1) => "bt709",
        Some(4) => "bt470m",
        Some(5) => "bt470bg",
        Some(6) => "smpte170m",
        Some(7) => "smpte240m",
        Some(8) => "linear",
        Some(13) => "iec61966-2-1",
        Some(14) => "bt2020-10",
        Some(15) => "bt2020-12",
        Some(16) => "smpte2084",
        Some(9) => "log100",
        Some(10) => "log316",
        Some(11) => "iec61966-2-4",
        Some(12) => "bt1361e",
        Some(17) => "smpte428",
        Some(18) => "arib-std-b67",
        None | Some(2) => "",
        _ => "unknown",
    }
}

/// ISO/IEC 23091-2 matrix coefficients, named as ffprobe names them.
fn matrix_name(code: Option<u8>) -> &'static str {
    match code {
        Some(0) => "gbr",
        Some(1) => "bt709",
        Some(5) => "bt470bg",
        Some(6) => "smpte170m",
        Some(7) => "smpte240m",
        Some(9) => "bt2020nc",
        Some(10) => "bt2020c",
        Some(4) => "fcc",
        Some(8) => "ycgco",
        Some(11) => "smpte2085",
        Some(12) => "chroma-derived-nc",
        Some(13) => "chroma-derived-c",
        Some(14) => "ictcp",
        None | Some(2) => "",
        _ => "unknown",
    }
}
