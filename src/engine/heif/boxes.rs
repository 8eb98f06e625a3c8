//! Just enough ISO BMFF box reading for what libheif 1.15 does not tell: the primary item's
//! `irot` and `ispe` (its handle reports an AV1 image's size before rotation, an HEVC
//! one's after), and the tracks of an image sequence (`sequence.rs`). Every length is
//! checked against its parent; a box that does not fit ends the walk.

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

/// The primary item's `ispe` size and `irot` angle (0..=3 quarter turns anticlockwise).
pub fn primary_geometry(file: &[u8]) -> Option<((u32, u32), u8)> {
    let meta = find(file, b"meta")?.get(4..)?;
    let pitm = find(meta, b"pitm")?;
    let primary = if pitm.first()? == &0 {
        be16(pitm, 4)? as u32
    } else {
        be32(pitm, 4)?
    };
    let iprp = find(meta, b"iprp")?;
    let props: Vec<Box> = children(find(iprp, b"ipco")?).collect();
    let mut ispe = None;
    let mut irot = 0;
    for index in associations(find(iprp, b"ipma")?, primary)? {
        let Some(p) = index.checked_sub(1).and_then(|i| props.get(i)) else {
            continue;
        };
        match &p.kind {
            b"ispe" => ispe = Some((be32(p.body, 4)?, be32(p.body, 8)?)),
            b"irot" => irot = p.body.first()? & 3,
            _ => {}
        }
    }
    Some((ispe?, irot))
}

/// The property indices (1-based) `ipma` associates with `item`.
fn associations(ipma: &[u8], item: u32) -> Option<Vec<usize>> {
    let (version, flags) = (*ipma.first()?, *ipma.get(3)?);
    let count = be32(ipma, 4)?;
    let mut at = 8;
    for _ in 0..count {
        let id = if version < 1 {
            at += 2;
            be16(ipma, at - 2)? as u32
        } else {
            at += 4;
            be32(ipma, at - 4)?
        };
        let n = *ipma.get(at)? as usize;
        at += 1;
        let wide = flags & 1 == 1;
        let mut indices = Vec::with_capacity(n);
        for _ in 0..n {
            let index = if wide {
                at += 2;
                (be16(ipma, at - 2)? & 0x7FFF) as usize
            } else {
                at += 1;
                (ipma.get(at - 1)? & 0x7F) as usize
            };
            indices.push(index);
        }
        if id == item {
            return Some(indices);
        }
    }
    None
}
