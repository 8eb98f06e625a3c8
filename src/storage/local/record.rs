//! Reading a record: its header (checked against the key asked for) and its body.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use super::{Header, IoContext, Location, MAGIC, MAX_HEADER_LEN};
use crate::storage::{ObjectMeta, StoreError};

/// Opens a record and reads its header, leaving the file positioned at the payload.
/// `Ok(None)` if there is no record.
pub(super) fn open_record(path: &Path) -> Result<Option<(ObjectMeta, File)>, StoreError> {
    let mut file = match File::open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => other.ctx("open", path)?,
    };
    let corrupt =
        |why: &str| StoreError::Permanent(format!("corrupt record {}: {why}", path.display()));
    let mut prefix = [0u8; 12];
    file.read_exact(&mut prefix)
        .map_err(|_| corrupt("short prefix"))?;
    let header_len = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes"));
    if &prefix[..8] != MAGIC || header_len > MAX_HEADER_LEN {
        return Err(corrupt("bad magic or header length"));
    }
    let mut raw = vec![0u8; header_len as usize];
    file.read_exact(&mut raw)
        .map_err(|_| corrupt("short header"))?;
    let meta = Header::deserialize(&mut serde_json::Deserializer::from_slice(&raw))
        .map_err(|e| corrupt(&e.to_string()))?;
    if file.metadata().ctx("stat", path)?.len() != 12 + u64::from(header_len) + meta.size {
        return Err(corrupt("length does not match header"));
    }
    Ok(Some((meta, file)))
}

/// Copies the record's body into `sink`, refused over `max_bytes` from the header's size
/// and again while copying (a record longer than its header says never is, but still stops
/// at the limit); the metadata, `size` the bytes copied.
pub(super) fn read_body(
    loc: &Location,
    key: &str,
    max_bytes: u64,
    sink: &mut dyn Write,
) -> Result<Option<ObjectMeta>, StoreError> {
    let Some((mut meta, file)) = read_header(loc)? else {
        return Ok(None);
    };
    let too_large = |size| StoreError::TooLarge {
        key: key.to_owned(),
        size,
        limit: max_bytes,
    };
    if meta.size > max_bytes {
        return Err(too_large(meta.size));
    }
    let copied = std::io::copy(&mut file.take(max_bytes.saturating_add(1)), sink)
        .ctx("read", &loc.record)?;
    if copied > max_bytes {
        return Err(too_large(copied));
    }
    meta.size = copied;
    Ok(Some(meta))
}

/// Reads the record for `loc`, checking it really belongs to the requested key.
pub(super) fn read_header(loc: &Location) -> Result<Option<(ObjectMeta, File)>, StoreError> {
    match open_record(&loc.record)? {
        Some((m, _)) if m.key != loc.key => Err(StoreError::Permanent(format!(
            "hash collision: {:?} and {:?} share a record",
            m.key, loc.key
        ))),
        other => Ok(other),
    }
}
