//! The EXIF rewriter against hand-built blocks, read back with `kamadak-exif` (an
//! independent parser), and against hostile blocks.

use exif::{In, Reader, Tag, Value};
use proptest::prelude::*;

use super::*;

/// A raw little- or big-endian TIFF writer for test blocks (pointers given explicitly, so
/// tests can build loops and bad offsets).
struct Raw {
    be: bool,
    b: Vec<u8>,
}

impl Raw {
    fn new(be: bool) -> Raw {
        let b = if be {
            b"MM\0\x2a\0\0\0\x08".to_vec()
        } else {
            b"II\x2a\0\x08\0\0\0".to_vec()
        };
        Raw { be, b }
    }
    fn u16(&mut self, v: u16) {
        let s = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend_from_slice(&s);
    }
    fn u32(&mut self, v: u32) {
        let s = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend_from_slice(&s);
    }
    /// An IFD at the current end: entries (tag, type, count, inline value or offset).
    fn ifd(&mut self, entries: &[(u16, u16, u32, u32)], next: u32) {
        self.u16(entries.len() as u16);
        for &(tag, kind, count, v) in entries {
            self.u16(tag);
            self.u16(kind);
            self.u32(count);
            if kind == SHORT && count == 1 {
                self.u16(v as u16);
                self.u16(0);
            } else {
                self.u32(v);
            }
        }
        self.u32(next);
    }
}

/// IFD0 at 8 (Make, Orientation 6, Artist, Copyright, StripOffsets, Exif and GPS
/// pointers, next → IFD1), then the Exif IFD (DateTimeOriginal, MakerNote, PixelXDimension),
/// the GPS IFD (GPSLatitudeRef), IFD1 (a thumbnail), then the strings.
fn camera(be: bool) -> Vec<u8> {
    let mut r = Raw::new(be);
    let ifd0_len = 2 + 12 * 7 + 4;
    let exif_at = 8 + ifd0_len;
    let exif_len = 2 + 12 * 3 + 4;
    let gps_at = exif_at + exif_len;
    let gps_len = 2 + 12 + 4;
    let ifd1_at = gps_at + gps_len;
    let ifd1_len = 2 + 12 * 2 + 4;
    let strings = (ifd1_at + ifd1_len) as u32;
    // Strings: "Canon\0" (6, inline? no: >4), "Ann Artist\0" (11), "(c) Ann\0" (8),
    // "2020:01:02 03:04:05\0" (20), maker note 16 bytes.
    let (make, artist, copy, date, note) = (
        strings,
        strings + 6,
        strings + 17,
        strings + 25,
        strings + 45,
    );
    r.ifd(
        &[
            (0x010F, 2, 6, make),
            (0x0111, LONG, 1, 0),
            (ORIENTATION, SHORT, 1, 6),
            (ARTIST, 2, 11, artist),
            (COPYRIGHT, 2, 8, copy),
            (EXIF_IFD, LONG, 1, exif_at as u32),
            (GPS_IFD, LONG, 1, gps_at as u32),
        ],
        ifd1_at as u32,
    );
    r.ifd(
        &[
            (0x9003, 2, 20, date),
            (MAKER_NOTE, 7, 16, note),
            (0xA002, LONG, 1, 4000),
        ],
        0,
    );
    r.ifd(&[(0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"))], 0);
    r.ifd(&[(0x0201, LONG, 1, 0), (0x0202, LONG, 1, 0)], 0);
    assert_eq!(r.b.len() as u32, strings);
    r.b.extend_from_slice(b"Canon\0Ann Artist\0(c) Ann\0");
    r.b.extend_from_slice(b"2020:01:02 03:04:05\0");
    r.b.extend_from_slice(&[7u8; 16]);
    // The GPS ref's inline bytes were written as a number: put them back in order.
    let at = gps_at + 2 + 8;
    r.b[at..at + 4].copy_from_slice(b"N\0\0\0");
    r.b
}

fn read_back(tiff: &[u8]) -> exif::Exif {
    Reader::new()
        .read_raw(tiff.to_vec())
        .expect("kamadak-exif reads the rewritten block")
}

fn ascii(e: &exif::Exif, tag: Tag) -> Option<String> {
    match &e.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => Some(String::from_utf8_lossy(&v[0]).into_owned()),
        _ => None,
    }
}

#[test]
fn keep_all_drops_gps_thumbnail_maker_note_and_resets_orientation() {
    for be in [false, true] {
        let src = camera(be);
        let out = Exif::parse(&src)
            .unwrap()
            .rewrite(Keep::All { gps: false })
            .unwrap();
        let e = read_back(&out);
        let o = e.get_field(Tag::Orientation, In::PRIMARY).unwrap();
        assert_eq!(o.value.get_uint(0), Some(1), "be={be}");
        assert_eq!(ascii(&e, Tag::Make).as_deref(), Some("Canon"));
        assert_eq!(ascii(&e, Tag::Copyright).as_deref(), Some("(c) Ann"));
        let date = ascii(&e, Tag::DateTimeOriginal);
        assert_eq!(date.as_deref(), Some("2020:01:02 03:04:05"));
        for gone in [
            Tag::MakerNote,
            Tag::PixelXDimension,
            Tag::StripOffsets,
            Tag::GPSLatitudeRef,
        ] {
            assert!(
                e.get_field(gone, In::PRIMARY).is_none(),
                "{gone} kept, be={be}"
            );
        }
        assert!(e.fields().all(|f| f.ifd_num == In::PRIMARY), "IFD1 written");
        assert_eq!(&out[..2], if be { b"MM" } else { b"II" });
    }
}

#[test]
fn keep_gps_keeps_the_gps_ifd() {
    let out = Exif::parse(&camera(false))
        .unwrap()
        .rewrite(Keep::All { gps: true })
        .unwrap();
    let e = read_back(&out);
    assert_eq!(ascii(&e, Tag::GPSLatitudeRef).as_deref(), Some("N"));
}

#[test]
fn rights_keeps_only_copyright_artist_and_orientation() {
    let out = Exif::parse(&camera(true))
        .unwrap()
        .rewrite(Keep::Rights)
        .unwrap();
    let e = read_back(&out);
    let tags: Vec<Tag> = e.fields().map(|f| f.tag).collect();
    assert_eq!(tags.len(), 3, "{tags:?}");
    assert_eq!(ascii(&e, Tag::Artist).as_deref(), Some("Ann Artist"));
    assert_eq!(ascii(&e, Tag::Copyright).as_deref(), Some("(c) Ann"));
    let rewritten = Exif::parse(&out).unwrap();
    assert_eq!(rewritten.ascii(COPYRIGHT).as_deref(), Some("(c) Ann"));
}

#[test]
fn nothing_to_keep_writes_nothing() {
    let mut r = Raw::new(false);
    r.ifd(&[(0x010F, 2, 4, u32::from_le_bytes(*b"abc\0"))], 0);
    let e = Exif::parse(&r.b).unwrap();
    assert_eq!(e.rewrite(Keep::Rights), None);
    assert!(e.rewrite(Keep::All { gps: false }).is_some());
}

#[test]
fn pointer_loops_are_read_once() {
    // The Exif pointer names IFD0 itself; IFD0's next pointer names itself too.
    let mut r = Raw::new(false);
    r.ifd(
        &[
            (ARTIST, 2, 2, u32::from_le_bytes(*b"A\0\0\0")),
            (EXIF_IFD, LONG, 1, 8),
        ],
        8,
    );
    let e = Exif::parse(&r.b).unwrap();
    let out = e.rewrite(Keep::All { gps: false }).unwrap();
    assert!(Exif::parse(&out).is_some());
}

#[test]
fn out_of_range_offsets_and_counts_drop_the_block() {
    let cases: Vec<Vec<(u16, u16, u32, u32)>> = vec![
        vec![(COPYRIGHT, 2, 8, 10_000)],         // value past the end
        vec![(COPYRIGHT, 2, u32::MAX, 8)],       // count that overflows
        vec![(0x0111, 12, 0x2000_0000, 8)],      // count × size past the end
        vec![(EXIF_IFD, LONG, 1, 9_999)],        // sub-IFD past the end
        vec![(GPS_IFD, 2, 4, 8)],                // pointer of the wrong type
        vec![(EXIF_IFD, LONG, 1, u32::MAX - 1)], // offset near the top of u32
    ];
    for entries in cases {
        let mut r = Raw::new(false);
        r.ifd(&entries, 0);
        assert_eq!(Exif::parse(&r.b), None, "{entries:?}");
    }
    let mut huge = b"II\x2a\0\x08\0\0\0".to_vec();
    huge.extend_from_slice(&5000u16.to_le_bytes());
    assert_eq!(Exif::parse(&huge), None);
    for bad in [
        &b""[..],
        b"II",
        b"XX\x2a\0\x08\0\0\0",
        b"II\x2a\0\xff\xff\xff\xff",
    ] {
        assert_eq!(Exif::parse(bad), None);
    }
}

#[test]
fn unknown_types_are_skipped_not_fatal() {
    let mut r = Raw::new(false);
    r.ifd(
        &[
            (0x1234, 99, 1, 0),
            (ARTIST, 2, 2, u32::from_le_bytes(*b"A\0\0\0")),
        ],
        0,
    );
    let e = Exif::parse(&r.b).unwrap();
    assert_eq!(e.ascii(ARTIST).as_deref(), Some("A"));
}

#[test]
fn every_truncation_of_a_camera_block_is_safe() {
    let src = camera(false);
    for n in 0..src.len() {
        if let Some(e) = Exif::parse(&src[..n]) {
            let _ = e.rewrite(Keep::All { gps: true });
        }
    }
}

proptest! {
    #[test]
    fn hostile_bytes_never_panic_and_rewrites_reparse(
        flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..12),
        noise in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut b = camera(flips.len() % 2 == 0);
        for (at, v) in flips {
            let n = b.len();
            b[at % n] = v;
        }
        b.extend_from_slice(&noise);
        if let Some(e) = Exif::parse(&b) {
            for keep in [Keep::Rights, Keep::All { gps: true }, Keep::All { gps: false }] {
                if let Some(out) = e.rewrite(keep) {
                    let again = Exif::parse(&out).expect("a rewrite reads back");
                    prop_assert_eq!(again.ifd0.iter().find(|e| e.tag == ORIENTATION)
                        .map(|e| e.value.clone()), Some(e.short(ORIENTATION, 1).value));
                }
            }
        }
    }
}
