//! Frame counts from the container, before any frame is decoded: GIF image descriptors
//! (`gif.rs`, LZW data skipped), WebP `ANMF` chunks, APNG `acTL`/`fcTL` chunks. Each walk
//! reads chunk headers only, so a 5,000-frame file is counted in microseconds and refused
//! (`limits.max_frames`) before its first frame is decoded.
//!
//! A count is an upper bound of what the decoder will yield (APNG: the larger of what
//! `acTL` declares and the `fcTL` chunks present); the decode stops at it regardless.

use crate::engine::gif;
use crate::media::MediaType;

/// Frames of an animated source; 1 for a still (or a format without animation).
pub fn frames(bytes: &[u8], media: MediaType) -> u64 {
    let n = match media {
        MediaType::Gif => gif::count_frames(bytes),
        MediaType::Webp => webp_frames(bytes),
        MediaType::Png => apng_frames(bytes),
        _ => 1,
    };
    n.max(1)
}

/// `ANMF` chunks of a RIFF WebP (0 for a still: no animation chunks).
fn webp_frames(bytes: &[u8]) -> u64 {
    let mut at = 12;
    let mut frames = 0;
    while let Some(head) = bytes.get(at..at + 8) {
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if &head[..4] == b"ANMF" {
            frames += 1;
        }
        // Chunks are padded to an even size.
        at = at.saturating_add(8).saturating_add(size + (size & 1));
    }
    frames
}

/// An APNG's frames: the larger of `acTL`'s `num_frames` and the `fcTL` chunks present;
/// 0 for a PNG without `acTL` (a still, whatever else it holds).
fn apng_frames(bytes: &[u8]) -> u64 {
    let (mut declared, mut controls, mut animated) = (0u64, 0u64, false);
    let mut at = 8;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match &head[4..8] {
            b"acTL" => {
                animated = true;
                if let Some(n) = bytes.get(at + 8..at + 12) {
                    declared = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as u64;
                }
            }
            b"fcTL" => controls += 1,
            b"IEND" => break,
            _ => {}
        }
        // Length, type, data, CRC.
        at = at.saturating_add(12).saturating_add(len);
    }
    if animated {
        declared.max(controls)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]);
        c
    }

    #[test]
    fn apng_counts_the_larger_of_declared_and_present() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        assert_eq!(
            frames(&[png.clone(), chunk(b"IEND", &[])].concat(), MediaType::Png),
            1
        );
        let mut actl = 2u32.to_be_bytes().to_vec();
        actl.extend_from_slice(&0u32.to_be_bytes());
        png.extend(chunk(b"acTL", &actl));
        for _ in 0..3 {
            png.extend(chunk(b"fcTL", &[0; 26]));
        }
        assert_eq!(frames(&png, MediaType::Png), 3, "more fcTL than acTL says");
    }

    #[test]
    fn webp_counts_anmf_chunks_and_a_still_is_one() {
        let riff = |chunks: &[(&[u8; 4], usize)]| {
            let mut b = b"RIFF\0\0\0\0WEBP".to_vec();
            for (kind, size) in chunks {
                b.extend_from_slice(*kind);
                b.extend_from_slice(&(*size as u32).to_le_bytes());
                b.extend(std::iter::repeat_n(0, size + (size & 1)));
            }
            b
        };
        assert_eq!(frames(&riff(&[(b"VP8 ", 11)]), MediaType::Webp), 1);
        let anim = riff(&[(b"VP8X", 10), (b"ANIM", 6), (b"ANMF", 21), (b"ANMF", 30)]);
        assert_eq!(frames(&anim, MediaType::Webp), 2);
        assert_eq!(frames(b"\xff\xd8", MediaType::Jpeg), 1);
    }
}
