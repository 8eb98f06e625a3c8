//! Putting blocks into an encoded output, by splicing the container: JPEG segments after
//! SOI (and JFIF's APP0), PNG chunks after IHDR, WebP chunks around a new VP8X header.
//!
//! A block too large for its container (a JPEG segment holds 65,533 bytes; ICC is split
//! into APP2 chunks, the others are not) is left out rather than written broken.

use super::Embed;

const SEGMENT_MAX: usize = 65_533;

fn segment(marker: u8, parts: &[&[u8]]) -> Option<Vec<u8>> {
    let len: usize = 2 + parts.iter().map(|p| p.len()).sum::<usize>();
    if len > SEGMENT_MAX + 2 {
        return None;
    }
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&(len as u16).to_be_bytes());
    parts.iter().for_each(|p| s.extend_from_slice(p));
    Some(s)
}

/// ICC profiles are split into APP2 chunks of at most 65,519 bytes (255 of them at most).
fn icc_segments(icc: &[u8]) -> Vec<Vec<u8>> {
    const CHUNK: usize = SEGMENT_MAX - 14;
    let chunks: Vec<&[u8]> = icc.chunks(CHUNK).collect();
    if chunks.len() > 255 {
        return Vec::new();
    }
    let n = chunks.len() as u8;
    (1..=n)
        .zip(&chunks)
        .filter_map(|(i, c)| segment(0xE2, &[b"ICC_PROFILE\0", &[i, n], c]))
        .collect()
}

pub fn jpeg(out: &[u8], e: &Embed) -> Vec<u8> {
    let mut segs: Vec<Vec<u8>> = Vec::new();
    if let Some(x) = &e.exif {
        segs.extend(segment(0xE1, &[b"Exif\0\0", x]));
    }
    if let Some(x) = &e.xmp {
        segs.extend(segment(0xE1, &[b"http://ns.adobe.com/xap/1.0/\0", x]));
    }
    if let Some(i) = &e.iptc {
        segs.extend(segment(0xED, &[&super::iptc::to_photoshop(i)]));
    }
    if let Some(icc) = &e.icc {
        segs.extend(icc_segments(icc));
    }
    // After SOI, and after the JFIF APP0 when the encoder wrote one (it must come first).
    let mut at = 2;
    if out.get(2..4) == Some(&[0xFF, 0xE0]) {
        at += 2 + out
            .get(4..6)
            .map_or(0, |l| u16::from_be_bytes([l[0], l[1]]) as usize);
    }
    let at = at.min(out.len());
    let mut v = Vec::with_capacity(out.len() + segs.iter().map(Vec::len).sum::<usize>());
    v.extend_from_slice(&out[..at]);
    segs.iter().for_each(|s| v.extend_from_slice(s));
    v.extend_from_slice(&out[at..]);
    v
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    c.extend_from_slice(&crc.sum().to_be_bytes());
    c
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

pub fn png(out: &[u8], e: &Embed) -> Vec<u8> {
    let mut chunks = Vec::new();
    if let Some(icc) = &e.icc {
        chunks.extend(png_chunk(b"iCCP", &[b"icc\0\0", &zlib(icc)[..]].concat()));
    }
    if let Some(x) = &e.exif {
        chunks.extend(png_chunk(b"eXIf", x));
    }
    if let Some(x) = &e.xmp {
        // Uncompressed, as the XMP spec asks (readers scan for the packet).
        chunks.extend(png_chunk(
            b"iTXt",
            &[b"XML:com.adobe.xmp\0\0\0\0\0", &x[..]].concat(),
        ));
    }
    // IHDR is always the first chunk: 8 signature + 8 header + 13 data + 4 CRC.
    let at = 33.min(out.len());
    [&out[..at], &chunks, &out[at..]].concat()
}

/// A WebP with the blocks: `VP8X` (flags, canvas size), `ICCP`, the image chunks as the
/// encoder wrote them, `EXIF`, `XMP `. IPTC has no place in WebP and is left out.
pub fn webp(out: &[u8], e: &Embed, (w, h): (u32, u32)) -> Vec<u8> {
    let mut image = Vec::new();
    let mut alpha = false;
    let mut at = 12;
    while let Some(head) = out.get(at..at + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let end = (at + 8 + len + len % 2).min(out.len());
        match &head[..4] {
            b"VP8X" => {}
            kind => {
                alpha |= kind == b"ALPH" || kind == b"VP8L";
                image.extend_from_slice(&out[at..end]);
            }
        }
        at = end;
    }
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let flags = u8::from(e.icc.is_some()) << 5
        | u8::from(alpha) << 4
        | u8::from(e.exif.is_some()) << 3
        | u8::from(e.xmp.is_some()) << 2;
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    if let Some(icc) = &e.icc {
        body.extend(chunk(b"ICCP", icc));
    }
    body.extend_from_slice(&image);
    if let Some(x) = &e.exif {
        body.extend(chunk(b"EXIF", x));
    }
    if let Some(x) = &e.xmp {
        body.extend(chunk(b"XMP ", x));
    }
    let mut riff = b"RIFF".to_vec();
    riff.extend_from_slice(&(body.len() as u32).to_le_bytes());
    riff.extend_from_slice(&body);
    riff
}
