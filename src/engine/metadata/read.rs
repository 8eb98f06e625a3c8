//! The source's metadata blocks, found by walking its container: JPEG segments (APP1 Exif
//! and XMP, APP13 Photoshop/IPTC, APP2 ICC chunks), PNG chunks (`eXIf`, `iTXt`
//! `XML:com.adobe.xmp`, `iCCP`), WebP RIFF chunks (`EXIF`, `XMP `, `ICCP`) and TIFF's IFD0
//! (the file is its own EXIF; XMP, IPTC and ICC tags). Other formats give none.
//!
//! Only called when a transform keeps something, so the default (strip) path never pays.
//! Nothing here fails: a block that is malformed, or larger than the metadata limit, is
//! left out.

use std::borrow::Cow;
use std::io::Read;

use super::exif::Exif;
use super::iptc;

/// The raw blocks of one source.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Blocks<'a> {
    /// A TIFF structure (for a TIFF source, the file itself).
    pub exif: Option<Cow<'a, [u8]>>,
    /// An XMP packet (UTF-8 XML).
    pub xmp: Option<Cow<'a, [u8]>>,
    /// IPTC IIM datasets.
    pub iptc: Option<Cow<'a, [u8]>>,
    pub icc: Option<Cow<'a, [u8]>>,
}

const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const PNG_SIG: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The blocks of `bytes`, whatever container it is (sniffed, not taken from the media
/// type: a camera RAW's source bytes are its embedded JPEG). Blocks over `max` are dropped.
pub fn read(bytes: &[u8], max: u64) -> Blocks<'_> {
    let mut b = match bytes {
        [0xFF, 0xD8, ..] => jpeg(bytes),
        b if b.starts_with(PNG_SIG) => png(bytes, max),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => webp(bytes),
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => tiff(bytes),
        _ => Blocks::default(),
    };
    let fits = |x: &Option<Cow<[u8]>>| x.as_ref().is_some_and(|v| v.len() as u64 <= max);
    if !fits(&b.xmp) {
        b.xmp = None;
    }
    if !fits(&b.iptc) {
        b.iptc = None;
    }
    if !fits(&b.icc) {
        b.icc = None;
    }
    b
}

/// Strips the `Exif\0\0` some writers put before the TIFF header in PNG and WebP too.
fn tiff_start(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"Exif\0\0").unwrap_or(b)
}

fn jpeg(bytes: &[u8]) -> Blocks<'_> {
    let mut out = Blocks::default();
    let mut icc: Vec<(u8, u8, &[u8])> = Vec::new();
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            break;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF || marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            at += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break; // the scan: metadata comes before it
        }
        let len = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
        let Some(seg) = bytes.get(at + 4..at + 2 + len.max(2)) else {
            break;
        };
        match marker {
            0xE1 if seg.starts_with(b"Exif\0\0") && out.exif.is_none() => {
                out.exif = Some(Cow::Borrowed(&seg[6..]));
            }
            0xE1 if seg.starts_with(XMP_SIG) && out.xmp.is_none() => {
                out.xmp = Some(Cow::Borrowed(&seg[XMP_SIG.len()..]));
            }
            0xED if out.iptc.is_none() => {
                out.iptc = seg
                    .strip_prefix(b"Photoshop 3.0\0")
                    .and_then(iptc::from_photoshop)
                    .map(Cow::Borrowed);
            }
            0xE2 if seg.starts_with(b"ICC_PROFILE\0") && seg.len() > 14 => {
                icc.push((seg[12], seg[13], &seg[14..]));
            }
            _ => {}
        }
        at += 2 + len;
    }
    out.icc = icc_from_chunks(icc).map(Cow::Owned);
    out
}

/// An ICC profile from its APP2 chunks (1-based sequence numbers, `count` of them), if
/// every chunk is there exactly once.
fn icc_from_chunks(mut chunks: Vec<(u8, u8, &[u8])>) -> Option<Vec<u8>> {
    let count = chunks.first()?.1;
    chunks.sort_by_key(|c| c.0);
    let complete = chunks.len() == count as usize
        && chunks
            .iter()
            .enumerate()
            .all(|(i, c)| c.0 as usize == i + 1 && c.1 == count);
    complete.then(|| chunks.iter().flat_map(|c| c.2.iter().copied()).collect())
}

/// zlib data inflated, refused past `max` bytes.
fn inflate(data: &[u8], max: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut z = flate2::read::ZlibDecoder::new(data).take(max + 1);
    z.read_to_end(&mut out).ok()?;
    (out.len() as u64 <= max).then_some(out)
}

fn png(bytes: &[u8], max: u64) -> Blocks<'_> {
    let mut out = Blocks::default();
    let mut at = 8;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(data) = bytes.get(at + 8..(at + 8).saturating_add(len)) else {
            break;
        };
        match &head[4..8] {
            b"eXIf" if out.exif.is_none() => out.exif = Some(Cow::Borrowed(tiff_start(data))),
            b"iCCP" if out.icc.is_none() => {
                let name_end = data.iter().position(|&c| c == 0);
                out.icc = name_end
                    .and_then(|n| data.get(n + 2..))
                    .and_then(|z| inflate(z, max))
                    .map(Cow::Owned);
            }
            b"iTXt" if out.xmp.is_none() => out.xmp = png_xmp(data, max),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    out
}

/// The text of an `iTXt` chunk keyed `XML:com.adobe.xmp`, inflated if compressed.
fn png_xmp(data: &[u8], max: u64) -> Option<Cow<'_, [u8]>> {
    let rest = data.strip_prefix(b"XML:com.adobe.xmp\0")?;
    let (&compressed, rest) = rest.split_first()?;
    let rest = rest.get(1..)?; // compression method
    let lang_end = rest.iter().position(|&c| c == 0)?;
    let rest = &rest[lang_end + 1..];
    let translated_end = rest.iter().position(|&c| c == 0)?;
    let text = &rest[translated_end + 1..];
    match compressed {
        0 => Some(Cow::Borrowed(text)),
        _ => inflate(text, max).map(Cow::Owned),
    }
}

fn webp(bytes: &[u8]) -> Blocks<'_> {
    let mut out = Blocks::default();
    let mut at = 12;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let Some(data) = bytes.get(at + 8..(at + 8).saturating_add(len)) else {
            break;
        };
        match &head[..4] {
            b"EXIF" => out.exif = Some(Cow::Borrowed(tiff_start(data))),
            b"XMP " => out.xmp = Some(Cow::Borrowed(data)),
            b"ICCP" => out.icc = Some(Cow::Borrowed(data)),
            _ => {}
        }
        at += 8 + len + len % 2;
    }
    out
}

/// TIFF tags of IFD0 that hold the other blocks.
const TIFF_XMP: u16 = 700;
const TIFF_IPTC: u16 = 33723;
const TIFF_ICC: u16 = 34675;

fn tiff(bytes: &[u8]) -> Blocks<'_> {
    let Some(e) = Exif::parse(bytes) else {
        return Blocks::default();
    };
    let raw = |tag| e.raw(tag).map(|v| Cow::Owned(v.to_vec()));
    Blocks {
        xmp: raw(TIFF_XMP),
        iptc: raw(TIFF_IPTC),
        icc: raw(TIFF_ICC),
        exif: Some(Cow::Borrowed(bytes)),
    }
}
