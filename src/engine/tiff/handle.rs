//! One libtiff handle over a buffer in memory: reads only, never a file or a path, with
//! libtiff's warnings and errors collected per handle (nothing reaches stderr) and every
//! allocation libtiff itself makes capped (`TIFFOpenOptionsSetMaxSingleMemAlloc`).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Once;

use super::ffi::{self, Handle, Tiff};
use crate::engine::error::EngineError;

/// The source bytes and a read position: what libtiff's I/O callbacks see.
struct Io<'a> {
    bytes: &'a [u8],
    pos: u64,
}

/// libtiff's last error and how many messages it sent (warnings are only counted).
#[derive(Default)]
struct Messages {
    error: Option<String>,
    count: u32,
}

/// An open TIFF (first directory read). Closed on drop.
pub struct Open<'a> {
    pub(super) tif: *mut Tiff,
    // Boxed so their addresses, handed to libtiff, stay put; dropped after `tif` is closed.
    _io: Box<Io<'a>>,
    messages: Box<RefCell<Messages>>,
}

impl<'a> Open<'a> {
    /// Opens `bytes`; libtiff may allocate at most `max_alloc` bytes at once.
    pub fn new(bytes: &'a [u8], max_alloc: u64) -> Result<Self, EngineError> {
        static QUIET: Once = Once::new();
        // Messages without a handle would go to the process-wide handlers: none.
        QUIET.call_once(|| unsafe {
            ffi::TIFFSetErrorHandler(None);
            ffi::TIFFSetWarningHandler(None);
        });
        let mut io = Box::new(Io { bytes, pos: 0 });
        let messages = Box::new(RefCell::new(Messages::default()));
        let msg_ptr = &*messages as *const RefCell<Messages> as *mut c_void;
        let tif = unsafe {
            let opts = ffi::TIFFOpenOptionsAlloc();
            if opts.is_null() {
                return Err(EngineError::Internal(
                    "libtiff: no memory for options".into(),
                ));
            }
            ffi::TIFFOpenOptionsSetMaxSingleMemAlloc(
                opts,
                max_alloc.min(isize::MAX as u64) as isize,
            );
            ffi::TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, msg_ptr);
            ffi::TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, msg_ptr);
            // "m": never memory-map (libtiff gets copies; it must not touch `bytes`).
            let tif = ffi::TIFFClientOpenExt(
                c"source".as_ptr(),
                c"rm".as_ptr(),
                &mut *io as *mut Io as Handle,
                read,
                write,
                seek,
                close,
                size,
                map,
                unmap,
                opts,
            );
            ffi::TIFFOpenOptionsFree(opts);
            tif
        };
        let open = Open {
            tif,
            _io: io,
            messages,
        };
        if tif.is_null() {
            return Err(open.error("cannot read the TIFF header"));
        }
        Ok(open)
    }

    /// A typed error from libtiff's last message, or `fallback` if it sent none.
    pub fn error(&self, fallback: &str) -> EngineError {
        let m = self.messages.borrow();
        let why = m.error.clone().unwrap_or_else(|| fallback.to_string());
        if why.contains("Maximum single memory allocation") || why.contains("Memory allocation") {
            EngineError::LimitExceeded(format!("TIFF: {why}"))
        } else if why.contains("not configured") || why.contains("not implemented") {
            EngineError::UnsupportedFormat(format!("TIFF: {why}"))
        } else {
            EngineError::Corrupt(format!("TIFF: {why}"))
        }
    }

    /// A 16-bit field, or libtiff's default for it.
    pub fn u16_field(&self, tag: u32) -> Option<u16> {
        let mut v: u16 = 0;
        (unsafe { ffi::TIFFGetFieldDefaulted(self.tif, tag, &mut v as *mut u16) } == 1).then_some(v)
    }

    /// A 32-bit field (no default).
    pub fn u32_field(&self, tag: u32) -> Option<u32> {
        let mut v: u32 = 0;
        (unsafe { ffi::TIFFGetField(self.tif, tag, &mut v as *mut u32) } == 1).then_some(v)
    }

    pub fn tiled(&self) -> bool {
        unsafe { ffi::TIFFIsTiled(self.tif) != 0 }
    }

    /// Bytes of one decoded tile or strip.
    pub fn chunk_size(&self) -> u64 {
        let size = unsafe {
            if self.tiled() {
                ffi::TIFFTileSize(self.tif)
            } else {
                ffi::TIFFStripSize(self.tif)
            }
        };
        size.max(0) as u64
    }

    /// The embedded ICC profile, if any (borrowed from libtiff's directory).
    pub fn icc(&self) -> Option<&[u8]> {
        let (mut len, mut data): (u32, *const u8) = (0, std::ptr::null());
        let ok = unsafe {
            ffi::TIFFGetField(
                self.tif,
                ffi::TAG_ICCPROFILE,
                &mut len as *mut u32,
                &mut data,
            )
        };
        (ok == 1 && !data.is_null() && len > 0)
            .then(|| unsafe { std::slice::from_raw_parts(data, len as usize) })
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.tif.is_null() {
            unsafe { ffi::TIFFClose(self.tif) };
        }
    }
}

/// Formats one of libtiff's messages: `module: text`.
fn format(module: *const c_char, fmt: *const c_char, args: *mut c_void) -> String {
    let mut buf = [0 as c_char; 512];
    let text = if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        unsafe { ffi::vsnprintf(buf.as_mut_ptr(), buf.len(), fmt, args) };
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    } else {
        // Elsewhere the va_list's ABI is not known here: the unformatted text.
        unsafe { CStr::from_ptr(fmt) }
            .to_string_lossy()
            .into_owned()
    };
    if module.is_null() {
        return text;
    }
    let module = unsafe { CStr::from_ptr(module) }.to_string_lossy();
    format!("{module}: {text}")
}

fn messages<'m>(user: *mut c_void) -> &'m RefCell<Messages> {
    unsafe { &*(user as *const RefCell<Messages>) }
}

extern "C" fn on_error(
    _: *mut Tiff,
    user: *mut c_void,
    module: *const c_char,
    fmt: *const c_char,
    args: *mut c_void,
) -> c_int {
    if let Ok(mut m) = messages(user).try_borrow_mut() {
        m.count += 1;
        // The first error is the cause; later ones are its consequences.
        if m.error.is_none() {
            m.error = Some(format(module, fmt, args));
        }
    }
    1
}

extern "C" fn on_warning(
    _: *mut Tiff,
    user: *mut c_void,
    _: *const c_char,
    _: *const c_char,
    _: *mut c_void,
) -> c_int {
    if let Ok(mut m) = messages(user).try_borrow_mut() {
        m.count += 1;
    }
    1
}

fn io<'b>(h: Handle) -> &'b mut Io<'b> {
    unsafe { &mut *(h as *mut Io) }
}

extern "C" fn read(h: Handle, buf: *mut c_void, len: isize) -> isize {
    let io = io(h);
    let start = io.pos.min(io.bytes.len() as u64) as usize;
    let n = (len.max(0) as usize).min(io.bytes.len() - start);
    unsafe { std::ptr::copy_nonoverlapping(io.bytes[start..].as_ptr(), buf as *mut u8, n) };
    io.pos = (start + n) as u64;
    n as isize
}

extern "C" fn write(_: Handle, _: *mut c_void, _: isize) -> isize {
    -1
}

extern "C" fn seek(h: Handle, off: u64, whence: c_int) -> u64 {
    let io = io(h);
    let base = match whence {
        0 => 0,
        1 => io.pos,
        2 => io.bytes.len() as u64,
        _ => return u64::MAX,
    };
    // Offsets are unsigned; a "negative" one from SEEK_CUR/SEEK_END wraps, as in C.
    io.pos = base.wrapping_add(off);
    io.pos
}

extern "C" fn close(_: Handle) -> c_int {
    0
}

extern "C" fn size(h: Handle) -> u64 {
    io(h).bytes.len() as u64
}

extern "C" fn map(_: Handle, _: *mut *mut c_void, _: *mut u64) -> c_int {
    0
}

extern "C" fn unmap(_: Handle, _: *mut c_void, _: u64) {}
