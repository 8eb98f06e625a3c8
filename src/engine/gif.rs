//! GIFs the `gif` crate refuses but other decoders (Pillow, browsers) read: a file with no
//! global colour table whose frames have none either (Pillow shows the indices as grey), and
//! extension blocks of unknown type (skipped by everyone else). The crate has no option for
//! the first and `image` does not pass on the one for the second, so such a file is
//! repaired in a copy before decoding: a grey global table inserted, unknown extensions
//! dropped, and anything after an unknown block type cut (a trailer put in its place).
//! Files that need neither are not copied.

use std::ops::Range;

/// Extension labels the `gif` crate knows: plain text, graphic control, comment, application.
const KNOWN_EXTENSIONS: [u8; 4] = [0x01, 0xF9, 0xFE, 0xFF];
const HEADER: usize = 13;

/// A repaired copy of `bytes`, or `None` when the decoder can read them as they are.
pub fn repair(bytes: &[u8]) -> Option<Vec<u8>> {
    let packed = *bytes.get(10)?;
    let has_global = packed & 0x80 != 0;
    let start = HEADER + if has_global { table_len(packed) } else { 0 };
    let (keep, cut) = walk(bytes, start);
    if has_global && keep.len() == 1 && !cut {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() + 768 + 1);
    if has_global {
        out.extend_from_slice(&bytes[..start]);
    } else {
        out.extend_from_slice(&bytes[..HEADER]);
        // 256 entries (size field 7), keeping the colour-resolution bits.
        out[10] = (packed & 0x70) | 0x80 | 0x07;
        out.extend((0..=255u8).flat_map(|i| [i, i, i]));
    }
    for r in keep {
        out.extend_from_slice(&bytes[r]);
    }
    if cut {
        out.push(0x3B);
    }
    Some(out)
}

/// How many frames (image descriptors) the file has, walking its blocks without decoding
/// any (LZW data is skipped by its sub-block lengths). A truncated file counts the frames
/// it starts; what follows an unknown block type is not counted (`repair` cuts it).
pub fn count_frames(bytes: &[u8]) -> u64 {
    let Some(&packed) = bytes.get(10) else {
        return 0;
    };
    let mut at = HEADER
        + if packed & 0x80 != 0 {
            table_len(packed)
        } else {
            0
        };
    let mut frames = 0;
    loop {
        let end = match bytes.get(at) {
            Some(0x21) => sub_blocks(bytes, at + 2),
            Some(0x2C) => {
                frames += 1;
                let packed = bytes.get(at + 9).copied().unwrap_or(0);
                let local = if packed & 0x80 != 0 {
                    table_len(packed)
                } else {
                    0
                };
                sub_blocks(bytes, (at + 10 + local + 1).min(bytes.len()))
            }
            _ => return frames,
        };
        if end > bytes.len() {
            return frames;
        }
        at = end;
    }
}

fn table_len(packed: u8) -> usize {
    3 << ((packed & 0x07) + 1)
}

/// The byte ranges to keep from `start` on (one range when nothing is dropped), and whether
/// the file was cut at an unknown block type.
fn walk(bytes: &[u8], start: usize) -> (Vec<Range<usize>>, bool) {
    let (mut keep, mut from, mut at) = (Vec::new(), start, start);
    let cut = loop {
        let Some(&block) = bytes.get(at) else {
            break false;
        };
        let end = match block {
            0x21 => {
                let end = sub_blocks(bytes, at + 2);
                if !bytes
                    .get(at + 1)
                    .is_some_and(|l| KNOWN_EXTENSIONS.contains(l))
                {
                    keep.push(from..at);
                    from = end.min(bytes.len());
                }
                end
            }
            0x2C => {
                let packed = bytes.get(at + 9).copied().unwrap_or(0);
                let local = if packed & 0x80 != 0 {
                    table_len(packed)
                } else {
                    0
                };
                // Descriptor (10 bytes), local table, LZW minimum code size, data.
                sub_blocks(bytes, at + 10 + local + 1)
            }
            0x3B => break false,
            _ => break true,
        };
        if end > bytes.len() {
            break false;
        }
        at = end;
    };
    keep.push(from..if cut { at } else { bytes.len() });
    (keep, cut)
}

/// The end of the sub-block chain starting at `at` (past the zero-length terminator); past
/// the end of `bytes` if the file is truncated.
fn sub_blocks(bytes: &[u8], mut at: usize) -> usize {
    loop {
        match bytes.get(at) {
            None => return usize::MAX,
            Some(0) => return at + 1,
            Some(&n) => at += 1 + n as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 GIF87a; `global` adds a 2-entry table, `ext` an extension block first.
    fn gif(global: bool, ext: Option<u8>) -> Vec<u8> {
        let mut g = b"GIF87a\x01\x00\x01\x00".to_vec();
        g.extend_from_slice(if global {
            &[0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]
        } else {
            &[0, 0, 0]
        });
        if let Some(label) = ext {
            g.extend_from_slice(&[0x21, label, 2, 7, 7, 0]);
        }
        g.extend_from_slice(b"\x2c\0\0\0\0\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b");
        g
    }

    #[test]
    fn frames_are_counted_without_decoding() {
        assert_eq!(count_frames(&gif(true, Some(0xFE))), 1);
        // Two more frames whose LZW data no decoder would take: counting skips it.
        let mut three = gif(false, None);
        three.pop();
        for _ in 0..2 {
            three.extend_from_slice(b"\x2c\0\0\0\0\x01\x00\x01\x00\x00\x0f\x03\xff\xff\xff\x00");
        }
        three.push(0x3B);
        assert_eq!(count_frames(&three), 3);
        assert_eq!(
            count_frames(&three[..three.len() - 8]),
            3,
            "a started frame counts"
        );
        assert_eq!(count_frames(b"GIF8"), 0);
    }

    #[test]
    fn only_files_the_decoder_refuses_are_copied_and_then_decode() {
        assert_eq!(repair(&gif(true, Some(0xFE))), None);
        for broken in [
            gif(false, None),
            gif(true, Some(0x99)),
            gif(false, Some(0x42)),
        ] {
            let fixed = repair(&broken).expect("repaired");
            let img = image::load_from_memory(&fixed).expect("decodes");
            assert_eq!((img.width(), img.height()), (1, 1));
            assert!(
                image::load_from_memory(&broken).is_err(),
                "the crate refuses the original"
            );
        }
        // An unknown block type ends the file there.
        let mut junk = gif(true, None);
        let trailer = junk.len() - 1;
        junk[trailer] = 0x99;
        assert_eq!(repair(&junk).unwrap().last(), Some(&0x3B));
    }
}
