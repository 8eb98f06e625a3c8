//! IPTC IIM: the datasets (`0x1C record dataset length value`) a JPEG carries inside its
//! APP13 Photoshop resource block (resource 0x0404), filtered dataset by dataset.
//!
//! Only the IPTC resource is read and written: the block's other Photoshop resources
//! include thumbnails (0x0409, 0x040C) and Photoshop's own state, which the output does
//! not want.

/// The datasets kept by `metadata = "copyright"`: the coded character set (1:90, so the
/// text decodes as it did), the record version (2:00), 2:80 by-line, 2:110 credit and
/// 2:116 copyright notice.
const RIGHTS: &[(u8, u8)] = &[(1, 90), (2, 0), (2, 80), (2, 110), (2, 116)];
/// The datasets that carry rights themselves (not just how to read them).
const RIGHTS_PROPER: &[(u8, u8)] = &[(2, 80), (2, 110), (2, 116)];
const IPTC_RESOURCE: u16 = 0x0404;

/// The IPTC resource's data in a Photoshop image-resource block (after
/// `Photoshop 3.0\0`), if there is one and the resources before it are well formed.
pub fn from_photoshop(mut b: &[u8]) -> Option<&[u8]> {
    while b.len() >= 12 {
        if &b[..4] != b"8BIM" {
            return None;
        }
        let id = u16::from_be_bytes([b[4], b[5]]);
        let name_len = 1 + b[6] as usize; // a Pascal string, padded to an even length
        let rest = b.get(6 + name_len + name_len % 2..)?;
        let size = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let data = rest.get(4..4usize.checked_add(size)?)?;
        if id == IPTC_RESOURCE {
            return Some(data);
        }
        b = rest.get(4 + size + size % 2..)?;
    }
    None
}

/// One dataset: its (record, dataset) number and its whole bytes (header included).
type Dataset<'a> = ((u8, u8), &'a [u8]);

/// Every dataset of `iim`, in order; `None` if any is malformed.
fn datasets(iim: &[u8]) -> Option<Vec<Dataset<'_>>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < iim.len() {
        if iim[at] != 0x1C {
            // Some writers pad the resource with NULs.
            return iim[at..].iter().all(|&b| b == 0).then_some(out);
        }
        let head = iim.get(at..at + 5)?;
        let short = u16::from_be_bytes([head[3], head[4]]) as usize;
        let (len, header) = if short & 0x8000 == 0 {
            (short, 5)
        } else {
            // Extended length: the next `short & 0x7FFF` bytes are the length.
            let n = short & 0x7FFF;
            if n == 0 || n > 4 {
                return None;
            }
            let bytes = iim.get(at + 5..at + 5 + n)?;
            let len = bytes.iter().fold(0usize, |l, &b| l << 8 | b as usize);
            (len, 5 + n)
        };
        let end = (at + header).checked_add(len)?;
        out.push(((head[1], head[2]), iim.get(at..end)?));
        at = end;
    }
    Some(out)
}

/// The datasets `rights_only` keeps (all of them otherwise), re-joined; `None` when the
/// block is malformed or nothing worth writing is left.
pub fn filter(iim: &[u8], rights_only: bool) -> Option<Vec<u8>> {
    let all = datasets(iim)?;
    let kept: Vec<_> = all
        .into_iter()
        .filter(|(id, _)| !rights_only || RIGHTS.contains(id))
        .collect();
    let worth = kept
        .iter()
        .any(|(id, _)| !rights_only || RIGHTS_PROPER.contains(id));
    worth.then(|| kept.iter().flat_map(|(_, d)| d.iter().copied()).collect())
}

/// An APP13 payload holding `iim` as the only resource.
pub fn to_photoshop(iim: &[u8]) -> Vec<u8> {
    let mut out = b"Photoshop 3.0\08BIM".to_vec();
    out.extend_from_slice(&IPTC_RESOURCE.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // empty name, padded
    out.extend_from_slice(&(iim.len() as u32).to_be_bytes());
    out.extend_from_slice(iim);
    if iim.len() % 2 == 1 {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(record: u8, dataset: u8, value: &[u8]) -> Vec<u8> {
        let mut d = vec![0x1C, record, dataset];
        d.extend_from_slice(&(value.len() as u16).to_be_bytes());
        d.extend_from_slice(value);
        d
    }

    #[test]
    fn rights_keeps_charset_byline_credit_copyright() {
        let iim = [
            ds(1, 90, b"\x1b%G"),
            ds(2, 0, b"\0\x04"),
            ds(2, 5, b"Title"),
            ds(2, 80, b"Ann"),
            ds(2, 116, b"(c) Ann"),
            ds(2, 25, b"keyword"),
        ]
        .concat();
        let kept = filter(&iim, true).unwrap();
        let want = [
            ds(1, 90, b"\x1b%G"),
            ds(2, 0, b"\0\x04"),
            ds(2, 80, b"Ann"),
            ds(2, 116, b"(c) Ann"),
        ];
        assert_eq!(kept, want.concat());
        assert_eq!(filter(&iim, false).unwrap(), iim);
        assert_eq!(filter(&ds(2, 5, b"Title"), true), None);
    }

    #[test]
    fn photoshop_block_round_trips_and_hostile_blocks_are_refused() {
        let iim = ds(2, 116, b"(c)");
        let app13 = to_photoshop(&iim);
        let irb = app13.strip_prefix(b"Photoshop 3.0\0").unwrap();
        assert_eq!(from_photoshop(irb), Some(&iim[..]));
        for bad in [
            &b"8BIM\x04\x04\xff"[..],
            b"8BIM\x04\x04\0\0\xff\xff\xff\xff",
            b"XXXX0000000000",
        ] {
            assert_eq!(from_photoshop(bad), None);
        }
        let mut truncated = ds(2, 116, b"(c) Ann");
        truncated.pop();
        assert_eq!(filter(&truncated, false), None);
        assert_eq!(filter(&[0x1C, 2, 116, 0x80, 0x09], false), None);
        assert_eq!(filter(&[0x1C, 2, 116, 0x80, 0x02, 0xff, 0xff], false), None);
        let padded = [ds(2, 116, b"c"), vec![0, 0, 0]].concat();
        assert_eq!(filter(&padded, true), Some(ds(2, 116, b"c")));
    }
}
