//! Previews in Canon CR3, an ISO BMFF file: the `THMB` thumbnail (160 × 120) inside
//! `moov`'s Canon `uuid` box, and the `PRVW` preview (1620 × 1080 on current bodies)
//! inside the top-level preview `uuid` box. Orientation comes from `CMT1`, a TIFF IFD0.

use super::{jpeg_size, Preview};
use crate::media::boxes::{children, Box};
use crate::media::ifd::Tiff;

/// `moov/uuid` holding CNCV, CMT1..4 and THMB.
const CANON_UUID: [u8; 16] = *b"\x85\xc0\xb6\x87\x82\x0f\x11\xe0\x81\x11\xf4\xce\x46\x2b\x6a\x48";
/// The top-level box holding PRVW (after 8 bytes of its own).
const PREVIEW_UUID: [u8; 16] = *b"\xea\xf4\x2b\x5e\x1c\x98\x4b\x88\xb9\xfb\xb7\xdc\x40\x6e\x4d\x16";
/// How far into a THMB/PRVW payload the JPEG may start (their headers are 12–16 bytes).
const JPEG_WITHIN: usize = 32;
/// Most boxes read (a CR3 has about 60).
const MAX_BOXES: usize = 4096;

/// The boxes in `b`, in order, at most [`MAX_BOXES`]; stops at the first that does not fit.
fn boxes(b: &[u8]) -> impl Iterator<Item = Box<'_>> {
    children(b).take(MAX_BOXES)
}

/// Every preview candidate (THMB, PRVW) and CMT1's orientation.
pub fn previews(bytes: &[u8]) -> (Vec<Preview<'_>>, Option<u8>) {
    let mut found = Vec::new();
    let mut orientation = None;
    for top in boxes(bytes) {
        match (&top.kind, top.body.get(0..16)) {
            (b"moov", _) => {
                for uuid in boxes(top.body).filter(|b| &b.kind == b"uuid") {
                    if uuid.body.get(0..16) != Some(&CANON_UUID[..]) {
                        continue;
                    }
                    for inner in boxes(&uuid.body[16..]) {
                        match &inner.kind {
                            b"THMB" => found.extend(jpeg_in(inner.body)),
                            b"CMT1" => orientation = cmt1_orientation(inner.body),
                            _ => {}
                        }
                    }
                }
            }
            (b"uuid", Some(id)) if id == PREVIEW_UUID => {
                let inner = top.body.get(24..).unwrap_or_default();
                let prvw = boxes(inner).filter(|b| &b.kind == b"PRVW");
                found.extend(prvw.filter_map(|b| jpeg_in(b.body)));
            }
            _ => {}
        }
    }
    (found, orientation)
}

/// The JPEG a THMB/PRVW payload carries after its small header.
fn jpeg_in(payload: &[u8]) -> Option<Preview<'_>> {
    let head = &payload[..payload.len().min(JPEG_WITHIN)];
    let at = memchr::memmem::find(head, &[0xFF, 0xD8, 0xFF])?;
    let jpeg = &payload[at..];
    jpeg_size(jpeg).map(|_| Preview::Jpeg(jpeg))
}

fn cmt1_orientation(payload: &[u8]) -> Option<u8> {
    let tiff = Tiff::new(payload)?;
    let ifd0 = tiff.ifd(tiff.first_ifd()?)?;
    let o = tiff.value(ifd0.get(0x0112)?, 0)?;
    u8::try_from(o).ok()
}
