//! Reading a source object for deriving.
//!
//! A source is read whole, with one GET that refuses, from its declared size, anything over
//! `limits.max_input_bytes` before the body is downloaded, and held in memory (the decoders
//! read memory; the job's memory reservation counts it). A video may be larger than that
//! (up to `limits.max_video_bytes`): it is never held in memory, but streamed into a temp
//! file for the tools to read ([`SourceBody::File`]).

use std::io::Read as _;
use std::sync::Arc;

use bytes::Bytes;

use super::DeriveError;
use crate::engine::EngineError;

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
    /// The whole object in a local temp file (removed when the last clone goes), with its
    /// first bytes in memory to tell its type.
    File {
        file: Arc<tempfile::NamedTempFile>,
        head: Bytes,
        len: u64,
    },
}

/// How much of a file body is kept in memory to sniff its type.
pub const HEAD_BYTES: usize = 64 << 10;

impl Source {
    /// The first bytes (all of them for an in-memory body), to tell the type from.
    pub fn head(&self) -> &[u8] {
        match &self.body {
            SourceBody::Bytes(b) => b,
            SourceBody::File { head, .. } => head,
        }
    }

    /// The whole object in memory, for the engine's decoders; a file body is refused as
    /// over `limits.max_input_bytes` (only a video may be larger, and videos are read from
    /// the file).
    pub fn bytes(&self) -> Result<&Bytes, DeriveError> {
        match &self.body {
            SourceBody::Bytes(b) => Ok(b),
            SourceBody::File { len, .. } => Err(DeriveError::Engine(EngineError::LimitExceeded(
                format!("source is {len} bytes, over limits.max_input_bytes"),
            ))),
        }
    }

    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        match &self.body {
            SourceBody::Bytes(b) => b.len() as u64,
            SourceBody::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes this source holds in memory (part of the job's memory reservation).
    pub fn resident_bytes(&self) -> u64 {
        self.head().len() as u64
    }
}

/// The source streamed into a temp file (see the module docs), up to
/// `limits.max_video_bytes`.
pub(super) async fn fetch_to_file(
    d: &super::Deriver,
    mapping: &super::Mapping,
    key: &str,
) -> Result<Source, DeriveError> {
    let dir = d.extractors.temp_dir.clone();
    let make = move || super::still::local_copy(dir.as_deref(), &[]);
    let file = tokio::task::spawn_blocking(make)
        .await
        .map_err(|e| DeriveError::Panic(e.to_string()))??;
    let out = file
        .reopen()
        .map_err(|e| DeriveError::Panic(format!("local copy of the source: {e}")))?;
    let max = d.engine.limits().max_video_bytes;
    let meta = d
        .store
        .get_to_file(&mapping.source, key, max, out)
        .await?
        .ok_or_else(|| DeriveError::SourceMissing(key.to_string()))?;
    let path = file.path().to_path_buf();
    let read_head = move || -> std::io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(HEAD_BYTES);
        std::fs::File::open(path)?
            .take(HEAD_BYTES as u64)
            .read_to_end(&mut head)?;
        Ok(head)
    };
    let head = tokio::task::spawn_blocking(read_head)
        .await
        .map_err(|e| DeriveError::Panic(e.to_string()))?
        .map_err(|e| DeriveError::Panic(format!("reading the local copy: {e}")))?;
    Ok(Source {
        key: key.to_string(),
        etag: meta.etag,
        body: SourceBody::File {
            file: Arc::new(file),
            head: Bytes::from(head),
            len: meta.size,
        },
    })
}
