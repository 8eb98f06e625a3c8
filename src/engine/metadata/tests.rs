//! Writers and reader agree: what `write.rs` puts in a JPEG, PNG or WebP, `read.rs` finds.
//! (The outputs are read back by exiftool, an independent parser, in
//! `tests/engine_metadata.rs`.)

use super::*;

fn embed() -> Embed {
    Embed {
        exif: Some(b"II\x2a\0\x08\0\0\0\0\0\0\0\0\0".to_vec()),
        xmp: Some(b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>".to_vec()),
        iptc: Some(vec![0x1C, 2, 116, 0, 3, b'(', b'c', b')']),
        icc: Some((0..200_000u32).map(|i| (i % 251) as u8).collect()),
    }
}

#[test]
fn jpeg_png_and_webp_blocks_read_back() {
    let e = embed();
    let jpeg = write::jpeg(b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xDA\x00\x02", &e);
    assert_eq!(&jpeg[2..8], b"\xFF\xE0\x00\x04ab", "JFIF stays first");
    let png_src = [
        &b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"[..],
        &[0; 17],
        b"\0\0\0\0IEND\0\0\0\0",
    ]
    .concat();
    let png = write::png(&png_src, &e);
    let webp = write::webp(b"RIFF\x0c\0\0\0WEBPVP8 \x00\0\0\0", &e, (3, 2));
    for (name, out, iptc) in [
        ("jpeg", &jpeg, true),
        ("png", &png, false),
        ("webp", &webp, false),
    ] {
        let b = read(out, 1 << 20);
        assert_eq!(b.exif.as_deref(), e.exif.as_deref(), "{name}");
        assert_eq!(b.xmp.as_deref(), e.xmp.as_deref(), "{name}");
        assert_eq!(b.icc.as_deref(), e.icc.as_deref(), "{name}");
        assert_eq!(b.iptc.is_some(), iptc, "{name}");
    }
    assert_eq!(&webp[12..16], b"VP8X");
    assert_eq!(
        webp[20] & 0b0010_1100,
        0b0010_1100,
        "ICC, EXIF and XMP flags"
    );
    let size = u32::from_le_bytes(webp[4..8].try_into().unwrap()) as usize;
    assert_eq!(size + 8, webp.len());
}

#[test]
fn blocks_over_the_metadata_limit_are_left_out() {
    let jpeg = write::jpeg(b"\xFF\xD8\xFF\xDA\x00\x02", &embed());
    let b = read(&jpeg, 1000);
    assert_eq!(b.icc, None);
    assert!(b.xmp.is_some());
}

#[test]
fn a_wide_gamut_profile_is_kept_only_over_pixels_left_in_it() {
    let p3 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/metadata/display_p3.png"
    ));
    let p3 = read(&p3.unwrap(), 1 << 20).icc.unwrap().into_owned();
    let with = |icc: Vec<u8>| {
        Some(Embed {
            icc: Some(icc),
            ..Embed::default()
        })
    };
    let mut pending = vec![with(p3.clone()), None];
    assert_eq!(settle_icc(&mut pending, true), [true, false]);
    assert!(pending[0].is_some());
    let mut converted = vec![with(p3)];
    assert_eq!(settle_icc(&mut converted, false), [false]);
    assert_eq!(converted[0], None, "a P3 profile over sRGB pixels");
    let srgb = lcms2::Profile::new_srgb().icc().unwrap();
    let mut same = vec![with(srgb)];
    assert_eq!(settle_icc(&mut same, false), [false]);
    assert!(
        same[0].is_some(),
        "an sRGB profile describes the pixels either way"
    );
}
