//! Reading a source object for deriving.
//!
//! Today a source is read whole, with one GET that refuses, from its declared size, anything
//! over `limits.max_input_bytes` before the body is downloaded. [`SourceBody`] is the seam
//! for sources that must not be held in memory (a poster frame of a 2 GB video is read by
//! ranges or streamed to a capped temp file): such a body becomes another variant, and only
//! the engine stage that consumes it needs to know.

use bytes::Bytes;

/// One version of a source, as read.
#[derive(Debug, Clone)]
pub struct Source {
    pub key: String,
    /// The version this read saw; every object derived from it records it.
    pub etag: String,
    pub body: SourceBody,
}

#[derive(Debug, Clone)]
pub enum SourceBody {
    /// The whole object in memory.
    Bytes(Bytes),
}

impl Source {
    /// The bytes, for the engine's in-memory decoders.
    pub fn bytes(&self) -> &Bytes {
        match &self.body {
            SourceBody::Bytes(b) => b,
        }
    }

    /// Bytes this source holds in memory (part of the job's memory reservation).
    pub fn resident_bytes(&self) -> u64 {
        self.bytes().len() as u64
    }
}
