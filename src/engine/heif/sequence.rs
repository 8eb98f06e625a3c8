//! Animated AVIF (and HEVC image sequences): libheif 1.15 reads only still items, and an
//! `avis` file whose only picture is a track ("no supported brands") it refuses. derivd
//! renders the first frame of animations, so the first sample of the first picture track is
//! rewrapped as a still image file (one item: the track's `av1C`/`hvcC` and `colr` as its
//! properties, the sample as its data) and that goes to libheif. Only boxes are read here;
//! every offset is checked against the file, so a bad table gives "not a sequence" or a
//! typed error, never an out-of-range read.

use super::boxes::{be32, children, find, path};
use crate::engine::EngineError;

/// The first frame of a track, as found.
struct Frame<'a> {
    item_type: &'static [u8; 4],
    width: u32,
    height: u32,
    /// The sample entry's property boxes to carry over, whole (header included).
    properties: Vec<Vec<u8>>,
    data: &'a [u8],
}

/// Brands libheif 1.15 needs among the compatible ones before it reads a file.
const READABLE: [&[u8; 4]; 5] = [b"mif1", b"heic", b"heix", b"avif", b"jpeg"];

/// `Some(file libheif reads)` for an image sequence; `None` for anything else.
///
/// A sequence that also has a still item (the poster, as `avifenc` writes it) only needs a
/// brand libheif accepts: `msf1` (or the last compatible brand) is overwritten in place
/// with `mif1`, so no offset moves. One without a still item gets its first frame rewrapped.
pub fn first_frame_as_still(file: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
    let Some(moov) = find(file, b"moov") else {
        return Ok(None);
    };
    let has_still =
        find(file, b"meta").is_some_and(|m| m.len() > 4 && find(&m[4..], b"pitm").is_some());
    if has_still {
        return Ok(with_still_brand(file));
    }
    let frame = children(moov)
        .filter(|b| &b.kind == b"trak")
        .find_map(|t| first_frame(file, t.body))
        .ok_or_else(|| {
            EngineError::UnsupportedFormat(
                "image sequence without an AV1 or HEVC picture track".into(),
            )
        })?;
    Ok(Some(still(&frame)))
}

/// The file with `mif1` among its compatible brands, or `None` when it already has one
/// libheif reads (or no `ftyp` to patch).
fn with_still_brand(file: &[u8]) -> Option<Vec<u8>> {
    let first = children(file).next().filter(|b| &b.kind == b"ftyp")?;
    // The payload starts 8 bytes in (a 32-bit size): major, minor, compatible brands.
    let compatible = first.body.get(8..)?;
    if compatible
        .chunks_exact(4)
        .any(|b| READABLE.iter().any(|r| &r[..] == b))
    {
        return None;
    }
    let slots = compatible.len() / 4;
    let slot = (0..slots)
        .find(|i| &compatible[i * 4..i * 4 + 4] == b"msf1")
        .or(slots.checked_sub(1))?;
    let mut patched = file.to_vec();
    let at = 8 + 8 + slot * 4;
    patched[at..at + 4].copy_from_slice(b"mif1");
    Some(patched)
}

/// The first sample of a picture track (`pict`/`vide` handler, `av01` or `hvc1` entry).
fn first_frame<'a>(file: &'a [u8], trak: &'a [u8]) -> Option<Frame<'a>> {
    let mdia = find(trak, b"mdia")?;
    let handler = find(mdia, b"hdlr")?.get(8..12)?;
    if handler != b"pict" && handler != b"vide" {
        return None;
    }
    let stbl = path(mdia, &[b"minf", b"stbl"])?;
    let stsd = find(stbl, b"stsd")?;
    let entry = children(stsd.get(8..)?).next()?;
    let (item_type, config): (&'static [u8; 4], &[u8; 4]) = match &entry.kind {
        b"av01" => (b"av01", b"av1C"),
        b"hvc1" => (b"hvc1", b"hvcC"),
        _ => return None,
    };
    // VisualSampleEntry: 24 bytes of fields, width and height (u16), then 50 more bytes.
    let width = super::boxes::be16(entry.body, 24)? as u32;
    let height = super::boxes::be16(entry.body, 26)? as u32;
    let wanted = [config, b"colr"];
    let properties: Vec<Vec<u8>> = children(entry.body.get(78..)?)
        .filter(|b| wanted.contains(&&b.kind))
        .map(|b| boxed(&b.kind, b.body))
        .collect();
    if properties.first().map(|p| &p[4..8]) != Some(&config[..]) {
        return None;
    }
    let data = first_sample(file, stbl)?;
    Some(Frame {
        item_type,
        width,
        height,
        properties,
        data,
    })
}

/// The bytes of sample 1: at the first chunk's offset, `stsz`'s first size long.
fn first_sample<'a>(file: &'a [u8], stbl: &[u8]) -> Option<&'a [u8]> {
    let stsz = find(stbl, b"stsz")?;
    let size = match be32(stsz, 4)? {
        0 => be32(stsz, 12)?,
        fixed => fixed,
    } as usize;
    let offset = if let Some(stco) = find(stbl, b"stco") {
        be32(stco, 8)? as usize
    } else {
        let co64 = find(stbl, b"co64")?;
        usize::try_from(u64::from_be_bytes(co64.get(8..16)?.try_into().ok()?)).ok()?
    };
    file.get(offset..offset.checked_add(size)?)
}

/// A box: 32-bit size, type, body.
fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + body.len());
    b.extend_from_slice(&(8 + body.len() as u32).to_be_bytes());
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// A full box: version 0, no flags.
fn full(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    boxed(kind, &[&[0u8; 4][..], body].concat())
}

/// `meta` for one item whose data is at `offset` (absolute), `len` bytes.
fn meta(f: &Frame, offset: u32) -> Vec<u8> {
    let hdlr = full(b"hdlr", &[&[0; 4][..], b"pict", &[0; 13]].concat());
    let pitm = full(b"pitm", &1u16.to_be_bytes());
    let len = (f.data.len() as u32).to_be_bytes();
    let iloc_body = [
        &[0x44, 0, 0, 1, 0, 1, 0, 0, 0, 1][..],
        &offset.to_be_bytes(),
        &len,
    ]
    .concat();
    let infe = boxed(
        b"infe",
        &[&[2, 0, 0, 0, 0, 1, 0, 0][..], f.item_type, &[0]].concat(),
    );
    let iinf = full(b"iinf", &[&[0, 1][..], &infe].concat());
    let ispe = full(
        b"ispe",
        &[f.width.to_be_bytes(), f.height.to_be_bytes()].concat(),
    );
    let mut ipco = ispe;
    // ipma: item 1, ispe (1) then each carried property (2…), the codec config essential.
    let mut assoc = vec![0, 0, 0, 1, 0, 1, 1 + f.properties.len() as u8, 1];
    for (i, p) in f.properties.iter().enumerate() {
        ipco.extend_from_slice(p);
        assoc.push(if i == 0 { 0x80 } else { 0 } | (2 + i as u8));
    }
    let iprp = boxed(
        b"iprp",
        &[boxed(b"ipco", &ipco), full(b"ipma", &assoc)].concat(),
    );
    full(
        b"meta",
        &[hdlr, pitm, full(b"iloc", &iloc_body), iinf, iprp].concat(),
    )
}

/// The still file: `ftyp`, `meta`, `mdat` holding the one sample.
fn still(f: &Frame) -> Vec<u8> {
    let brand: &[u8; 4] = if f.item_type == b"av01" {
        b"avif"
    } else {
        b"heic"
    };
    let ftyp = boxed(
        b"ftyp",
        &[&brand[..], &[0; 4], brand, b"mif1", b"miaf"].concat(),
    );
    let meta_len = meta(f, 0).len();
    let offset = (ftyp.len() + meta_len + 8) as u32;
    [ftyp, meta(f, offset), boxed(b"mdat", f.data)].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_without_a_track_are_left_alone() {
        assert_eq!(first_frame_as_still(b"").unwrap(), None);
        let no_picture = boxed(b"moov", &boxed(b"trak", &[]));
        assert!(first_frame_as_still(&no_picture).is_err());
    }

    #[test]
    fn a_sequence_with_a_poster_item_gets_a_brand_libheif_reads() {
        let ftyp = boxed(b"ftyp", b"avis\0\0\0\0avismsf1miaf");
        let meta = full(b"meta", &full(b"pitm", &[0, 1]));
        let file = [ftyp, meta, boxed(b"moov", &[])].concat();
        let patched = first_frame_as_still(&file).unwrap().expect("patched");
        assert_eq!(patched.len(), file.len());
        assert_eq!(&patched[16..28], b"avismif1miaf");
        // Already readable: left alone.
        assert_eq!(first_frame_as_still(&patched).unwrap(), None);
    }
}
