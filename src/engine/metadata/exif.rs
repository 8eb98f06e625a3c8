//! EXIF (a TIFF structure: header, IFD0, the Exif and GPS sub-IFDs) read with bounds checks
//! and written fresh, never edited in place.
//!
//! Reading follows exactly IFD0 → Exif IFD and IFD0 → GPS IFD, one level each, so a
//! pointer loop cannot make it spin; IFD1 (the embedded thumbnail) is never read. Any
//! offset or count that leaves the block makes the whole block unusable (`None`): the
//! output then has no EXIF, and the job goes on.
//!
//! Writing keeps the source's byte order (values are copied as stored), sorts each IFD by
//! tag as TIFF asks, word-aligns values, and always sets Orientation = 1: the pixels the
//! EXIF travels with are already upright.

/// What the rewrite keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// IFD0's Copyright and Artist only.
    Rights,
    /// Everything but the pixel-structure tags, the thumbnail, the maker note and the
    /// interoperability IFD; the GPS IFD when `gps`.
    All { gps: bool },
}

/// One IFD entry, its value as the source's bytes (in the source's byte order).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    value: Vec<u8>,
}

/// More entries than any real IFD has (cameras write ~60): a count beyond is corruption.
const MAX_ENTRIES: usize = 1000;

pub const ORIENTATION: u16 = 0x0112;
pub const ARTIST: u16 = 0x013B;
pub const COPYRIGHT: u16 = 0x8298;
const EXIF_IFD: u16 = 0x8769;
const GPS_IFD: u16 = 0x8825;
const INTEROP_IFD: u16 = 0xA005;
const MAKER_NOTE: u16 = 0x927C;
const SHORT: u16 = 3;
const LONG: u16 = 4;

/// IFD0 tags that describe the source's pixel data or carry blocks written separately
/// (XMP, IPTC, ICC, Photoshop resources): meaningless or stale on the output.
const STRUCTURE: &[u16] = &[
    0x00FE, 0x00FF, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0107, 0x0108, 0x0109, 0x010A, 0x0111,
    0x0115, 0x0116, 0x0117, 0x0118, 0x0119, 0x011C, 0x0120, 0x0121, 0x0122, 0x0123, 0x013D, 0x0140,
    0x0142, 0x0143, 0x0144, 0x0145, 0x014A, 0x0152, 0x0153, 0x0154, 0x0155, 0x0200, 0x0201, 0x0202,
    0x0211, 0x0212, 0x0213, 0x02BC, 0x83BB, 0x8649, 0x8773, 0xC634,
];
/// Exif IFD tags that are stale on a resized copy (the pixel dimensions) or cannot be
/// moved safely (a maker note's offsets point into the source's layout, and some carry
/// preview images), or are pointers rebuilt here.
const EXIF_DROPPED: &[u16] = &[0xA002, 0xA003, INTEROP_IFD, MAKER_NOTE];

/// Bytes per value of each TIFF field type; `None` for types TIFF does not define.
fn type_size(kind: u16) -> Option<usize> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

/// The EXIF of a source, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exif {
    big_endian: bool,
    ifd0: Vec<Entry>,
    exif: Vec<Entry>,
    gps: Vec<Entry>,
}

struct Reader<'a> {
    b: &'a [u8],
    be: bool,
}

impl Reader<'_> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.be {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.be {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    /// The entries of the IFD at `at`; entries of an unknown type are skipped (a reader
    /// cannot size them), anything out of bounds fails the whole read.
    fn ifd(&self, at: usize) -> Option<Vec<Entry>> {
        let n = self.u16_at(at)? as usize;
        if n > MAX_ENTRIES {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let e = at.checked_add(2 + 12 * i)?;
            let (tag, kind, count) = (self.u16_at(e)?, self.u16_at(e + 2)?, self.u32_at(e + 4)?);
            let Some(size) = type_size(kind) else {
                continue;
            };
            let len = (count as usize).checked_mul(size)?;
            let value = if len <= 4 {
                self.b.get(e + 8..e + 8 + len)?
            } else {
                let off = self.u32_at(e + 8)? as usize;
                self.b.get(off..off.checked_add(len)?)?
            };
            out.push(Entry {
                tag,
                kind,
                count,
                value: value.to_vec(),
            });
        }
        Some(out)
    }

    /// The sub-IFD a pointer entry names, if IFD0 has one (a bad pointer fails the read).
    fn sub_ifd(&self, ifd0: &[Entry], tag: u16) -> Option<Option<Vec<Entry>>> {
        let Some(p) = ifd0.iter().find(|e| e.tag == tag) else {
            return Some(None);
        };
        if p.count != 1 || !matches!(p.kind, LONG | 13) {
            return None;
        }
        let at = Reader {
            b: &p.value,
            be: self.be,
        }
        .u32_at(0)? as usize;
        self.ifd(at).map(Some)
    }
}

impl Exif {
    /// Reads a TIFF-structured EXIF block (what follows `Exif\0\0` in a JPEG); `None` when
    /// it is not one or any part of it is out of bounds.
    pub fn parse(tiff: &[u8]) -> Option<Exif> {
        let be = match tiff.get(..4)? {
            [b'I', b'I', 42, 0] => false,
            [b'M', b'M', 0, 42] => true,
            _ => return None,
        };
        let r = Reader { b: tiff, be };
        let ifd0 = r.ifd(r.u32_at(4)? as usize)?;
        let exif = r.sub_ifd(&ifd0, EXIF_IFD)?.unwrap_or_default();
        let gps = r.sub_ifd(&ifd0, GPS_IFD)?.unwrap_or_default();
        Some(Exif {
            big_endian: be,
            ifd0,
            exif,
            gps,
        })
    }

    /// The raw value of an IFD0 tag (a TIFF file's XMP, IPTC or ICC tag).
    pub fn raw(&self, tag: u16) -> Option<&[u8]> {
        self.ifd0
            .iter()
            .find(|e| e.tag == tag)
            .map(|e| &e.value[..])
    }

    /// The ASCII value of an IFD0 tag (Copyright, Artist…), without its NULs.
    #[cfg(test)]
    pub fn ascii(&self, tag: u16) -> Option<String> {
        let e = self.ifd0.iter().find(|e| e.tag == tag && e.kind == 2)?;
        let s = String::from_utf8_lossy(&e.value);
        Some(s.trim_end_matches('\0').to_string())
    }

    /// A fresh EXIF block with what `keep` keeps, or `None` when nothing is left worth
    /// writing (Orientation = 1 alone says nothing a reader does not assume).
    pub fn rewrite(&self, keep: Keep) -> Option<Vec<u8>> {
        let not_pointer = |e: &&Entry| !matches!(e.tag, EXIF_IFD | GPS_IFD | ORIENTATION);
        let (mut ifd0, exif, gps): (Vec<Entry>, Vec<Entry>, Vec<Entry>) = match keep {
            Keep::Rights => {
                let rights = |e: &&Entry| matches!(e.tag, ARTIST | COPYRIGHT);
                (
                    self.ifd0.iter().filter(rights).cloned().collect(),
                    vec![],
                    vec![],
                )
            }
            Keep::All { gps } => (
                self.ifd0
                    .iter()
                    .filter(not_pointer)
                    .filter(|e| !STRUCTURE.contains(&e.tag))
                    .cloned()
                    .collect(),
                self.exif
                    .iter()
                    .filter(not_pointer)
                    .filter(|e| !EXIF_DROPPED.contains(&e.tag))
                    .cloned()
                    .collect(),
                if gps { self.gps.clone() } else { vec![] },
            ),
        };
        if ifd0.is_empty() && exif.is_empty() && gps.is_empty() {
            return None;
        }
        ifd0.push(self.short(ORIENTATION, 1));
        Some(self.write(ifd0, exif, gps))
    }

    fn short(&self, tag: u16, v: u16) -> Entry {
        self.single(tag, SHORT, v.to_be_bytes(), v.to_le_bytes())
    }

    fn long(&self, tag: u16, v: u32) -> Entry {
        self.single(tag, LONG, v.to_be_bytes(), v.to_le_bytes())
    }

    /// One value of `kind`, in the file's byte order.
    fn single<const N: usize>(&self, tag: u16, kind: u16, be: [u8; N], le: [u8; N]) -> Entry {
        let value = if self.big_endian { be } else { le };
        Entry {
            tag,
            kind,
            count: 1,
            value: value.to_vec(),
        }
    }

    /// Header, IFD0 (with pointers to the sub-IFDs that are not empty), Exif IFD, GPS IFD,
    /// each followed by its out-of-line values.
    fn write(&self, mut ifd0: Vec<Entry>, exif: Vec<Entry>, gps: Vec<Entry>) -> Vec<u8> {
        let pointers = usize::from(!exif.is_empty()) + usize::from(!gps.is_empty());
        let exif_at = 8 + ifd_size(&ifd0) + 12 * pointers;
        let gps_at = exif_at + if exif.is_empty() { 0 } else { ifd_size(&exif) };
        if !exif.is_empty() {
            ifd0.push(self.long(EXIF_IFD, exif_at as u32));
        }
        if !gps.is_empty() {
            ifd0.push(self.long(GPS_IFD, gps_at as u32));
        }
        let mut out = Vec::with_capacity(gps_at + ifd_size(&gps));
        out.extend_from_slice(if self.big_endian {
            b"MM\0\x2a\0\0\0\x08"
        } else {
            b"II\x2a\0\x08\0\0\0"
        });
        for mut ifd in [ifd0, exif, gps].into_iter().filter(|i| !i.is_empty()) {
            ifd.sort_by_key(|e| e.tag);
            self.write_ifd(&mut out, &ifd);
        }
        out
    }

    fn write_ifd(&self, out: &mut Vec<u8>, ifd: &[Entry]) {
        let (u16b, u32b) = (
            |v: u16, be: bool| if be { v.to_be_bytes() } else { v.to_le_bytes() },
            |v: u32, be: bool| if be { v.to_be_bytes() } else { v.to_le_bytes() },
        );
        let be = self.big_endian;
        let mut data_at = out.len() + 2 + 12 * ifd.len() + 4;
        let mut data = Vec::new();
        out.extend_from_slice(&u16b(ifd.len() as u16, be));
        for e in ifd {
            out.extend_from_slice(&u16b(e.tag, be));
            out.extend_from_slice(&u16b(e.kind, be));
            out.extend_from_slice(&u32b(e.count, be));
            if e.value.len() <= 4 {
                let mut inline = [0u8; 4];
                inline[..e.value.len()].copy_from_slice(&e.value);
                out.extend_from_slice(&inline);
            } else {
                out.extend_from_slice(&u32b(data_at as u32, be));
                data.extend_from_slice(&e.value);
                if e.value.len() % 2 == 1 {
                    data.push(0);
                }
                data_at += padded(e.value.len());
            }
        }
        out.extend_from_slice(&[0; 4]); // no next IFD: IFD1 (the thumbnail) is not written
        out.extend_from_slice(&data);
    }
}

fn padded(len: usize) -> usize {
    len + len % 2
}

/// An IFD's size with its out-of-line values.
fn ifd_size(ifd: &[Entry]) -> usize {
    let values: usize = ifd
        .iter()
        .filter(|e| e.value.len() > 4)
        .map(|e| padded(e.value.len()))
        .sum();
    2 + 12 * ifd.len() + 4 + values
}

#[cfg(test)]
#[path = "exif_tests.rs"]
mod tests;
