//! The preview finder on the corpus files and on damaged copies of them.

use proptest::prelude::*;

use super::*;

const CR3: &[u8] =
    include_bytes!("../../../tests/fixtures/modern/exiv2_canon_r6_pruned_previews.cr3");
const DNG: &[u8] =
    include_bytes!("../../../tests/fixtures/modern/exiv2_iphone12pro_proraw_pruned.dng");
const KDC: &[u8] = include_bytes!("../../../tests/fixtures/modern/rawpy_kodak_dc50.kdc");

#[test]
fn cr3_offers_its_prvw_preview_over_the_thumbnail() {
    let found = largest_preview(CR3, MediaType::Cr3).unwrap();
    let Preview::Jpeg(jpeg) = found.preview else {
        panic!("{found:?}")
    };
    assert_eq!(jpeg_size(jpeg), Some((1620, 1080)));
    assert_eq!(found.orientation, 1);
}

#[test]
fn kdc_offers_its_rgb_thumbnail_and_a_pruned_dng_nothing() {
    let found = largest_preview(KDC, MediaType::Kdc).unwrap();
    assert!(matches!(
        found.preview,
        Preview::Rgb { width: 96, height: 64, data } if data.len() == 96 * 64 * 3
    ));
    let err = largest_preview(DNG, MediaType::Dng).unwrap_err();
    assert!(
        matches!(&err, EngineError::UnsupportedFormat(m) if m.contains("preview")),
        "{err}"
    );
}

#[test]
fn lossless_jpeg_raw_data_is_not_a_preview() {
    // SOI, then SOF3 (lossless): how CR2 and DNG store raw sensor data.
    let sof3 = [0xFF, 0xD8, 0xFF, 0xC3, 0, 11, 14, 0, 8, 0, 8, 1, 1, 0x11, 0];
    assert_eq!(jpeg_size(&sof3), None);
    let sof0 = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 16, 1, 1, 0x11, 0];
    assert_eq!(jpeg_size(&sof0), Some((16, 8)));
    assert_eq!(jpeg_size(&sof0[..8]), None);
}

fn damaged(original: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    let len = original.len();
    (
        0..=len,
        proptest::collection::vec((0..len, any::<u8>()), 0..64),
    )
        .prop_map(move |(cut, flips)| {
            let mut b = original[..cut.max(16).min(len)].to_vec();
            for (at, v) in flips {
                if at < b.len() {
                    b[at] = v;
                }
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Truncated and byte-flipped RAW files: a preview inside the file or a typed refusal,
    /// never a panic or an out-of-bounds slice.
    #[test]
    fn damaged_raws_never_panic(
        cr3 in damaged(CR3),
        dng in damaged(DNG),
        kdc in damaged(KDC),
    ) {
        for (bytes, media) in [(&cr3, MediaType::Cr3), (&dng, MediaType::Dng), (&kdc, MediaType::Kdc)] {
            match largest_preview(bytes, media) {
                Ok(f) => {
                    let inside = match f.preview {
                        Preview::Jpeg(j) => j,
                        Preview::Rgb { data, .. } => data,
                    };
                    let range = bytes.as_ptr_range();
                    prop_assert!(range.contains(&inside.as_ptr()));
                    prop_assert!((1..=8).contains(&f.orientation));
                }
                Err(e) => prop_assert!(matches!(e, EngineError::UnsupportedFormat(_))),
            }
        }
    }
}
