//! The parts of an H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1 and Annex E) that
//! decide how a frame turns into RGB: chroma format, bit depth, and the VUI's sample aspect
//! ratio, range and colour description. Read from the `avcC` box of an MP4 sample entry.
//! Every read is bounds-checked: a short or malformed SPS gives `None`, never a panic.

/// What the SPS says; `None` fields were not signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sps {
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format: u32,
    pub bit_depth: u32,
    /// Sample aspect ratio as (horizontal, vertical) spacing.
    pub sar: Option<(u32, u32)>,
    pub full_range: Option<bool>,
    /// (colour primaries, transfer characteristics, matrix coefficients), ISO/IEC 23091-2.
    pub colour: Option<(u8, u8, u8)>,
}

/// The first SPS of an `avcC` payload.
pub fn from_avcc(avcc: &[u8]) -> Option<Sps> {
    let count = *avcc.get(5)? & 0x1F;
    if count == 0 {
        return None;
    }
    let len = u16::from_be_bytes([*avcc.get(6)?, *avcc.get(7)?]) as usize;
    let nal = avcc.get(8..8 + len)?;
    // NAL header: type 7 is a sequence parameter set.
    if nal.first()? & 0x1F != 7 {
        return None;
    }
    parse(&unescape(&nal[1..]))
}

/// Removes emulation-prevention bytes (`00 00 03` → `00 00`).
fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Profiles whose SPS carries chroma format, bit depth and scaling matrices.
const HIGH_PROFILES: [u8; 13] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

fn parse(rbsp: &[u8]) -> Option<Sps> {
    let mut r = Bits::new(rbsp);
    let profile = r.bits(8)? as u8;
    r.skip(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let (mut chroma_format, mut bit_depth) = (1, 8);
    if HIGH_PROFILES.contains(&profile) {
        chroma_format = r.ue()?;
        if chroma_format == 3 {
            r.skip(1)?; // separate_colour_plane_flag
        }
        bit_depth = 8 + r.ue()?;
        r.ue()?; // bit_depth_chroma_minus8
        r.skip(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.flag()? {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.flag()? {
                    r.scaling_list(if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    if chroma_format > 3 || bit_depth > 14 {
        return None;
    }
    skip_frame_structure(&mut r)?;
    let mut sps = Sps {
        chroma_format,
        bit_depth,
        sar: None,
        full_range: None,
        colour: None,
    };
    if r.flag()? {
        vui(&mut r, &mut sps)?;
    }
    Some(sps)
}

/// From `log2_max_frame_num_minus4` to `frame_cropping`: nothing derivd needs.
fn skip_frame_structure(r: &mut Bits<'_>) -> Option<()> {
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.skip(1)?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return None;
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.skip(1)?; // gaps_in_frame_num_value_allowed_flag
    r.ue()?; // pic_width_in_mbs_minus1
    r.ue()?; // pic_height_in_map_units_minus1
    if !r.flag()? {
        r.skip(1)?; // mb_adaptive_frame_field_flag
    }
    r.skip(1)?; // direct_8x8_inference_flag
    if r.flag()? {
        for _ in 0..4 {
            r.ue()?; // frame_crop_{left,right,top,bottom}_offset
        }
    }
    Some(())
}

/// Table E-1: `aspect_ratio_idc` → sample aspect ratio.
const SAR_TABLE: [(u32, u32); 17] = [
    (0, 0),
    (1, 1),
    (12, 11),
    (10, 11),
    (16, 11),
    (40, 33),
    (24, 11),
    (20, 11),
    (32, 11),
    (80, 33),
    (18, 11),
    (15, 11),
    (64, 33),
    (160, 99),
    (4, 3),
    (3, 2),
    (2, 1),
];

fn vui(r: &mut Bits<'_>, sps: &mut Sps) -> Option<()> {
    if r.flag()? {
        let idc = r.bits(8)?;
        sps.sar = match idc {
            255 => Some((r.bits(16)?, r.bits(16)?)),
            1..=16 => Some(SAR_TABLE[idc as usize]),
            _ => None,
        }
        .filter(|(h, v)| *h > 0 && *v > 0);
    }
    if r.flag()? {
        r.skip(1)?; // overscan_appropriate_flag
    }
    if r.flag()? {
        r.skip(3)?; // video_format
        sps.full_range = Some(r.flag()?);
        if r.flag()? {
            let p = r.bits(8)? as u8;
            let t = r.bits(8)? as u8;
            let m = r.bits(8)? as u8;
            sps.colour = Some((p, t, m));
        }
    }
    Some(())
}

/// A big-endian bit reader with Exp-Golomb codes.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, at: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.at / 8)?;
        let b = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(b as u32)
    }

    fn flag(&mut self) -> Option<bool> {
        self.bit().map(|b| b == 1)
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |v, _| Some(v << 1 | self.bit()?))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.at += n;
        (self.at <= self.data.len() * 8).then_some(())
    }

    /// Unsigned Exp-Golomb; codes past 32 bits are malformed here.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + rest as u64).min(u32::MAX as u64) as u32)
    }

    fn se(&mut self) -> Option<i64> {
        let k = self.ue()? as i64;
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }

    /// A scaling list is read only to get past it (§7.3.2.1.1.1).
    fn scaling_list(&mut self, size: usize) -> Option<()> {
        let (mut last, mut next) = (8i64, 8i64);
        for _ in 0..size {
            if next != 0 {
                next = (last + self.se()? + 256) % 256;
            }
            last = if next == 0 { last } else { next };
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // 1 → 0; 010 → 1; 011 → 2; 00100 → 3.
        let mut r = Bits::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(
            [r.ue(), r.ue(), r.ue(), r.ue()],
            [Some(0), Some(1), Some(2), Some(3)]
        );
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }

    #[test]
    fn malformed_sets_give_none() {
        assert_eq!(from_avcc(&[]), None);
        assert_eq!(
            from_avcc(&[1, 100, 0, 40, 0xFF, 0xE1, 0, 2, 0x67, 100]),
            None
        );
        assert_eq!(parse(&[0xFF; 3]), None);
        // Thirty-two leading zeros: not an Exp-Golomb code we accept.
        assert_eq!(Bits::new(&[0; 8]).ue(), None);
    }
}
