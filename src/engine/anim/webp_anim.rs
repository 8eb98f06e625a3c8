//! Animated WebP through libwebp's `WebPAnimEncoder` (libwebpmux, vendored by `libwebp-sys`),
//! fed one frame at a time so no render holds more than one frame per output.
//!
//! The `webp` crate's `AnimEncoder` is not used: it keeps every frame until the end and
//! closes the animation at timestamp 0, which loses the last frame's duration.
//!
//! Settings are libvips' (and so sharp's) defaults for animated WebP: lossy, the still
//! outputs' quality and method, no mixed lossy/lossless frames, no size minimisation, and
//! keyframes only when the encoder must (`kmin`/`kmax` near `i32::MAX`).

use std::ptr;

use libwebp_sys as sys;

use crate::engine::bitmap::Bitmap;

/// One animated WebP being written, frame by frame, at a fixed canvas size.
pub struct AnimWriter {
    enc: *mut sys::WebPAnimEncoder,
    config: sys::WebPConfig,
    size: (u32, u32),
    /// Where the next frame starts, in ms since the first.
    at_ms: i32,
}

impl AnimWriter {
    /// A `width × height` animation played `loops` times (0: forever).
    pub fn new(
        width: u32,
        height: u32,
        loops: u16,
        quality: f32,
        method: i32,
    ) -> Result<Self, String> {
        let mut config = sys::WebPConfig::new().map_err(|()| "WebP config".to_string())?;
        config.quality = quality;
        config.method = method;
        // SAFETY: `config` is initialised; validation only reads it.
        if unsafe { sys::WebPValidateConfig(&config) } == 0 {
            return Err("invalid WebP config".into());
        }
        let mut opts = std::mem::MaybeUninit::<sys::WebPAnimEncoderOptions>::uninit();
        let abi = sys::WebPGetMuxABIVersion();
        // SAFETY: the init function fills every field of `opts` for this ABI version.
        let mut opts = unsafe {
            if sys::WebPAnimEncoderOptionsInitInternal(opts.as_mut_ptr(), abi) == 0 {
                return Err("WebPAnimEncoderOptionsInit failed".into());
            }
            opts.assume_init()
        };
        opts.anim_params.loop_count = loops as i32;
        opts.minimize_size = 0;
        opts.allow_mixed = 0;
        opts.kmin = i32::MAX - 1;
        opts.kmax = i32::MAX;
        // SAFETY: `opts` is initialised; a null return is checked.
        let enc =
            unsafe { sys::WebPAnimEncoderNewInternal(width as i32, height as i32, &opts, abi) };
        if enc.is_null() {
            return Err(format!("WebPAnimEncoderNew {width}×{height} failed"));
        }
        Ok(AnimWriter {
            enc,
            config,
            size: (width, height),
            at_ms: 0,
        })
    }

    /// Adds `frame` (RGB or RGBA, the canvas size) shown for `duration_ms`.
    pub fn add(&mut self, frame: &Bitmap, duration_ms: u32) -> Result<(), String> {
        if (frame.width, frame.height) != self.size || !matches!(frame.channels, 3 | 4) {
            return Err(format!(
                "frame {}×{}×{} for a {}×{} animation",
                frame.width, frame.height, frame.channels, self.size.0, self.size.1
            ));
        }
        let mut pic = sys::WebPPicture::new().map_err(|()| "WebPPicture".to_string())?;
        pic.width = frame.width as i32;
        pic.height = frame.height as i32;
        pic.use_argb = 1;
        let stride = (frame.width * frame.channels as u32) as i32;
        // SAFETY: `frame.data` holds height rows of `stride` bytes (checked by Bitmap's
        // makers); the picture owns what the import allocates and is freed below.
        let ok = unsafe {
            let imported = match frame.channels {
                4 => sys::WebPPictureImportRGBA(&mut pic, frame.data.as_ptr(), stride),
                _ => sys::WebPPictureImportRGB(&mut pic, frame.data.as_ptr(), stride),
            };
            let added = imported != 0
                && sys::WebPAnimEncoderAdd(self.enc, &mut pic, self.at_ms, &self.config) != 0;
            sys::WebPPictureFree(&mut pic);
            added
        };
        if !ok {
            return Err(self.error("adding a frame"));
        }
        self.at_ms = self
            .at_ms
            .saturating_add(duration_ms.min(i32::MAX as u32) as i32);
        Ok(())
    }

    /// Closes the animation (the last frame keeps its duration) and returns the file.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        let mut data = sys::WebPData {
            bytes: ptr::null(),
            size: 0,
        };
        // SAFETY: a null frame ends the animation at `at_ms`; `data` receives a buffer
        // that libwebp allocated and is cleared after the copy.
        unsafe {
            if sys::WebPAnimEncoderAdd(self.enc, ptr::null_mut(), self.at_ms, ptr::null()) == 0
                || sys::WebPAnimEncoderAssemble(self.enc, &mut data) == 0
            {
                return Err(self.error("assembling"));
            }
            let bytes = std::slice::from_raw_parts(data.bytes, data.size).to_vec();
            sys::WebPDataClear(&mut data);
            Ok(bytes)
        }
    }

    fn error(&self, during: &str) -> String {
        // SAFETY: the encoder is live; the message is a C string it owns (or null).
        let msg = unsafe { sys::WebPAnimEncoderGetError(self.enc) };
        let text = if msg.is_null() {
            "unknown error".into()
        } else {
            // SAFETY: non-null, NUL-terminated, valid while the encoder lives.
            unsafe { std::ffi::CStr::from_ptr(msg) }
                .to_string_lossy()
                .into_owned()
        };
        format!("animated WebP, {during}: {text}")
    }
}

impl Drop for AnimWriter {
    fn drop(&mut self) {
        // SAFETY: `enc` came from WebPAnimEncoderNew and is deleted once, here.
        unsafe { sys::WebPAnimEncoderDelete(self.enc) }
    }
}
