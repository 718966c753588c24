//! Where a string's bytes live (`docs/ENCODING.md`, String): values of up to
//! [`INLINE_MAX`] bytes inline in the metadata record, larger ones in chunk sub-keys of
//! [`CHUNK_SIZE`] bytes under the key's version, so `APPEND`, `SETRANGE`, `GETRANGE` and
//! `STRLEN` touch only the chunks they cover instead of the whole value.
//!
//! Owns reading and writing byte ranges of a value in either layout; `string.rs` owns the
//! Redis semantics (types, limits, replies). Chunks are sparse: a chunk that was never
//! written, and the bytes past a chunk's stored length, read as zeros — `SETRANGE` far past
//! the end writes only the chunk it lands in. A value never shrinks within one version
//! (every command that makes a shorter string writes a new key version), so no chunk holds
//! bytes beyond the length in the metadata record; stale chunks of old versions are
//! dropped by the sub-key compaction filter like any collection's sub-keys.

use tandem_shared::StorageError;

use super::store_record;
use crate::engine::keys;
use crate::engine::metadata::{Record, FLAG_CHUNKED};
use crate::engine::{Cf, EngineError, StoreRead, StoreWrite};

/// Longest value kept inline in its metadata record. One point read serves it, and it is
/// what the socket thread may read for a light request; anything longer is chunked.
pub const INLINE_MAX: usize = 64 * 1024;

/// Bytes per chunk of a chunked value (recorded per key, so it may change in a later
/// build). Small enough that a one-byte `APPEND` or `SETRANGE` rewrites at most 16 KiB,
/// large enough that a whole 512 MiB value is 32 768 records.
pub const CHUNK_SIZE: u32 = 16 * 1024;

/// Values from this size on are stored with their chunks committed ahead of the write
/// group ([`StoreWrite::put_unreachable`]): below it the group holding a copy costs
/// little, and one WAL write per group is cheaper than two.
const AHEAD_MIN: usize = 4 << 20;

/// Reads of more than this many bytes of a value bypass the block cache.
const BULK_READ: u64 = 1 << 20;

/// Bytes per chunk of a value that a bit command (`SETBIT`, `BITFIELD`) makes chunked.
/// Bitmaps take scattered one-byte writes: each rewrites its whole chunk, so a 16 KiB
/// chunk made 100,000 random `SETBIT`s on a 512 MiB bitmap write 1.6 GB into RocksDB and
/// grow its compactions (37 µs a call at first, 100 µs after 60,000); at 1 KiB a write
/// costs 16 times less. Whole-value reads cost more records (512 Ki for 512 MiB).
pub const BITMAP_CHUNK_SIZE: u32 = 1024;

/// The sub-key of chunk `index`: the key's sub-key prefix, then the index as `u32` BE.
pub fn chunk_key(db: u8, key: &[u8], version: u64, index: u32) -> Vec<u8> {
    keys::sub_key(db, key, version, &index.to_be_bytes())
}

/// Length of a string record's value.
pub fn len(r: &Record) -> u64 {
    if r.is_chunked() {
        r.size
    } else {
        r.payload.len() as u64
    }
}

fn corrupt(key: &[u8], reason: String) -> StorageError {
    StorageError::from(EngineError::Corrupt {
        key: key.to_vec(),
        reason,
    })
}

/// The chunk size a chunked record names in its payload.
fn chunk_size_of(key: &[u8], r: &Record) -> Result<u64, StorageError> {
    match <[u8; 4]>::try_from(r.payload.as_slice()).map(u32::from_be_bytes) {
        Ok(c) if c > 0 => Ok(u64::from(c)),
        _ => Err(corrupt(
            key,
            format!("chunked string with payload {:02x?}", r.payload),
        )),
    }
}

/// A chunk index as stored (`u32`); values are bounded far below 4 Gi chunks.
fn index_of(key: &[u8], i: u64) -> Result<u32, StorageError> {
    u32::try_from(i).map_err(|_| corrupt(key, format!("chunk index {i} out of range")))
}

/// Bytes `[start, end)` of the value of the live string `r` (clamped to its length).
/// A view that must stay light gives up on more than [`INLINE_MAX`] bytes (see
/// [`StoreRead::yield_heavy_read`]): the error is never shown, the request reruns.
///
/// # Errors
/// A storage error, or a corrupt chunked record.
pub fn read<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, StorageError> {
    let end = end.min(len(r));
    if start >= end {
        return Ok(Vec::new());
    }
    if end - start > INLINE_MAX as u64 && s.yield_heavy_read() {
        return Err(StorageError::Internal(
            "large read left to the read pool".to_owned(),
        ));
    }
    if !r.is_chunked() {
        return Ok(r.payload[start as usize..end as usize].to_vec());
    }
    let c = chunk_size_of(key, r)?;
    let mut out = vec![0u8; (end - start) as usize];
    let prefix_len = keys::sub_prefix(db, key, r.version).len();
    let from = chunk_key(db, key, r.version, index_of(key, start / c)?);
    let to = chunk_key(db, key, r.version, index_of(key, (end - 1) / c + 1)?);
    // A large read is read once: keep it out of the block cache (StoreRead::scan_bulk).
    let scan = if end - start > BULK_READ {
        S::scan_bulk
    } else {
        S::scan
    };
    scan(s, Cf::Sub, &from, &to, &mut |k, v| {
        let Some(index) = k
            .get(prefix_len..)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        else {
            return true;
        };
        let chunk_start = u64::from(u32::from_be_bytes(index)) * c;
        let lo = chunk_start.max(start);
        let hi = (chunk_start + v.len() as u64).min(end);
        if lo < hi {
            out[(lo - start) as usize..(hi - start) as usize]
                .copy_from_slice(&v[(lo - chunk_start) as usize..(hi - chunk_start) as usize]);
        }
        true
    })?;
    Ok(out)
}

/// The whole value of the live string `r`.
///
/// # Errors
/// As [`read`].
pub fn read_all<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: Record,
) -> Result<Vec<u8>, StorageError> {
    if !r.is_chunked() && r.payload.len() <= INLINE_MAX {
        // The common case: the value is the payload, no copy.
        return Ok(r.payload);
    }
    read(s, db, key, &r, 0, len(&r))
}

/// Stores `value` as a new string under a fresh version, replacing `old` (the physical
/// record, of any type): inline up to [`INLINE_MAX`] bytes, chunked above.
pub fn store_new<W: StoreWrite + ?Sized>(
    w: &mut W,
    db: u8,
    key: &[u8],
    old: Option<&Record>,
    value: &[u8],
    expire_at_ms: u64,
) {
    let version = w.new_version();
    let new = if value.len() <= INLINE_MAX {
        Record::string(value.to_vec(), expire_at_ms, version)
    } else {
        // A fresh version no metadata names yet: a large value's chunks may go ahead of
        // the group (StoreWrite::put_unreachable), so the group does not hold a second
        // copy of the whole value beside the request.
        let ahead = value.len() >= AHEAD_MIN;
        for (i, piece) in value.chunks(CHUNK_SIZE as usize).enumerate() {
            // At most 512 MiB / CHUNK_SIZE chunks: the index fits.
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let k = chunk_key(db, key, version, index);
            if ahead {
                w.put_unreachable(Cf::Sub, k, piece.to_vec());
            } else {
                w.put(Cf::Sub, k, piece.to_vec());
            }
        }
        if ahead {
            w.flush_unreachable();
        }
        Record::chunked_string(value.len() as u64, CHUNK_SIZE, expire_at_ms, version)
    };
    store_record(w, db, key, old, &new);
}

/// Writes `bytes` at `offset` of the live string `old` (a new empty string if `None`),
/// zero-filling any gap, and returns the new length. An existing string keeps its version,
/// expiry and flags; one that outgrows [`INLINE_MAX`] moves into chunks of [`CHUNK_SIZE`]
/// (once: chunked values stay chunked). The caller has checked the type and the length
/// limit.
///
/// # Errors
/// A storage error, or a corrupt chunked record.
pub fn write_at<W: StoreWrite + ?Sized>(
    w: &mut W,
    db: u8,
    key: &[u8],
    old: Option<Record>,
    offset: u64,
    bytes: &[u8],
) -> Result<u64, StorageError> {
    write_at_chunked(w, db, key, old, offset, bytes, CHUNK_SIZE)
}

/// [`write_at`], with chunks of `chunk` bytes if this write makes the value chunked (a
/// chunked value keeps the size its record names).
///
/// # Errors
/// As [`write_at`].
pub fn write_at_chunked<W: StoreWrite + ?Sized>(
    w: &mut W,
    db: u8,
    key: &[u8],
    old: Option<Record>,
    offset: u64,
    bytes: &[u8],
    chunk: u32,
) -> Result<u64, StorageError> {
    let old_len = old.as_ref().map_or(0, len);
    let new_len = old_len.max(offset + bytes.len() as u64);
    match old {
        Some(r) if r.is_chunked() => {
            let c = chunk_size_of(key, &r)?;
            write_chunks(w, db, key, r.version, c, old_len, offset, bytes)?;
            let new = Record {
                size: new_len,
                ..r.clone()
            };
            store_record(w, db, key, Some(&r), &new);
        }
        old if new_len <= INLINE_MAX as u64 => {
            let mut value = old.as_ref().map(|r| r.payload.clone()).unwrap_or_default();
            let (offset, end) = (offset as usize, new_len as usize);
            if value.len() < end {
                value.resize(end, 0);
            }
            value[offset..offset + bytes.len()].copy_from_slice(bytes);
            match old {
                Some(r) => {
                    let new = Record {
                        size: value.len() as u64,
                        payload: value,
                        ..r.clone()
                    };
                    store_record(w, db, key, Some(&r), &new);
                }
                None => {
                    let version = w.new_version();
                    store_record(w, db, key, None, &Record::string(value, 0, version));
                }
            }
        }
        old => {
            let c = u64::from(chunk);
            let mut new = match &old {
                Some(r) => {
                    // The inline bytes become the first chunks, under the same version.
                    write_chunks(w, db, key, r.version, c, 0, 0, &r.payload)?;
                    Record::chunked_string(new_len, chunk, r.expire_at_ms, r.version)
                }
                None => Record::chunked_string(new_len, chunk, 0, w.new_version()),
            };
            if let Some(r) = &old {
                new.flags |= r.flags | FLAG_CHUNKED;
            }
            write_chunks(w, db, key, new.version, c, old_len, offset, bytes)?;
            store_record(w, db, key, old.as_ref(), &new);
        }
    }
    Ok(new_len)
}

/// Writes `bytes` at `offset` into the chunks of size `c` of a value at `version` that
/// currently holds `old_len` bytes. A chunk the write covers whole is replaced unread; a
/// chunk wholly past `old_len` holds nothing yet (see the module docs) and is not read
/// either; any other chunk is read, patched and rewritten.
#[allow(clippy::too_many_arguments)]
fn write_chunks<W: StoreWrite + ?Sized>(
    w: &mut W,
    db: u8,
    key: &[u8],
    version: u64,
    c: u64,
    old_len: u64,
    offset: u64,
    bytes: &[u8],
) -> Result<(), StorageError> {
    let end = offset + bytes.len() as u64;
    let mut pos = offset;
    while pos < end {
        let index = pos / c;
        let chunk_start = index * c;
        let to = end.min(chunk_start + c);
        let piece = &bytes[(pos - offset) as usize..(to - offset) as usize];
        let ck = chunk_key(db, key, version, index_of(key, index)?);
        let within = (pos - chunk_start) as usize;
        let whole = within == 0 && to == chunk_start + c;
        let mut chunk = if whole || chunk_start >= old_len {
            Vec::new()
        } else {
            w.get(Cf::Sub, &ck)?.unwrap_or_default()
        };
        if chunk.len() < within + piece.len() {
            chunk.resize(within + piece.len(), 0);
        }
        chunk[within..within + piece.len()].copy_from_slice(piece);
        w.put(Cf::Sub, ck, chunk);
        pos = to;
    }
    Ok(())
}
