//! The few libtiff 4.5 functions derivd calls, declared by hand from `tiffio.h` (Debian's
//! `libtiff-dev`; `libtiff6` at run time). Only reading from memory through
//! `TIFFClientOpenExt` is used: libtiff never sees a path.

use std::ffi::{c_char, c_int, c_void};

/// libtiff's opaque handle.
#[repr(C)]
pub struct Tiff {
    _private: [u8; 0],
}

/// libtiff's opaque open options.
#[repr(C)]
pub struct OpenOptions {
    _private: [u8; 0],
}

pub type Handle = *mut c_void;
pub type ReadWriteProc = extern "C" fn(Handle, *mut c_void, isize) -> isize;
pub type SeekProc = extern "C" fn(Handle, u64, c_int) -> u64;
pub type CloseProc = extern "C" fn(Handle) -> c_int;
pub type SizeProc = extern "C" fn(Handle) -> u64;
pub type MapProc = extern "C" fn(Handle, *mut *mut c_void, *mut u64) -> c_int;
pub type UnmapProc = extern "C" fn(Handle, *mut c_void, u64);
/// `TIFFErrorHandlerExtR`: the `va_list` arrives as a pointer on the ABIs derivd builds for
/// (an array type on x86-64, passed by reference on AArch64), so it is declared as one.
pub type MessageHandler =
    extern "C" fn(*mut Tiff, *mut c_void, *const c_char, *const c_char, *mut c_void) -> c_int;
/// The old process-wide handler (`TIFFErrorHandler`); only ever set to none.
pub type GlobalHandler = Option<extern "C" fn(*const c_char, *const c_char, *mut c_void)>;

pub const TAG_IMAGEWIDTH: u32 = 256;
pub const TAG_IMAGELENGTH: u32 = 257;
pub const TAG_BITSPERSAMPLE: u32 = 258;
pub const TAG_PHOTOMETRIC: u32 = 262;
pub const TAG_ORIENTATION: u32 = 274;
pub const TAG_SAMPLESPERPIXEL: u32 = 277;
pub const TAG_ROWSPERSTRIP: u32 = 278;
pub const TAG_PLANARCONFIG: u32 = 284;
pub const TAG_TILEWIDTH: u32 = 322;
pub const TAG_TILELENGTH: u32 = 323;
pub const TAG_SAMPLEFORMAT: u32 = 339;
pub const TAG_INKSET: u32 = 332;
pub const TAG_ICCPROFILE: u32 = 34675;

pub const PHOTOMETRIC_MINISWHITE: u16 = 0;
pub const PHOTOMETRIC_MINISBLACK: u16 = 1;
pub const PHOTOMETRIC_RGB: u16 = 2;
pub const PHOTOMETRIC_PALETTE: u16 = 3;
pub const PHOTOMETRIC_SEPARATED: u16 = 5;
pub const PHOTOMETRIC_YCBCR: u16 = 6;
pub const INKSET_CMYK: u16 = 1;
pub const PLANARCONFIG_SEPARATE: u16 = 2;
pub const SAMPLEFORMAT_INT: u16 = 2;
pub const SAMPLEFORMAT_IEEEFP: u16 = 3;

#[link(name = "tiff")]
extern "C" {
    pub fn TIFFOpenOptionsAlloc() -> *mut OpenOptions;
    pub fn TIFFOpenOptionsFree(opts: *mut OpenOptions);
    pub fn TIFFOpenOptionsSetMaxSingleMemAlloc(opts: *mut OpenOptions, max: isize);
    pub fn TIFFOpenOptionsSetErrorHandlerExtR(
        opts: *mut OpenOptions,
        handler: MessageHandler,
        user_data: *mut c_void,
    );
    pub fn TIFFOpenOptionsSetWarningHandlerExtR(
        opts: *mut OpenOptions,
        handler: MessageHandler,
        user_data: *mut c_void,
    );
    #[allow(clippy::too_many_arguments)]
    pub fn TIFFClientOpenExt(
        name: *const c_char,
        mode: *const c_char,
        handle: Handle,
        read: ReadWriteProc,
        write: ReadWriteProc,
        seek: SeekProc,
        close: CloseProc,
        size: SizeProc,
        map: MapProc,
        unmap: UnmapProc,
        opts: *mut OpenOptions,
    ) -> *mut Tiff;
    pub fn TIFFClose(tif: *mut Tiff);
    pub fn TIFFSetErrorHandler(handler: GlobalHandler) -> GlobalHandler;
    pub fn TIFFSetWarningHandler(handler: GlobalHandler) -> GlobalHandler;
    pub fn TIFFGetField(tif: *mut Tiff, tag: u32, ...) -> c_int;
    pub fn TIFFGetFieldDefaulted(tif: *mut Tiff, tag: u32, ...) -> c_int;
    pub fn TIFFIsTiled(tif: *mut Tiff) -> c_int;
    pub fn TIFFStripSize(tif: *mut Tiff) -> isize;
    pub fn TIFFTileSize(tif: *mut Tiff) -> isize;
    pub fn TIFFComputeTile(tif: *mut Tiff, x: u32, y: u32, z: u32, sample: u16) -> u32;
    pub fn TIFFReadEncodedStrip(tif: *mut Tiff, strip: u32, buf: *mut c_void, size: isize)
        -> isize;
    pub fn TIFFReadEncodedTile(tif: *mut Tiff, tile: u32, buf: *mut c_void, size: isize) -> isize;
    pub fn TIFFRGBAImageOK(tif: *mut Tiff, emsg: *mut c_char) -> c_int;
    pub fn TIFFReadRGBAImageOriented(
        tif: *mut Tiff,
        width: u32,
        height: u32,
        raster: *mut u32,
        orientation: c_int,
        stop_on_error: c_int,
    ) -> c_int;
}

extern "C" {
    /// libc's, to format libtiff's messages (their `va_list` as received).
    pub fn vsnprintf(buf: *mut c_char, len: usize, fmt: *const c_char, args: *mut c_void) -> c_int;
}
