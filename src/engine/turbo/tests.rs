use super::*;

const CAPS: Caps = Caps {
    max_memory_mb: 64,
    max_scans: 500,
};

/// A progressive grey JPEG (libjpeg's default progression: 6 scans).
fn progressive(w: u32, h: u32) -> Vec<u8> {
    let grey: Vec<u8> = (0..w * h).map(|i| (i * 7 % 251) as u8).collect();
    let mut c = compressor(80, tj::TJSAMP_TJSAMP_GRAY).unwrap();
    c.set(tj::TJPARAM_TJPARAM_PROGRESSIVE, 1).unwrap();
    // SAFETY: `grey` holds h rows of w bytes.
    compress_into(&c, w, h, tj::TJSAMP_TJSAMP_GRAY, |buf, size| unsafe {
        tj::tj3Compress8(
            c.0,
            grey.as_ptr(),
            w as c_int,
            w as c_int,
            h as c_int,
            tj::TJPF_TJPF_GRAY,
            buf,
            size,
        )
    })
    .unwrap()
}

/// Each limit message in LIMIT_MESSAGES that a decode can reach is classed a limit,
/// and a plain decoding failure is not.
#[test]
fn limits_are_told_from_failures() {
    let p = progressive(1024, 1024);
    assert!(decode(&p, Layout::Gray, 1, 1, CAPS).is_ok());
    // 1024² coefficients at 2 bytes: 2 MiB of buffers over a 1 MiB cap.
    let tight = Caps {
        max_memory_mb: 1,
        ..CAPS
    };
    let r = decode(&p, Layout::Gray, 1, 1, tight);
    assert!(
        matches!(&r, Err(DecodeError::Limit(m)) if m.contains("Memory limit")),
        "{:?}",
        r.as_ref().err()
    );
    let few = Caps {
        max_scans: 2,
        ..CAPS
    };
    let r = decode(&p, Layout::Gray, 1, 8, few);
    assert!(
        matches!(&r, Err(DecodeError::Limit(m)) if m.contains("more than 2 scans")),
        "{:?}",
        r.as_ref().err()
    );
    let garbage = decode(b"\xFF\xD8\xFF\xE0garbage", Layout::Rgb, 1, 1, CAPS);
    assert!(matches!(garbage, Err(DecodeError::Failed(_))));
}

#[test]
fn encode_then_decode_at_every_simd_scale() {
    let (w, h) = (67u32, 45u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
    let jpeg = encode(&rgb, w, h, 3, 85).unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    for denom in [1, 2, 4, 8] {
        let d = decode(&jpeg, Layout::Rgb, 1, denom, CAPS).unwrap();
        assert_eq!((d.width, d.height), (w.div_ceil(denom), h.div_ceil(denom)));
        assert_eq!(d.data.len(), (d.width * d.height * 3) as usize);
        assert!(d.warning.is_none());
    }
    let g = decode(&jpeg, Layout::Gray, 1, 1, CAPS).unwrap();
    assert_eq!(g.data.len(), (w * h) as usize);
}

#[test]
fn damage_is_a_warning_and_garbage_an_error() {
    let rgb = vec![128u8; 64 * 64 * 3];
    let jpeg = encode(&rgb, 64, 64, 3, 80).unwrap();
    let cut = decode(&jpeg[..jpeg.len() - 40], Layout::Rgb, 1, 1, CAPS).unwrap();
    assert!(cut.warning.is_some());
    assert!(decode(b"\xFF\xD8\xFF\xE0garbage", Layout::Rgb, 1, 1, CAPS).is_err());
    assert!(decode(&[], Layout::Rgb, 1, 1, CAPS).is_err());
    assert!(encode(&rgb, 64, 63, 3, 80).is_err());
}
