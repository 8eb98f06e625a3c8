//! A bounded reader of classic TIFF image file directories (IFDs), for the TIFF-based camera
//! RAW formats (DNG, CR2, NEF, ARW, KDC): detection reads IFD0's `Make` and `DNGVersion`,
//! the RAW preview finder (`engine/raw`) walks every IFD for embedded JPEGs.
//!
//! Camera files are hostile input like any other, so every offset and count is checked
//! against the buffer (an offset past the end is "absent", never a panic) and the entry
//! count per IFD is capped. The pixel decoders never see these bytes.

/// Most entries read from one IFD (real ones have < 100).
const MAX_ENTRIES: usize = 512;

/// A TIFF file's bytes and byte order.
#[derive(Debug, Clone, Copy)]
pub struct Tiff<'a> {
    pub bytes: &'a [u8],
    little_endian: bool,
}

/// One IFD entry: tag, field type, count and where its value/offset field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub tag: u16,
    pub kind: u16,
    pub count: u32,
    /// Where the entry's 4-byte value/offset field is in the file.
    field_at: usize,
}

/// The entries of one IFD and the offset of the next one (0: none).
#[derive(Debug, Clone, Default)]
pub struct Ifd {
    pub entries: Vec<Entry>,
    pub next: u32,
}

impl<'a> Tiff<'a> {
    /// `bytes` when it starts with a classic TIFF header (`II*\0` or `MM\0*`).
    pub fn new(bytes: &'a [u8]) -> Option<Tiff<'a>> {
        let little_endian = match bytes.get(0..4)? {
            b"II*\0" => true,
            b"MM\0*" => false,
            _ => return None,
        };
        Some(Tiff {
            bytes,
            little_endian,
        })
    }

    pub fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    pub fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// Offset of IFD0.
    pub fn first_ifd(&self) -> Option<u32> {
        self.u32_at(4)
    }

    /// The IFD at `offset`; `None` when its header lies outside the file.
    pub fn ifd(&self, offset: u32) -> Option<Ifd> {
        let at = offset as usize;
        let n = self.u16_at(at)? as usize;
        let entries = (0..n.min(MAX_ENTRIES))
            .map_while(|i| self.entry(at + 2 + 12 * i))
            .collect();
        let next = self.u32_at(at + 2 + 12 * n).unwrap_or(0);
        Some(Ifd { entries, next })
    }

    fn entry(&self, at: usize) -> Option<Entry> {
        self.bytes.get(at..at.checked_add(12)?)?;
        Some(Entry {
            tag: self.u16_at(at)?,
            kind: self.u16_at(at + 2)?,
            count: self.u32_at(at + 4)?,
            field_at: at + 8,
        })
    }

    /// Value `i` of a BYTE, SHORT or LONG entry (inline or at its offset).
    pub fn value(&self, e: &Entry, i: u32) -> Option<u32> {
        let size = match e.kind {
            1 | 7 => 1,
            3 => 2,
            4 | 13 => 4,
            _ => return None,
        };
        if i >= e.count {
            return None;
        }
        let at = self.data_at(e, size)?.checked_add(i as usize * size)?;
        match size {
            1 => self.bytes.get(at).map(|&v| v as u32),
            2 => self.u16_at(at).map(u32::from),
            _ => self.u32_at(at),
        }
    }

    /// The bytes of an ASCII entry, up to its first NUL.
    pub fn ascii(&self, e: &Entry) -> Option<&'a [u8]> {
        if e.kind != 2 {
            return None;
        }
        let start = self.data_at(e, 1)?;
        let raw = self
            .bytes
            .get(start..start.checked_add(e.count as usize)?)?;
        Some(raw.split(|&c| c == 0).next().unwrap_or(raw))
    }

    /// Where an entry's values start: inline in its field when they fit in 4 bytes.
    fn data_at(&self, e: &Entry, size: usize) -> Option<usize> {
        if size.checked_mul(e.count as usize)? <= 4 {
            Some(e.field_at)
        } else {
            self.u32_at(e.field_at).map(|o| o as usize)
        }
    }
}

impl Ifd {
    pub fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_past_the_end_are_absent_not_panics() {
        // II, IFD0 at 8 claiming 2 entries but holding one; a LONG array past the end.
        let mut b = b"II*\0\x08\0\0\0\x02\0".to_vec();
        b.extend_from_slice(&[0x11, 0x01, 4, 0, 3, 0, 0, 0, 0xFF, 0xFF, 0, 0]);
        let t = Tiff::new(&b).unwrap();
        let ifd = t.ifd(t.first_ifd().unwrap()).unwrap();
        assert_eq!(ifd.entries.len(), 1);
        assert_eq!(t.value(&ifd.entries[0], 0), None);
        assert_eq!(t.value(&ifd.entries[0], 9), None);
        assert!(t.ifd(u32::MAX).is_none());
        assert!(Tiff::new(b"MM\0+").is_none());
    }
}
