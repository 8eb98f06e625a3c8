//! The one picture format both tools write to derivd: binary PPM (`P6`, 8-bit RGB), whose
//! header states the size, so derivd never has to predict the tool's rounding.

use super::ExtractError;

/// (width, height, RGB bytes) of one P6 image at the start of `bytes`.
pub fn parse(bytes: Vec<u8>) -> Result<(u32, u32, Vec<u8>), ExtractError> {
    let bad = |m: &str| ExtractError::Internal(format!("tool output is not a PPM: {m}"));
    if !bytes.starts_with(b"P6") {
        return Err(bad("no P6 magic"));
    }
    let mut fields = [0u64; 3];
    let mut at = 2;
    for f in &mut fields {
        while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        let start = at;
        while bytes.get(at).is_some_and(|b| b.is_ascii_digit()) && at - start < 9 {
            at += 1;
        }
        *f = std::str::from_utf8(&bytes[start..at])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad header number"))?;
    }
    let [w, h, max] = fields;
    if max != 255 || w == 0 || h == 0 {
        return Err(bad("not 8-bit or empty"));
    }
    let start = at + 1; // exactly one whitespace byte after maxval
    let len = (w * h * 3) as usize;
    if bytes.len() < start + len {
        return Err(bad("pixel data cut short"));
    }
    let mut data = bytes;
    data.drain(..start);
    data.truncate(len);
    Ok((w as u32, h as u32, data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_size_from_the_header() {
        let mut p = b"P6\n2 1\n255\n".to_vec();
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 9]);
        assert_eq!(super::parse(p).unwrap(), (2, 1, vec![1, 2, 3, 4, 5, 6]));
        assert!(super::parse(b"P6\n2 1\n255\n\x01".to_vec()).is_err());
        assert!(super::parse(b"GIF89a".to_vec()).is_err());
    }
}
