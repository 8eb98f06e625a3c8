//! Reading ISO base media file format boxes (MP4, QuickTime, HEIF, AVIF) from bytes in
//! memory. Every length is checked against its parent; a box that does not fit ends the
//! walk, so hostile sizes give "not found", never an out-of-range read.

/// One box: its type and payload (after the header).
#[derive(Clone, Copy)]
pub struct Box<'a> {
    pub kind: [u8; 4],
    pub body: &'a [u8],
}

/// The boxes directly inside `data`, in order; stops at the first malformed header.
pub fn children(data: &[u8]) -> impl Iterator<Item = Box<'_>> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let rest = data.get(at..)?;
        let size = u32::from_be_bytes(rest.get(0..4)?.try_into().ok()?) as u64;
        let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, rest.len() as u64),
            1 => (16, u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)),
            s => (8, s),
        };
        let size = usize::try_from(size).ok().filter(|s| *s >= header)?;
        let body = rest.get(header..size)?;
        at += size;
        Some(Box { kind, body })
    })
}

/// The first child of type `kind`.
pub fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(data).find(|b| &b.kind == kind).map(|b| b.body)
}

/// A path of nested boxes, e.g. `[b"moov", b"trak"]`.
pub fn path<'a>(data: &'a [u8], kinds: &[&[u8; 4]]) -> Option<&'a [u8]> {
    kinds.iter().try_fold(data, |d, k| find(d, k))
}

pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
