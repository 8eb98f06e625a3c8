//! An HEVC sequence parameter set (ITU-T H.265 §7.3.2.2), read from the `hvcC` box of an MP4
//! sample entry as far as the VUI's colour description. iPhone clips state their range only
//! here (their QuickTime `nclc` box has none).

use super::sps::{unescape, with_vui, Bits, Sps};

/// NAL unit type of a sequence parameter set.
const SPS_NAL: u8 = 33;

/// The first SPS of an `hvcC` payload (22 bytes of fields, then arrays of NAL units).
pub fn from_hvcc(hvcc: &[u8]) -> Option<Sps> {
    let arrays = *hvcc.get(22)?;
    let mut at = 23;
    for _ in 0..arrays {
        let kind = *hvcc.get(at)? & 0x3F;
        let count = u16::from_be_bytes([*hvcc.get(at + 1)?, *hvcc.get(at + 2)?]);
        at += 3;
        for _ in 0..count {
            let len = u16::from_be_bytes([*hvcc.get(at)?, *hvcc.get(at + 1)?]) as usize;
            let nal = hvcc.get(at + 2..at + 2 + len)?;
            if kind == SPS_NAL && nal.len() > 2 && (nal[0] >> 1) & 0x3F == SPS_NAL {
                return parse(&unescape(&nal[2..]));
            }
            at += 2 + len;
        }
    }
    None
}

fn parse(rbsp: &[u8]) -> Option<Sps> {
    let mut r = Bits::new(rbsp);
    r.skip(4)?; // sps_video_parameter_set_id
    let sub_layers = r.bits(3)? as usize;
    r.skip(1)?; // sps_temporal_id_nesting_flag
    profile_tier_level(&mut r, sub_layers)?;
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format = r.ue()?;
    if chroma_format == 3 {
        r.skip(1)?; // separate_colour_plane_flag
    }
    r.ue()?; // pic_width_in_luma_samples
    r.ue()?; // pic_height_in_luma_samples
    if r.flag()? {
        for _ in 0..4 {
            r.ue()?; // conf_win_{left,right,top,bottom}_offset
        }
    }
    let bit_depth = 8 + r.ue()?;
    r.ue()?; // bit_depth_chroma_minus8
    if chroma_format > 3 || bit_depth > 16 {
        return None;
    }
    let poc_lsb_bits = r.ue()? + 4;
    coding_structure(&mut r, sub_layers, poc_lsb_bits)?;
    let mut sps = with_vui(&mut r, chroma_format, bit_depth)?;
    // The decoder reads an unsignalled range as limited.
    sps.full_range = Some(sps.full_range.unwrap_or(false));
    Some(sps)
}

/// §7.3.3: 88 bits of general profile, the level, then the sub-layers'.
fn profile_tier_level(r: &mut Bits<'_>, sub_layers: usize) -> Option<()> {
    r.skip(88 + 8)?;
    let mut present = [(false, false); 8];
    for p in present.iter_mut().take(sub_layers) {
        *p = (r.flag()?, r.flag()?);
    }
    if sub_layers > 0 {
        r.skip(2 * (8 - sub_layers))?;
    }
    for &(profile, level) in present.iter().take(sub_layers) {
        r.skip(if profile { 88 } else { 0 } + if level { 8 } else { 0 })?;
    }
    Some(())
}

/// From the sub-layer ordering to `strong_intra_smoothing_enabled_flag`.
fn coding_structure(r: &mut Bits<'_>, sub_layers: usize, poc_lsb_bits: u32) -> Option<()> {
    let all_layers = r.flag()?;
    let first = if all_layers { 0 } else { sub_layers };
    for _ in first..=sub_layers {
        for _ in 0..3 {
            r.ue()?; // max_dec_pic_buffering, max_num_reorder_pics, max_latency_increase
        }
    }
    for _ in 0..6 {
        r.ue()?; // block sizes and transform hierarchy depths
    }
    if r.flag()? && r.flag()? {
        scaling_list_data(r)?;
    }
    r.skip(2)?; // amp_enabled_flag, sample_adaptive_offset_enabled_flag
    if r.flag()? {
        r.skip(8)?; // pcm sample bit depths
        r.ue()?;
        r.ue()?;
        r.skip(1)?;
    }
    short_term_ref_pic_sets(r)?;
    if r.flag()? {
        let count = r.ue()?;
        if count > 32 {
            return None;
        }
        for _ in 0..count {
            r.skip(poc_lsb_bits as usize + 1)?;
        }
    }
    r.skip(2) // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
}

/// §7.3.4, read only to get past it.
fn scaling_list_data(r: &mut Bits<'_>) -> Option<()> {
    for size in 0..4 {
        let step = if size == 3 { 3 } else { 1 };
        for _ in (0..6).step_by(step) {
            if !r.flag()? {
                r.ue()?; // scaling_list_pred_matrix_id_delta
                continue;
            }
            let coefficients = 64.min(1 << (4 + (size << 1)));
            if size > 1 {
                r.se()?; // scaling_list_dc_coef_minus8
            }
            for _ in 0..coefficients {
                r.se()?;
            }
        }
    }
    Some(())
}

/// §7.3.7: each set either lists its pictures or predicts from the one before, so the
/// number of pictures in every set is tracked.
fn short_term_ref_pic_sets(r: &mut Bits<'_>) -> Option<()> {
    let sets = r.ue()? as usize;
    if sets > 64 {
        return None;
    }
    let mut pictures = Vec::with_capacity(sets);
    for i in 0..sets {
        let predicted = i > 0 && r.flag()?;
        let count = if predicted {
            r.skip(1)?; // delta_rps_sign
            r.ue()?; // abs_delta_rps_minus1
            let mut count = 0;
            for _ in 0..=pictures[i - 1] {
                let used = r.flag()?;
                if used || r.flag()? {
                    count += 1;
                }
            }
            count
        } else {
            let (negative, positive) = (r.ue()?, r.ue()?);
            if negative > 16 || positive > 16 {
                return None;
            }
            for _ in 0..negative + positive {
                r.ue()?; // delta_poc_minus1
                r.skip(1)?; // used_by_curr_pic_flag
            }
            negative + positive
        };
        pictures.push(count);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_sets_give_none() {
        assert_eq!(from_hvcc(&[]), None);
        let mut hvcc = vec![0u8; 22];
        hvcc.extend([1, 0x21, 0, 1, 0, 3, 0x42, 0x01, 0xFF]);
        assert_eq!(from_hvcc(&hvcc), None);
        assert_eq!(parse(&[0xFF; 40]), None);
    }
}
