//! An H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1), read from the `avcC` box of an
//! MP4 sample entry as far as the VUI's colour description.

use super::sps::{unescape, with_vui, Bits, Sps};

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
    with_vui(&mut r, chroma_format, bit_depth)
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

#[cfg(test)]
mod tests {
    use super::*;

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
