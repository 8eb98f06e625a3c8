//! What a video stream's sequence parameter set says about its pictures, and the reading
//! shared by H.264 ([`super::avc`]) and HEVC ([`super::hevc`]) sets: Exp-Golomb bits with
//! emulation prevention removed, and the start of the VUI (Annex E of both standards),
//! which holds the sample aspect ratio, range and colour description. Every read is
//! bounds-checked: a short or malformed set gives `None`, never a panic.

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

/// The set's VUI, if it has one (the flag is next), on top of what was read before it.
pub(super) fn with_vui(r: &mut Bits<'_>, chroma_format: u32, bit_depth: u32) -> Option<Sps> {
    let mut sps = Sps {
        chroma_format,
        bit_depth,
        sar: None,
        full_range: None,
        colour: None,
    };
    if r.flag()? {
        vui(r, &mut sps)?;
    }
    Some(sps)
}

/// Removes emulation-prevention bytes (`00 00 03` → `00 00`).
pub(super) fn unescape(nal: &[u8]) -> Vec<u8> {
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

/// The VUI up to the colour description (the rest is not needed).
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
pub(super) struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Bits { data, at: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.at / 8)?;
        let b = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(b as u32)
    }

    pub(super) fn flag(&mut self) -> Option<bool> {
        self.bit().map(|b| b == 1)
    }

    pub(super) fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |v, _| Some(v << 1 | self.bit()?))
    }

    pub(super) fn skip(&mut self, n: usize) -> Option<()> {
        self.at += n;
        (self.at <= self.data.len() * 8).then_some(())
    }

    /// Unsigned Exp-Golomb; codes past 32 bits are malformed here.
    pub(super) fn ue(&mut self) -> Option<u32> {
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

    pub(super) fn se(&mut self) -> Option<i64> {
        let k = self.ue()? as i64;
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }

    /// A scaling list is read only to get past it (§7.3.2.1.1.1).
    pub(super) fn scaling_list(&mut self, size: usize) -> Option<()> {
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
}
