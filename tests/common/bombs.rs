//! Hostile inputs, built by the tests and never stored: an inflate bomb in a PNG profile, a
//! progressive-JPEG scan bomb, header bombs, a GIF of thousands of frames.

use std::ffi::c_int;
use std::io::Write;

use turbojpeg_sys as tj;

/// Appends one PNG chunk (length, type, data, CRC).
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend(kind);
    out.extend(data);
    out.extend(crc.sum().to_be_bytes());
}

/// A `w × h` 8-bit RGB PNG header with `extra` chunks before its (tiny) image data.
fn png_with(w: u32, h: u32, extra: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut out, b"IHDR", &ihdr);
    for (kind, data) in extra {
        png_chunk(&mut out, kind, data);
    }
    // One row of one black pixel (filter byte 0), zlib-compressed.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&vec![0u8; (1 + 3 * w as usize) * h.min(1) as usize])
        .unwrap();
    png_chunk(&mut out, b"IDAT", &z.finish().unwrap());
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A 1 × 1 PNG whose `iCCP` profile inflates to `inflated` zero bytes (compressed as a
/// stream, so building a 700 MB bomb takes ~700 KB of memory).
pub fn png_iccp_bomb(inflated: u64) -> Vec<u8> {
    let mut iccp = b"bomb\0\0".to_vec();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let zeros = vec![0u8; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        z.write_all(&zeros[..n]).unwrap();
        left -= n as u64;
    }
    iccp.extend(z.finish().unwrap());
    png_with(1, 1, &[(b"iCCP", iccp)])
}

/// A PNG whose header claims `w × h` with almost no data behind it.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    png_with(w, h, &[])
}

fn jpeg_segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend([0xFF, marker]);
    out.extend(((body.len() + 2) as u16).to_be_bytes());
    out.extend(body);
}

/// A baseline JPEG header claiming `w × h` (3 components, 4:2:0), a scan header, and EOI.
pub fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut sof = vec![8];
    sof.extend(h.to_be_bytes());
    sof.extend(w.to_be_bytes());
    sof.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    jpeg_segment(&mut out, 0xC0, &sof);
    jpeg_segment(&mut out, 0xDA, &[3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    out.extend([0xFF, 0xD9]);
    out
}

/// A JPEG (a real one's header, then SOF and a scan) whose APP2 ICC chunks together hold
/// `total` bytes.
pub fn jpeg_with_icc(base: &[u8], total: usize) -> Vec<u8> {
    let chunk = 65_000usize;
    let count = total.div_ceil(chunk);
    let mut out = vec![0xFF, 0xD8];
    for k in 0..count {
        let mut body = b"ICC_PROFILE\0".to_vec();
        body.extend([(k + 1) as u8, count as u8]);
        body.resize(14 + chunk.min(total - k * chunk), 0);
        jpeg_segment(&mut out, 0xE2, &body);
    }
    out.extend(&base[2..]);
    out
}

/// A progressive grey `w × h` JPEG made by libjpeg-turbo (its default progression).
pub fn progressive_jpeg(w: u32, h: u32) -> Vec<u8> {
    grey_jpeg(w, h, true)
}

/// A grey `w × h` JPEG made by libjpeg-turbo, baseline or progressive.
pub fn grey_jpeg(w: u32, h: u32, progressive: bool) -> Vec<u8> {
    let grey: Vec<u8> = (0..h as usize)
        .flat_map(|y| (0..w as usize).map(move |x| ((x / 64 + y / 64) % 2 * 200) as u8))
        .collect();
    // SAFETY: a fresh handle, destroyed below; `grey` holds h rows of w bytes; the output
    // buffer is allocated by libjpeg-turbo and freed with tj3Free after copying it.
    unsafe {
        let c = tj::tj3Init(tj::TJINIT_TJINIT_COMPRESS as c_int);
        assert!(!c.is_null());
        for (p, v) in [
            (tj::TJPARAM_TJPARAM_QUALITY, 80),
            (tj::TJPARAM_TJPARAM_SUBSAMP, tj::TJSAMP_TJSAMP_GRAY),
            (tj::TJPARAM_TJPARAM_PROGRESSIVE, progressive as c_int),
        ] {
            assert_eq!(tj::tj3Set(c, p as c_int, v), 0);
        }
        let mut buf: *mut u8 = std::ptr::null_mut();
        let mut size: tj::size_t = 0;
        let rc = tj::tj3Compress8(
            c,
            grey.as_ptr(),
            w as c_int,
            w as c_int,
            h as c_int,
            tj::TJPF_TJPF_GRAY,
            &mut buf,
            &mut size,
        );
        assert_eq!(rc, 0, "libjpeg-turbo encode");
        let out = std::slice::from_raw_parts(buf, size as usize).to_vec();
        tj::tj3Free(buf as *mut std::ffi::c_void);
        tj::tj3Destroy(c);
        out
    }
}

/// Segments of a JPEG as (marker, start, end); a scan's end includes its entropy data.
fn jpeg_segments(b: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xFF && b[i + 1] != 0xD9 {
        let marker = b[i + 1];
        let mut end = i + 2 + u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if marker == 0xDA {
            while !(b[end] == 0xFF && b[end + 1] != 0 && !(0xD0..=0xD7).contains(&b[end + 1])) {
                end += 1;
            }
        }
        out.push((marker, i, end));
        i = end;
    }
    out
}

/// `jpeg` with its first AC scan (the second scan, with the Huffman tables sent just
/// before it) repeated `copies` more times: the scan bomb.
pub fn scan_bomb(jpeg: &[u8], copies: usize) -> Vec<u8> {
    repeat_scan(jpeg, 1, copies)
}

/// `jpeg` with scan number `which` (0 = the first) and the Huffman tables sent just before
/// it repeated `copies` more times.
pub fn repeat_scan(jpeg: &[u8], which: usize, copies: usize) -> Vec<u8> {
    let segs = jpeg_segments(jpeg);
    let scans: Vec<usize> = (0..segs.len()).filter(|&k| segs[k].0 == 0xDA).collect();
    let scan = scans[which];
    let mut first = scan;
    while first > 0 && segs[first - 1].0 == 0xC4 {
        first -= 1;
    }
    let (start, end) = (segs[first].1, segs[scan].2);
    let mut out = jpeg[..end].to_vec();
    for _ in 0..copies {
        out.extend(&jpeg[start..end]);
    }
    out.extend(&jpeg[end..]);
    out
}

/// Scans (SOS markers) in a JPEG, counted the simple way.
pub fn jpeg_scans(jpeg: &[u8]) -> usize {
    jpeg_segments(jpeg).iter().filter(|s| s.0 == 0xDA).count()
}

/// A `frames`-frame 4 × 4 GIF: the first frame red, every other blue.
pub fn many_frame_gif(frames: usize) -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Frame, Rgba, RgbaImage};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 30);
        enc.set_repeat(Repeat::Infinite).unwrap();
        let red = RgbaImage::from_pixel(4, 4, Rgba([255, 0, 0, 255]));
        let blue = RgbaImage::from_pixel(4, 4, Rgba([0, 0, 255, 255]));
        let all = (0..frames).map(|k| Frame::new(if k == 0 { red.clone() } else { blue.clone() }));
        enc.encode_frames(all).unwrap();
    }
    out
}

/// A little-endian 8-bit grey TIFF claiming `w × h` in one uncompressed strip, with only 8
/// bytes of pixel data behind it.
pub fn tiff_claiming(w: u32, h: u32) -> Vec<u8> {
    // (tag, type 3 = SHORT / 4 = LONG, value)
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),
        (257, 4, h),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 8),
        (277, 3, 1),
        (278, 4, h),
        (279, 4, 8),
    ];
    let ifd = 16u32;
    let mut t = b"II*\0".to_vec();
    t.extend(ifd.to_le_bytes());
    t.extend([0x80; 8]);
    t.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        t.extend(tag.to_le_bytes());
        t.extend(kind.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        t.extend(value.to_le_bytes());
    }
    t.extend(0u32.to_le_bytes());
    t
}
