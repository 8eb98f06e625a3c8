//! What libheif 1.15 does not tell, read from the boxes ([`crate::media::boxes`]): the
//! primary item's `irot` and `ispe` (its handle reports an AV1 image's size before
//! rotation, an HEVC one's after). `sequence.rs` reads the tracks of image sequences.

pub use crate::media::boxes::{be16, be32, children, find, path, Box};

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
